"""A person moved from B2C, in chromium: the old tenant cannot vouch for the password (it
wants an interaction), so the page says to check email; the emailed link sets a new
password and carries the sign-in on back to the portal. Every page is checked with axe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.migrate.b2c import import_users
from tests.browser.portal import FakePortal
from tests.browser.walk import Walk
from tests.test_b2c_import import JENNY, METHODS, PAGES
from tests.test_b2c_passwords import TENANT_PATH, FakeB2cRopc
from tests.test_seed_journeys import latest_email

NEW_PASSWORD = "Tq7#mZp2vL-rose"


@pytest.fixture
def b2c() -> Iterator[FakeB2cRopc]:
    with FakeB2cRopc() as fake:
        fake.mode = "interaction_required"
        yield fake


@pytest.fixture
def settings(settings: dict[str, Any], b2c: FakeB2cRopc) -> dict[str, Any]:
    return {**settings, "migration.verifier_url": f"{b2c.url}{TENANT_PATH}",
            "migration.verifier_client_id": "ropc-app"}


def test_a_moved_account_sets_its_password_by_email_and_carries_on(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path, b2c: FakeB2cRopc
) -> None:
    with gatehouse.app.app_context():
        rt = gatehouse.app.extensions["idp"]
        import_users(PAGES, METHODS, rt.settings, rt.clock.now())
        db.session.commit()
    url, verifier = portal.authorize_url(gatehouse.url, "B2C_1_signin")
    walk.open(url)
    walk.press("Sign in", {"Email address": "jenny.b2c@example.com",
                           "Password": "Old-B2C-password-1"})
    assert walk.heading() == "Check your email", walk.text()[:300]
    link = latest_email(outbox, "jenny.b2c@example.com", "password_link")["data"]["link"]
    walk.open(gatehouse.url + urlsplit(link).path)
    assert walk.heading() == "Set a new password"
    walk.press("Set password", {"New password": "short", "Confirm new password": "short"})
    assert walk.errors() == ["Password must be at least 8 characters long"]
    walk.press("Set password", {"New password": NEW_PASSWORD,
                                "Confirm new password": NEW_PASSWORD})
    assert walk.heading() == "Sign in"
    assert "Your new password is set" in walk.text()
    walk.press("Sign in", {"Password": NEW_PASSWORD})
    assert portal.claims(gatehouse.url, walk.code(), verifier)["sub"] == JENNY
