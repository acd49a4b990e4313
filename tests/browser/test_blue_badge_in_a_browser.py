"""The Blue Badge guide, click by click in chromium: sign up, the activation link opened in
the same browser, then sign-ins choosing a text, a phone call or an email for the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.portal import FakePortal
from tests.browser.walk import Walk
from tests.conftest import PASSWORD, add_user
from tests.test_seed_journeys import (
    BLUE_BADGE,
    JENNY,
    JENNY_PHONE,
    NEW_PASSWORD,
    latest_code,
    latest_email,
)

EXISTING = "jenny.hinsen@example.com"  # tests.conftest.add_user's person
EXISTING_PHONE = "+447400123456"
METHOD_WORDS = {"sms": "Text message", "voice": "Phone call", "email": "Email"}


def choose_and_enter_the_code(walk: Walk, outbox: Path, method: str, email: str,
                              phone: str) -> None:
    """"Choose how you want to receive your one-time security code", then enter it."""
    assert "How do you want to receive your security code?" in walk.text(), walk.heading()
    walk.press("Continue", {re.compile("^" + METHOD_WORDS[method]): True})
    code = (latest_email(outbox, email, "security_code")["data"]["code"] if method == "email"
            else latest_code(outbox, phone, method))
    walk.press("Verify Code", {"Verification code": code})


def test_blue_badge_sign_up_is_finished_by_the_link_in_the_same_browser(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path
) -> None:
    url, verifier = portal.authorize_url(gatehouse.url, BLUE_BADGE)
    walk.open(url)
    assert walk.heading() == "Sign in to the Leicestershire Services Portal"
    walk.press("Sign up now")
    assert walk.heading() == "Create your account"
    walk.press(
        "Continue",
        {
            "Email address": JENNY,
            "First name": "Jenny",
            "Last name": "Hinsen",
            "Password": NEW_PASSWORD,
            "Confirm password": NEW_PASSWORD,
            "I agree to the privacy policy": True,
        },
    )
    # "On the next page": phone number, address by postcode, "Continue".
    assert walk.heading() == "Your contact details", walk.errors()
    walk.press("Find address", {"Phone number": "07759 140004", "Postcode": "LE3 9RE"})
    walk.press("Continue", choose={"Select your address": "105 Petworth Drive"})
    assert walk.heading() == "Check your email", walk.errors()
    # The link from the email, opened in this same browser tab, carries on from here.
    walk.open(latest_email(outbox, JENNY, "activation")["data"]["link"])
    assert walk.heading() == "Activate your account"
    walk.press("Activate account")
    choose_and_enter_the_code(walk, outbox, "sms", JENNY, JENNY_PHONE)
    claims = portal.claims(gatehouse.url, walk.code(), verifier)
    assert claims["newUser"] is True and claims["tfp"] == BLUE_BADGE
    assert claims["phone_number"] == JENNY_PHONE and claims["amr"] == ["pwd", "sms", "mfa"]


@pytest.mark.parametrize(("method", "amr"), [("sms", "sms"), ("voice", "tel"),
                                             ("email", "email")])
def test_blue_badge_sign_in_sends_the_code_the_chosen_way(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path, method: str, amr: str
) -> None:
    add_user(gatehouse.app, email=EXISTING, phone_number=EXISTING_PHONE)
    url, verifier = portal.authorize_url(gatehouse.url, BLUE_BADGE)
    walk.open(url)
    walk.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    choose_and_enter_the_code(walk, outbox, method, EXISTING, EXISTING_PHONE)
    if walk.heading() == "Our privacy policy":  # an account made before the policy asked
        walk.press("Continue", {"I agree to the privacy policy": True})
    claims = portal.claims(gatehouse.url, walk.code(), verifier)
    assert amr in claims["amr"] and "mfa" in claims["amr"]
