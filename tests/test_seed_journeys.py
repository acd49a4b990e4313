"""The seeds' journeys end to end over HTTP, with the guides' labels and buttons, reading
codes and links from the outbox; then the new accounts sign in again."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt

from idp.messaging import read_outbox
from tests.flows import REDIRECT_URI, authorize_params, exchange, pkce_pair, query_of
from tests.pages import Visitor

PARENT = "B2C_1_parent_signup_signin"
BLUE_BADGE = "B2C_1_bluebadge_signup_signin"
JENNY = "jenny.hinsen@outlook.com"
NEW_PASSWORD = "Tq7#mZp2vL-rose"


def start(client: Any, policy: str, **extra: Any) -> tuple[Visitor, str]:
    verifier, challenge = pkce_pair()
    params = authorize_params(
        code_challenge=challenge, code_challenge_method="S256", p=policy, **extra
    )
    visitor = Visitor(client)
    visitor.open(f"/authorize?{urlencode(params)}")
    return visitor, verifier


def latest_email(outbox: Path, to: str, kind: str) -> dict[str, Any]:
    messages = [m for m in read_outbox(outbox, to=to) if m["kind"] == kind]
    assert messages, f"no {kind} email to {to}"
    return messages[-1]


def tokens_from(client: Any, visitor: Visitor, verifier: str) -> dict[str, Any]:
    assert visitor.url.startswith(REDIRECT_URI), (visitor.url, visitor.errors(), visitor.text)
    code = query_of(visitor.url)["code"]
    response = exchange(client, code, verifier)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    claims = jwt.decode(body["id_token"], _jwks(client)).claims
    return {**body, "claims": claims}


def _jwks(client: Any) -> Any:
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(client.get("/jwks").get_json())


def test_parent_portal_sign_up_follows_the_guide_then_signs_in(client: Any, outbox: Path) -> None:
    visitor, verifier = start(client, PARENT)
    assert visitor.heading() == "Sign in to the Parent Portal"
    # Step 1: "Sign up now".
    visitor.press("Sign up now")
    assert visitor.heading() == "User Details"
    # Step 2: the email address and "Send verification code".
    visitor.press("Send verification code", {"Email address": JENNY})
    assert "We have sent a 6-digit verification code to " + JENNY in visitor.text
    # Steps 3 and 4: the code from the email, then "Verify code".
    code = latest_email(outbox, JENNY, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    # Step 5: the same password twice, given name and surname, "Create".
    assert visitor.heading() == "User Details"
    visitor.press(
        "Create",
        {
            "Password": NEW_PASSWORD,
            "Confirm password": NEW_PASSWORD,
            "Given name": "Jenny",
            "Surname": "Hinsen",
        },
    )
    # Step 8: "Review Account", blanks flagged, then "Confirm Details".
    assert visitor.heading() == "Review Account", visitor.errors()
    assert "Please review your account details" in visitor.text
    assert visitor.field_value("Forename") == "Jenny"
    assert visitor.field_value("Surname") == "Hinsen"
    assert "Blank" in visitor.text
    visitor.press("Find address", {"Title": "Mrs", "Postcode": "le3 9re"})
    assert visitor.field_value("Title") == "Mrs"  # typed fields survive the lookup
    visitor.press(
        "Confirm Details",
        {"Day": "10", "Month": "1", "Year": "1983", "Mobile Number": "07759 140004"},
        choose={"Select your address": "105 Petworth Drive"},
    )
    tokens = tokens_from(client, visitor, verifier)
    claims = tokens["claims"]
    assert claims["newUser"] is True and claims["tfp"] == PARENT
    assert claims["given_name"] == "Jenny" and claims["family_name"] == "Hinsen"
    assert claims["emails"] == [JENNY]

    # Then the new account signs in, in a browser that has never seen it.
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    again, verifier = start(client.application.test_client(), PARENT)
    again.press("Sign in", {"Email address": JENNY, "Password": NEW_PASSWORD})
    claims = tokens_from(client, again, verifier)["claims"]
    assert claims["sub"] == tokens["claims"]["sub"] and "newUser" not in claims


def sign_up_for_blue_badge(visitor: Visitor, email: str = JENNY) -> None:
    """The guide's first page, then "On the next page", up to the activation email."""
    visitor.press("Sign up now")
    assert visitor.heading() == "Create your account"
    visitor.press(
        "Continue",
        {"Email address": email, "First name": "Jenny", "Last name": "Hinsen",
         "Password": NEW_PASSWORD, "Confirm password": NEW_PASSWORD,
         "I agree to the privacy policy": True},
    )
    assert visitor.heading() == "Your contact details", visitor.errors()
    visitor.press("Find address", {"Phone number": "07759 140004", "Postcode": "LE3 9RE"})
    visitor.press("Continue", choose={"Select your address": "105 Petworth Drive"})
    assert visitor.heading() == "Check your email", visitor.errors()


def test_blue_badge_sign_up_follows_the_guide_and_the_link_carries_on(
    client: Any, outbox: Path
) -> None:
    visitor, verifier = start(client, BLUE_BADGE)
    assert visitor.heading() == "Sign in to the Leicestershire Services Portal"
    sign_up_for_blue_badge(visitor)
    assert "Resend activation email" in visitor.buttons()
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    # Following the link in the same browser finishes the sign-up and returns to the portal.
    visitor.open(link)
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["newUser"] is True and claims["tfp"] == BLUE_BADGE
    assert claims["given_name"] == "Jenny" and claims["phone_number"] == "+447759140004"

    # "Log in as usual": the activated account signs in (MFA joins with its own issue).
    again, verifier = start(client.application.test_client(), BLUE_BADGE)
    again.press("Sign in", {"Email address": JENNY, "Password": NEW_PASSWORD})
    assert tokens_from(client, again, verifier)["claims"]["sub"] == claims["sub"]


def test_an_account_cannot_sign_in_before_its_link_is_followed(client: Any, outbox: Path) -> None:
    visitor, _ = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    other, _ = start(client.application.test_client(), BLUE_BADGE)
    other.press("Sign in", {"Email address": JENNY, "Password": NEW_PASSWORD})
    assert "Your account is not active yet" in other.errors()[0]
    # A wrong password says nothing about the account.
    other.press("Sign in", {"Email address": JENNY, "Password": "Wrong-password-1"})
    assert "not active" not in " ".join(other.errors())


def test_a_link_followed_in_another_browser_activates_and_continue_carries_on(
    client: Any, outbox: Path
) -> None:
    visitor, verifier = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    visitor.press("Continue")
    assert "Your account is not active yet" in visitor.errors()[0]
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    phone = Visitor(client.application.test_client()).open(link)
    assert phone.status == 200 and phone.heading() == "Your account is active"
    visitor.press("Continue")
    assert tokens_from(client, visitor, verifier)["claims"]["newUser"] is True


def test_resend_activation_email_waits_its_cool_down_then_sends_a_new_link(
    client: Any, outbox: Path, clock: Any
) -> None:
    visitor, verifier = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    first = latest_email(outbox, JENNY, "activation")["data"]["link"]
    visitor.press("Resend activation email")
    assert "Wait 60 seconds" in visitor.errors()[0]
    clock.advance(seconds=61)
    visitor.press("Resend activation email")
    assert "We have sent the email again." in visitor.text
    second = latest_email(outbox, JENNY, "activation")["data"]["link"]
    assert second != first
    visitor.open(second)
    assert tokens_from(client, visitor, verifier)["claims"]["newUser"] is True


def test_an_expired_link_says_so_and_forgot_password_activates_instead(
    client: Any, outbox: Path, clock: Any
) -> None:
    visitor, _ = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    clock.advance(seconds=86401)  # the link, and the journey, are long gone
    expired = Visitor(client.application.test_client()).open(link)
    assert expired.status == 410 and expired.heading() == "This activation link has expired"
    assert "Forgot your password?" in expired.text  # a way on, not a dead end
    later, verifier = start(client.application.test_client(), BLUE_BADGE)
    later.press("Sign in", {"Email address": JENNY, "Password": NEW_PASSWORD})
    assert "Forgot your password?" in later.errors()[0]
    later.press("Forgot your password?", {"Email address": JENNY})
    later.press("Send verification code", {"Email address": JENNY})
    code = latest_email(outbox, JENNY, "verification_code")["data"]["code"]
    later.press("Verify code", {"Verification code": code})
    later.press(
        "Continue", {"New password": "Another-Pass-42", "Confirm new password": "Another-Pass-42"}
    )
    assert tokens_from(client, later, verifier)["claims"]["given_name"] == "Jenny"
