"""Fifty people pressing "Create" at once for one email address make exactly one account,
on SQLite and on PostgreSQL, through a real threaded server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import func, select

from idp.extensions import db
from idp.store.models import Identity, User
from tests.flows import authorize_params, pkce_pair
from tests.pages import Visitor
from tests.test_seed_journeys import PARENT, latest_email

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

EMAIL = "twins@example.com"
PEOPLE = 50


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Fifty people come from fifty addresses; here they share 127.0.0.1, so the
    per-address throttles (tested in test_throttles.py) stand aside."""
    return {**settings, "throttle.code_send": "0", "throttle.signup": "0"}


def _ready_to_create(server: Any, outbox: Path) -> Visitor:
    """One browser at the "Create" page, its email verified."""
    _, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256", p=PARENT)
    visitor = Visitor(requests.Session(), base_url=server.url)
    visitor.open(f"/authorize?{urlencode(params)}")
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": EMAIL})
    code = latest_email(outbox, EMAIL, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    assert visitor.heading() == "User Details", visitor.errors()
    return visitor


def test_fifty_concurrent_sign_ups_for_one_email_make_one_account(
    live_server: Any, outbox: Path
) -> None:
    visitors = [_ready_to_create(live_server, outbox) for _ in range(PEOPLE)]
    start = threading.Barrier(PEOPLE)

    def create(visitor: Visitor) -> str:
        start.wait(timeout=30)
        visitor.press(
            "Create",
            {
                "Password": "Tq7#mZp2vL-rose",
                "Confirm password": "Tq7#mZp2vL-rose",
                "Given name": "Jo",
                "Surname": "Twin",
            },
        )
        if visitor.heading() == "Multi-factor authentication":
            return "created"  # signed in as the new account, on to its second factor
        assert visitor.status == 200, (visitor.status, visitor.text[:500])
        assert visitor.heading() == "You already have an account", visitor.text[:500]
        return "told"

    with ThreadPoolExecutor(PEOPLE) as pool:
        outcomes = list(pool.map(create, visitors))
    assert outcomes.count("created") == 1 and outcomes.count("told") == PEOPLE - 1
    with live_server.app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(User).where(User.email == EMAIL))
            == 1
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(Identity).where(Identity.subject == EMAIL)
            )
            == 1
        )
