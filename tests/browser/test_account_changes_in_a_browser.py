"""A person with an account, in chromium: edit the profile while signed in, reset a
forgotten password, and change the phone number by passing MFA by email."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.browser.portal import FakePortal
from tests.browser.walk import Walk
from tests.conftest import PASSWORD, add_user
from tests.test_seed_journeys import latest_code, latest_email

EMAIL = "jenny.hinsen@example.com"  # tests.conftest.add_user's person
PHONE = "+447400123456"
NEW_PHONE = "+447759140004"


def pass_mfa_by_text(walk: Walk, outbox: Path, phone: str = PHONE) -> None:
    """The second factor when a text message is offered (alone, or beside a call)."""
    assert walk.heading() == "Multi-factor authentication", walk.text()[:300]
    if walk.page.get_by_role("button", name="Send Code", exact=True).count():
        walk.press("Send Code")
    else:
        walk.press("Continue", {re.compile("^Text message"): True})
    walk.press("Verify Code", {"Verification code": latest_code(outbox, phone)})


def test_profile_edit_for_a_signed_in_person_saves_the_changes(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path
) -> None:
    user = add_user(gatehouse.app, email=EMAIL, phone_number=PHONE)
    url, _ = portal.authorize_url(gatehouse.url, "B2C_1_signin")
    walk.open(url)
    walk.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    walk.code()
    # "Menu", "My Account", "Edit your profile": the portal starts the profile-edit policy.
    url, verifier = portal.authorize_url(gatehouse.url, "B2C_1_profile_edit")
    walk.open(url)
    pass_mfa_by_text(walk, outbox)  # the session has only a password so far
    assert walk.heading() == "Edit your profile"
    assert walk.field_value("First name") == "Jenny"
    walk.press("Find address", {"Last name": "Hinsen-Smith", "Postcode": "LE3 9RE"})
    walk.press("Continue", choose={"Select your address": "105 Petworth Drive"})
    claims = portal.claims(gatehouse.url, walk.code(), verifier)
    assert claims["sub"] == user and claims["family_name"] == "Hinsen-Smith"


def test_password_reset_proves_the_email_and_phone_then_sets_a_new_password(
    new_walk: Callable[..., Walk], portal: FakePortal, gatehouse: Any, outbox: Path
) -> None:
    walk = new_walk()
    user = add_user(gatehouse.app, email=EMAIL, phone_number=PHONE)
    url, verifier = portal.authorize_url(gatehouse.url, "B2C_1_password_reset")
    walk.open(url)
    assert walk.heading() == "Reset your password"
    walk.press("Send verification code", {"Email address": EMAIL})
    code = latest_email(outbox, EMAIL, "verification_code")["data"]["code"]
    walk.press("Verify code", {"Verification code": code})
    pass_mfa_by_text(walk, outbox)
    walk.press("Continue", {"New password": "short", "Confirm new password": "short"})
    assert walk.errors() == ["Password must be at least 8 characters long"]
    walk.press(
        "Continue", {"New password": "Fresh-Start-2026", "Confirm new password": "Fresh-Start-2026"}
    )
    assert portal.claims(gatehouse.url, walk.code(), verifier)["sub"] == user
    # The new password signs in, in a browser that has never seen the account.
    again = new_walk("sign-in-again")
    url, verifier = portal.authorize_url(gatehouse.url, "B2C_1_signin")
    again.open(url)
    again.press("Sign in", {"Email address": EMAIL, "Password": "Fresh-Start-2026"})
    assert portal.claims(gatehouse.url, again.code(), verifier)["sub"] == user


def test_phone_change_passes_mfa_by_email_then_proves_the_new_number(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path
) -> None:
    # "If you've changed your phone number, you can still log in using email MFA".
    add_user(gatehouse.app, email=EMAIL, phone_number=PHONE)
    url, verifier = portal.authorize_url(gatehouse.url, "B2C_1_phone_change")
    walk.open(url)
    walk.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    walk.press("Continue", {re.compile("^Email"): True})
    code = latest_email(outbox, EMAIL, "security_code")["data"]["code"]
    walk.press("Verify Code", {"Verification code": code})
    assert walk.heading() == "Change your phone number"
    walk.press("Send Code", {"Phone Number": "07759 140004"})
    walk.press("Verify Code", {"Verification code": latest_code(outbox, NEW_PHONE)})
    claims = portal.claims(gatehouse.url, walk.code(), verifier)
    assert claims["phone_number"] == NEW_PHONE
