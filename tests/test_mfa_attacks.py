"""Attacks on the second factor that a review proved once, kept as tests so they stay
shut: parallel guesses and sends, a code carried to another policy's token endpoint,
a phone swapped with only the password, guesses spread over sign-ins, and a page left
open after everyone was signed out."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from idp.extensions import db
from idp.messaging import read_outbox
from idp.store.models import AuditEvent
from tests.conftest import PASSWORD, add_user
from tests.flows import authorize_params, exchange, pkce_pair, query_of
from tests.pages import Visitor
from tests.test_seed_journeys import (
    PARENT,
    _radio_labels,
    latest_code,
    latest_email,
    pass_mfa_by_text,
    start,
    tokens_from,
)

EMAIL, PHONE = "jenny.hinsen@example.com", "+447400123456"
TENANT = "leicsb2c.onmicrosoft.com"


def at_text_code(server: Any) -> tuple[Visitor, requests.Session]:
    """A real browser session on a live server, signed in, a text code sent."""
    session = requests.Session()
    visitor = Visitor(session, base_url=server.url)
    _, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256", p=PARENT)
    visitor.open(f"/authorize?{urlencode(params)}")
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    label = next(o for o in _radio_labels(visitor) if o.startswith("Text message"))
    visitor.press("Continue", {label: True})
    return visitor, session


def all_at_once(count: int, send: Any) -> None:
    start_together = threading.Barrier(count)

    def one(n: int) -> None:
        start_together.wait(timeout=30)
        send(n)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_forty_parallel_guesses_get_no_more_tries_than_one_at_a_time(
    live_server: Any, outbox: Path
) -> None:
    add_user(live_server.app)
    visitor, session = at_text_code(live_server)
    right = latest_code(outbox, PHONE)
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.html).group(1)

    def guess(n: int) -> None:
        wrong = f"{(int(right) + 1 + n) % 10**6:06d}"
        session.post(
            visitor.url,
            data={"csrf_token": token, "step": "mfa", "action": "verify", "code": wrong},
            allow_redirects=False,
            timeout=60,
        )

    all_at_once(40, guess)
    with live_server.app.app_context():
        verdicts = [
            e.details.get("verdict")
            for e in db.session.query(AuditEvent).filter_by(event_type="mfa.code_wrong")
        ]
    assert verdicts.count("wrong") <= 5  # the code's own limit, however the guesses arrive
    answer = session.post(
        visitor.url,
        data={"csrf_token": token, "step": "mfa", "action": "verify", "code": right},
        allow_redirects=False,
        timeout=60,
    )
    assert "code=" not in answer.headers.get("Location", "")


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_thirty_parallel_resends_send_one_code(live_server: Any, outbox: Path) -> None:
    add_user(live_server.app)
    visitor, session = at_text_code(live_server)
    live_server.app.extensions["idp"].clock.advance(seconds=31)
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.html).group(1)
    all_at_once(
        30,
        lambda n: session.post(
            visitor.url,
            data={"csrf_token": token, "step": "mfa", "action": "resend"},
            allow_redirects=False,
            timeout=60,
        ),
    )
    assert len(read_outbox(outbox, channel="sms")) == 2  # the first, and one resend


def test_a_code_is_refused_at_another_policys_token_endpoint(client: Any, user: str) -> None:
    verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    visitor = Visitor(client)
    visitor.open(f"/{TENANT}/B2C_1_signin/oauth2/v2.0/authorize?{urlencode(params)}")
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    code = query_of(visitor.url)["code"]
    path = f"/{TENANT}/B2C_1_bluebadge_signup_signin/oauth2/v2.0/token"
    refused = exchange(client, code, verifier, path=path)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"


def test_the_password_alone_cannot_put_a_new_phone_on_an_account(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, _ = start(client, "B2C_1_profile_edit")
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.html).group(1)
    path = visitor.url.replace("http://127.0.0.1:5000", "")
    client.post(path, data={"csrf_token": token, "step": "mfa", "action": "change_phone"})
    client.post(
        path,
        data={
            "csrf_token": token,
            "step": "mfa",
            "action": "send",
            "country": "GB",
            "phone": "07911 123456",
        },
    )
    assert not read_outbox(outbox, to="+447911123456")
    assert "How do you want to receive your security code?" in Visitor(client).open(path).text


def test_wrong_codes_spread_over_sign_ins_still_block(client: Any, outbox: Path, user: str) -> None:
    guesses = 0
    for _ in range(5):  # four wrong codes a sign-in, never reaching a code's own limit
        visitor, _ = start(client.application.test_client(), PARENT)
        visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
        if "You can try again after" in visitor.text:
            break
        label = next(o for o in _radio_labels(visitor) if o.startswith("Text message"))
        visitor.press("Continue", {label: True})
        right = latest_code(outbox, PHONE)
        for n in range(4):
            if "Verify Code" not in visitor.buttons():
                break
            guesses += 1
            visitor.press(
                "Verify Code", {"Verification code": f"{(int(right) + 1 + n) % 10**6:06d}"}
            )
    assert "You can try again after" in visitor.text
    assert guesses == 10  # two codes' worth, however many sign-ins they are spread over


def test_a_page_left_open_does_not_outlive_a_password_reset(
    app: Any, outbox: Path, clock: Any, user: str
) -> None:
    thief = app.test_client()
    visitor, verifier = start(thief, "B2C_1_profile_edit")
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    pass_mfa_by_text(visitor, outbox, PHONE)
    visitor.press("Continue")
    tokens_from(thief, visitor, verifier)
    parked, _ = start(thief, "B2C_1_profile_edit")  # single sign-on: straight to the form
    assert parked.heading() == "Edit your profile"
    clock.advance(seconds=60)
    reset, _ = start(app.test_client(), "B2C_1_password_reset")
    reset.press("Send verification code", {"Email address": EMAIL})
    reset.press(
        "Verify code",
        {"Verification code": latest_email(outbox, EMAIL, "verification_code")["data"]["code"]},
    )
    pass_mfa_by_text(reset, outbox, PHONE)
    reset.press(
        "Continue",
        {"New password": "Brand-new-secret-41", "Confirm new password": "Brand-new-secret-41"},
    )
    parked.press("Continue")
    assert parked.status == 410 and parked.heading() == "Your sign-in has timed out"
    again, _ = start(thief, PARENT)
    assert again.heading() == "Sign in to the Parent Portal"
