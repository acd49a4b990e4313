"""Multi-factor authentication over HTTP: each method end to end, codes that expire, are
used once and run out, the timed block and its end, provider failure and another way,
authenticator apps, a change of phone number, and no code to a portal before MFA."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest

from idp.extensions import db
from idp.messaging import read_outbox
from idp.store.models import AuditEvent
from tests.conftest import PASSWORD, build_app
from tests.fakes_http import FakeNotify, FakeTwilio
from tests.flows import REDIRECT_URI, authorize_params, pkce_pair
from tests.pages import Visitor
from tests.test_seed_journeys import (
    BLUE_BADGE,
    PARENT,
    _radio_labels,
    latest_code,
    latest_email,
    pass_mfa_by_text,
    start,
    tokens_from,
)

EMAIL = "jenny.hinsen@example.com"  # the `user` fixture
PHONE = "+447400123456"


def choose(visitor: Visitor, words: str) -> None:
    label = next(o for o in _radio_labels(visitor) if o.startswith(words))
    visitor.press("Continue", {label: True})


def signed_in_to_blue_badge(client: Any) -> tuple[Visitor, str]:
    visitor, verifier = start(client, BLUE_BADGE)
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert "How do you want to receive your security code?" in visitor.text
    return visitor, verifier


def agree_if_asked(visitor: Visitor) -> None:
    if visitor.heading() == "Our privacy policy":
        visitor.press("Continue", {"I agree to the privacy policy": True})


# -- codes ----------------------------------------------------------------------------


def test_a_blue_badge_code_works_for_thirty_seconds_then_a_new_one_is_needed(
    client: Any, outbox: Path, clock: Any, user: str
) -> None:
    visitor, verifier = signed_in_to_blue_badge(client)
    choose(visitor, "Text message")
    assert "The code works until 09:00:30 UTC." in visitor.text
    clock.advance(seconds=30)
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, PHONE)})
    assert visitor.errors() == ["The code has expired. Select 'Send a new code' to get another"]
    visitor.press("Send a new code")
    clock.advance(seconds=29)
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, PHONE)})
    agree_if_asked(visitor)
    assert "mfa" in tokens_from(client, visitor, verifier)["claims"]["amr"]


def test_a_code_is_accepted_once_only(client: Any, outbox: Path, user: str) -> None:
    visitor, verifier = signed_in_to_blue_badge(client)
    choose(visitor, "Email")
    used = latest_email(outbox, EMAIL, "security_code")["data"]["code"]
    visitor.press("Verify Code", {"Verification code": used})
    agree_if_asked(visitor)
    tokens_from(client, visitor, verifier)
    again, _ = signed_in_to_blue_badge(client.application.test_client())
    choose(again, "Email")
    if latest_email(outbox, EMAIL, "security_code")["data"]["code"] != used:
        again.press("Verify Code", {"Verification code": used})
        assert again.errors() == [
            "The code is not right. Check it and try again, or send a new code"
        ]


def test_five_wrong_codes_use_up_a_code_and_a_new_one_still_works(
    client: Any, outbox: Path, clock: Any, user: str
) -> None:
    visitor, verifier = signed_in_to_blue_badge(client)
    choose(visitor, "Text message")
    right = latest_code(outbox, PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        visitor.press("Verify Code", {"Verification code": wrong})
    visitor.press("Verify Code", {"Verification code": right})
    assert visitor.errors() == [
        "You have entered a wrong code too many times. Select 'Send a new code'"
    ]
    clock.advance(seconds=5)  # within the 30-second cool-down: it says how long
    visitor.press("Send a new code")
    assert visitor.errors() == ["Wait 25 seconds, then select 'Send a new code'"]
    clock.advance(seconds=25)
    visitor.press("Send a new code")
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, PHONE)})
    agree_if_asked(visitor)
    assert tokens_from(client, visitor, verifier)["claims"]["sub"] == user


def test_too_many_codes_block_second_factors_until_a_stated_time_then_it_ends(
    client: Any, outbox: Path, clock: Any, user: str
) -> None:
    visitor, _ = signed_in_to_blue_badge(client)
    choose(visitor, "Text message")
    for _ in range(9):  # ten codes in all: the policy's limit
        clock.advance(seconds=31)
        visitor.press("Send a new code")
        assert not visitor.errors()
    clock.advance(seconds=31)
    visitor.press("Send a new code")
    assert "You can try again after 09:20:10 UTC" in visitor.text  # 15 minutes on
    assert len(read_outbox(Path(outbox), channel="sms")) == 10
    # Another sign-in does not get round it.
    other, _ = start(client.application.test_client(), BLUE_BADGE)
    other.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert "You can try again after 09:20:10 UTC" in other.text
    clock.advance(seconds=901)
    other.press("Try again")
    choose(other, "Text message")
    other.press("Verify Code", {"Verification code": latest_code(outbox, PHONE)})
    agree_if_asked(other)
    assert other.url.startswith(REDIRECT_URI)
    with client.application.app_context():
        events = [e.event_type for e in db.session.query(AuditEvent).all()]
    assert "mfa.blocked" in events and events.count("mfa.code_sent") == 11


# -- senders: Twilio and Notify at their HTTP boundary, failure and another way --------

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "twilio-token-for-tests"
SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
NOTIFY_KEY = f"gatehouse_test-{SERVICE_ID}-3d844edf-8d35-48ac-975b-e847b4f122b0"


@pytest.fixture
def providers(settings: dict[str, Any], clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IDP_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("IDP_NOTIFY_API_KEY", NOTIFY_KEY)
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as twilio, FakeNotify(NOTIFY_KEY) as notify:
        app = build_app(
            {
                **settings,
                "sms.sender": "twilio",
                "voice.sender": "twilio",
                "email.sender": "notify",
                "twilio.account_sid": ACCOUNT_SID,
                "twilio.from_number": "+441164960999",
                "twilio.base_url": twilio.url,
                "notify.base_url": notify.url,
                "notify.email_template_id": "c0f0a6a5-1f0e-4b8a-9f43-1c3a8f6b2d10",
                "notify.sms_template_id": "9b1d2c3e-4f5a-4b6c-8d7e-0f1a2b3c4d5e",
            },
            clock,
        )
        yield app, twilio, notify


def _added(app: Any) -> None:
    from tests.conftest import add_user

    add_user(app)


def test_texts_and_calls_go_through_twilio_and_emails_through_notify(providers: Any) -> None:
    app, twilio, notify = providers
    _added(app)
    client = app.test_client()
    visitor, _ = signed_in_to_blue_badge(client)
    choose(visitor, "Text message")
    text = twilio.requests[-1]["form"]
    assert text["To"] == PHONE and text["From"] == "+441164960999"
    code = re.search(r"\d{6}", text["Body"]).group(0)
    visitor.press("Try another way")
    choose(visitor, "Phone call")
    call = twilio.requests[-1]
    assert call["path"].endswith("/Calls.json") and "<Say" in call["form"]["Twiml"]
    spoken = re.findall(r"(?:\d, ){5}\d", call["form"]["Twiml"])
    assert len(spoken) == 2 and spoken[0] == spoken[1]  # said twice, digit by digit
    visitor.press("Try another way")
    choose(visitor, "Email")
    sent = notify.requests[-1]["json"]
    assert sent["email_address"] == EMAIL and code not in str(sent)
    assert re.search(r"\d{6}", sent["personalisation"]["body"])


def test_a_provider_failure_keeps_the_journey_and_offers_another_way(providers: Any) -> None:
    app, twilio, notify = providers
    _added(app)
    client = app.test_client()
    visitor, verifier = signed_in_to_blue_badge(client)
    twilio.fail_next(500)
    choose(visitor, "Text message")
    assert visitor.errors() == [
        "We could not send your code just now. Try another way, or send a new code in a few minutes"
    ]
    assert "How do you want to receive your security code?" in visitor.text  # still here
    choose(visitor, "Email")
    code = re.search(r"\d{6}", notify.requests[-1]["json"]["personalisation"]["body"]).group(0)
    visitor.press("Verify Code", {"Verification code": code})
    agree_if_asked(visitor)
    assert "email" in tokens_from(client, visitor, verifier)["claims"]["amr"]


# -- authenticator apps ---------------------------------------------------------------


def test_an_authenticator_app_is_set_up_then_used_and_a_recovery_code_works_once(
    client: Any, outbox: Path, clock: Any, user: str
) -> None:
    visitor, verifier = start(client, "B2C_1_authenticator_setup")
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    pass_mfa_by_text(visitor, outbox, PHONE)
    assert visitor.heading() == "Set up an authenticator app"
    assert "<svg" in visitor.html and "<title>" in visitor.html
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', visitor.html).group(1).replace(" ", "")
    app = pyotp.TOTP(secret)
    visitor.press(
        "Verify Code", {"Verification code": "123456" if app.now() != "123456" else "654321"}
    )
    assert visitor.errors() == ["The code is not right. Enter the code your app shows now"]
    visitor.press("Verify Code", {"Verification code": app.at(clock.now())})
    codes = re.findall(r"<li><code>([0-9a-z-]+)</code></li>", visitor.html)
    assert len(codes) == 10
    visitor.press("Continue")
    assert "otp" in tokens_from(client, visitor, verifier)["claims"]["amr"]

    # Signing in later, the app is one of the ways; its code is never taken twice.
    clock.advance(seconds=30)
    later, verifier = start(client.application.test_client(), "B2C_1_profile_edit")
    later.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    choose(later, "Authenticator app")
    fresh = app.at(clock.now())
    later.press("Verify Code", {"Enter the 6-digit code from your authenticator app": fresh})
    assert later.heading() == "Edit your profile"
    replay, _ = start(client.application.test_client(), "B2C_1_profile_edit")
    replay.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    choose(replay, "Authenticator app")
    replay.press("Verify Code", {"Enter the 6-digit code from your authenticator app": fresh})
    assert replay.errors() == ["The code is not right. Enter the code your app shows now"]
    # A recovery code stands in for a lost phone, once.
    replay.press("Use recovery code", {"Recovery code": codes[0].upper()})
    assert replay.heading() == "Edit your profile"
    once_more, _ = start(client.application.test_client(), "B2C_1_profile_edit")
    once_more.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    choose(once_more, "Authenticator app")
    once_more.press("Use recovery code", {"Recovery code": codes[0]})
    assert once_more.errors() == ["That recovery code is not right, or has been used"]


# -- change of phone number -------------------------------------------------------------


def test_a_new_phone_number_is_verified_before_it_replaces_the_old_one(
    client: Any, outbox: Path, user: str
) -> None:
    # "If you've changed your phone number, you can still log in using email MFA".
    visitor, verifier = start(client, "B2C_1_phone_change")
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    choose(visitor, "Email")
    visitor.press(
        "Verify Code",
        {"Verification code": latest_email(outbox, EMAIL, "security_code")["data"]["code"]},
    )
    assert visitor.heading() == "Change your phone number"
    visitor.press("Send Code", {"Phone Number": "07759 140004"})
    assert "Change phone number" in visitor.buttons()
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, "+447759140004")})
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["phone_number"] == "+447759140004"
    # Texts now go to the new number.
    again, _ = signed_in_to_blue_badge(client.application.test_client())
    assert "07*** ***004" in again.text
    with client.application.app_context():
        events = [e.event_type for e in db.session.query(AuditEvent).all()]
    assert "phone.changed" in events


# -- no code before MFA -----------------------------------------------------------------


def test_no_code_reaches_the_portal_before_mfa_whatever_the_browser_does(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, _ = start(client, PARENT)
    signin_page = visitor.html
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert visitor.heading() == "Multi-factor authentication"
    journey = visitor.url
    # The back button: the sign-in form sent again.
    replay = Visitor(client)
    replay.url, replay.html = journey, signin_page
    replay.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert replay.heading() == "Multi-factor authentication"
    # A made-up form for a later step, and a guessed code.
    for step, data in (
        ("review", {"title": "Mrs"}),
        ("mfa", {"action": "verify", "code": "123456"}),
    ):
        response = client.post(
            journey.replace("http://127.0.0.1:5000", ""),
            data={
                "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', visitor.html).group(
                    1
                ),
                "step": step,
                "submitted": "1",
                **data,
            },
        )
        assert (
            "Location" not in response.headers or REDIRECT_URI not in response.headers["Location"]
        )
    # An edited URL: the portal's request again, silently and not.
    _, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256", p=PARENT)
    silent = client.get(f"/authorize?{urlencode({**params, 'prompt': 'none'})}")
    assert "error=login_required" in silent.headers["Location"]
    fresh = Visitor(client).open(f"/authorize?{urlencode(params)}")
    assert fresh.heading() == "Sign in to the Parent Portal"
    # And the journey itself still waits for its code.
    assert Visitor(client).open(journey).heading() == "Multi-factor authentication"


def test_the_development_outbox_page_lists_codes_and_every_page_links_to_it(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, _ = signed_in_to_blue_badge(client)
    assert 'href="/dev/outbox"' in visitor.html
    choose(visitor, "Text message")
    page = Visitor(client).open("/dev/outbox")
    assert page.heading() == "Outbox (development)"
    assert latest_code(outbox, PHONE) in page.text and "sms" in page.text


def test_there_is_no_outbox_page_outside_development(settings: dict[str, Any], clock: Any) -> None:
    app = build_app(
        {
            **settings,
            "server.development": False,
            "email.sender": "smtp",
            "sms.sender": "none",
            "voice.sender": "none",
        },
        clock,
    )
    assert app.test_client().get("/dev/outbox").status_code == 404
