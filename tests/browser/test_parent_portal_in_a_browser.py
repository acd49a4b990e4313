"""The Parent Portal guide, click by click in chromium: sign up with an email code, a text
to a mobile (or a call to a landline), then Review Account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idp.messaging import read_outbox
from tests.browser.portal import FakePortal
from tests.browser.walk import Walk
from tests.test_seed_journeys import (
    JENNY,
    JENNY_PHONE,
    NEW_PASSWORD,
    PARENT,
    latest_code,
    latest_email,
)


def sign_up_to_the_phone_page(
    walk: Walk, portal: FakePortal, server: Any, outbox: Path
) -> str:
    """Steps 1 to 5 of the guide; returns the PKCE verifier for the portal."""
    url, verifier = portal.authorize_url(server.url, PARENT)
    walk.open(url)
    assert walk.heading() == "Sign in to the Parent Portal"
    # Step 1: "Sign up now".
    walk.press("Sign up now")
    assert walk.heading() == "User Details"
    # Steps 2 to 4: the email address, the code from the email, "Verify code".
    walk.press("Send verification code", {"Email address": JENNY})
    assert f"We have sent a 6-digit verification code to {JENNY}" in walk.text()
    code = latest_email(outbox, JENNY, "verification_code")["data"]["code"]
    walk.press("Verify code", {"Verification code": code})
    # Step 5: the same password twice, given name and surname, "Create".
    walk.press(
        "Create",
        {
            "Password": NEW_PASSWORD,
            "Confirm password": NEW_PASSWORD,
            "Given name": "Jenny",
            "Surname": "Hinsen",
        },
    )
    # Step 6: "Multi-factor authentication", United Kingdom (+44) already chosen.
    assert walk.heading() == "Multi-factor authentication", walk.errors()
    country = walk.page.get_by_label("Country Code", exact=True)
    assert country.locator("option:checked").inner_text() == "United Kingdom (+44)"
    return verifier


def review_account(walk: Walk) -> None:
    """Step 8: "Review Account", the address found by postcode, "Confirm Details"."""
    assert walk.heading() == "Review Account", walk.errors()
    assert walk.field_value("Forename") == "Jenny"
    walk.press("Find address", {"Title": "Mrs", "Postcode": "LE3 9RE"})
    assert walk.field_value("Title") == "Mrs"  # typed fields survive the lookup
    walk.press(
        "Confirm Details",
        {"Day": "10", "Month": "1", "Year": "1983"},
        choose={"Select your address": "105 Petworth Drive"},
    )


def test_parent_portal_sign_up_with_an_email_code_and_a_text(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path
) -> None:
    verifier = sign_up_to_the_phone_page(walk, portal, gatehouse, outbox)
    walk.press("Send Code", {"Phone Number": "07759 140004"})
    # Step 7: a mobile gets a text; "Verify Code".
    assert "We have sent a 6-digit code by text message to 07*** ***004" in walk.text()
    walk.press("Verify Code", {"Verification code": latest_code(outbox, JENNY_PHONE)})
    assert walk.field_value("Mobile Number (optional)") == "07759 140004"  # from the MFA step
    review_account(walk)
    claims = portal.claims(gatehouse.url, walk.code(), verifier)
    assert claims["newUser"] is True and claims["tfp"] == PARENT
    assert claims["emails"] == [JENNY] and claims["amr"] == ["pwd", "sms", "mfa"]


def test_a_landline_gets_a_phone_call_that_says_the_code(
    walk: Walk, portal: FakePortal, gatehouse: Any, outbox: Path
) -> None:
    verifier = sign_up_to_the_phone_page(walk, portal, gatehouse, outbox)
    walk.press("Send Code", {"Phone Number": "0116 496 0000"})
    assert "We are calling 01*** ***000" in walk.text()
    (call,) = read_outbox(outbox, channel="voice")
    assert call["to"] == "+441164960000"
    walk.press("Verify Code", {"Verification code": call["data"]["code"]})
    review_account(walk)
    claims = portal.claims(gatehouse.url, walk.code(), verifier)
    assert claims["newUser"] is True and "tel" in claims["amr"]
