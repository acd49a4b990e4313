"""Local-account journeys beyond the guides' sign-ups, over HTTP: an address that already
has an account, password reset, profile edit and change of email."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD, add_user
from tests.test_seed_journeys import (
    JENNY,
    PARENT,
    latest_email,
    pass_mfa_by_text,
    start,
    tokens_from,
)

PHONE = "+447400123456"  # the `user` fixture's phone

EXISTING = "jenny.hinsen@example.com"


def _without_addresses(text: str) -> str:
    return re.sub(r"\S+@\S+", "ADDRESS", text)


def test_sign_up_screens_read_the_same_for_a_registered_and_a_new_address(
    client: Any, outbox: Path, user: str
) -> None:
    pages = []
    for email in (EXISTING, "someone.new@example.com"):
        visitor, _ = start(client.application.test_client(), PARENT)
        visitor.press("Sign up now")
        visitor.press("Send verification code", {"Email address": email})
        pages.append(_without_addresses(visitor.text))
        assert latest_email(outbox, email, "verification_code")
    assert pages[0] == pages[1]


def test_after_verification_a_registered_address_is_offered_sign_in_or_reset(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, verifier = start(client, PARENT)
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": EXISTING})
    code = latest_email(outbox, EXISTING, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    assert f"You already have an account with {EXISTING}." in visitor.text
    assert visitor.buttons()[-2:] == ["Sign in", "Reset your password"]
    visitor.press("Sign in")
    assert visitor.heading() == "Sign in to the Parent Portal"
    assert visitor.field_value("Email address") == EXISTING
    visitor.press("Sign in", {"Password": PASSWORD})
    pass_mfa_by_text(visitor, outbox, PHONE)
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert "newUser" not in claims


def test_a_registered_address_can_reset_its_password_without_a_second_code(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, verifier = start(client, PARENT)
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": EXISTING})
    code = latest_email(outbox, EXISTING, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    visitor.press("Reset your password")
    pass_mfa_by_text(visitor, outbox, PHONE)  # the phone, before anything changes
    assert visitor.heading() == "Create a new password"
    visitor.press(
        "Continue", {"New password": "Fresh-Start-2026", "Confirm new password": "Fresh-Start-2026"}
    )
    assert tokens_from(client, visitor, verifier)["claims"]["sub"] == user


def test_a_social_account_is_named_after_verification(client: Any, outbox: Path, app: Any) -> None:
    from idp.extensions import db
    from idp.store.models import Identity, User

    with app.app_context():
        now = app.extensions["idp"].clock.now()
        person = User(email="sam@example.com", claims={}, created_at=now, updated_at=now)
        person.identities.append(
            Identity(
                route="google",
                issuer="https://accounts.google.com",
                subject="1234567890",
                created_at=now,
            )
        )
        db.session.add(person)
        db.session.commit()
    visitor, _ = start(client, PARENT)
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": "sam@example.com"})
    code = latest_email(outbox, "sam@example.com", "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    assert "You created your account with Google. Sign in that way instead." in visitor.text


def test_password_reset_policy_sets_a_new_password_and_signs_in(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, verifier = start(client, "B2C_1_password_reset")
    assert visitor.heading() == "Reset your password"
    visitor.press("Send verification code", {"Email address": EXISTING})
    code = latest_email(outbox, EXISTING, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": "000000" if code != "000000" else "111111"})
    assert visitor.errors() == ["The code is not right. Check the email we sent and enter the code"]
    visitor.press("Verify code", {"Verification code": code})
    pass_mfa_by_text(visitor, outbox, PHONE)  # the email proved one factor; the phone is two
    visitor.press("Continue", {"New password": "short", "Confirm new password": "short"})
    assert visitor.errors() == ["Password must be at least 8 characters long"]
    visitor.press("Continue", {"New password": "Jenny1983!", "Confirm new password": "Jenny1983!"})
    assert visitor.errors() == ["Password must not contain your name or email address"]
    visitor.press(
        "Continue", {"New password": "Fresh-Start-2026", "Confirm new password": "Fresh-Start-2026"}
    )
    assert tokens_from(client, visitor, verifier)["claims"]["sub"] == user
    # The old password no longer works; the new one does.
    old, _ = start(client.application.test_client(), "B2C_1_signin")
    old.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    assert old.errors()
    new, verifier = start(client.application.test_client(), "B2C_1_signin")
    new.press("Sign in", {"Email address": EXISTING, "Password": "Fresh-Start-2026"})
    assert tokens_from(client, new, verifier)["claims"]["sub"] == user


def test_password_reset_for_an_unknown_address_reads_the_same_and_emails_why(
    client: Any, outbox: Path, user: str
) -> None:
    pages = []
    for email in (EXISTING, "nobody@example.com"):
        visitor, _ = start(client.application.test_client(), "B2C_1_password_reset")
        visitor.press("Send verification code", {"Email address": email})
        pages.append(_without_addresses(visitor.text))
    assert pages[0] == pages[1]
    assert latest_email(outbox, "nobody@example.com", "no_account")
    assert "code" not in latest_email(outbox, "nobody@example.com", "no_account")["data"]


def test_a_verification_code_expires(client: Any, outbox: Path, clock: Any, user: str) -> None:
    visitor, _ = start(client, "B2C_1_password_reset")
    visitor.press("Send verification code", {"Email address": EXISTING})
    code = latest_email(outbox, EXISTING, "verification_code")["data"]["code"]
    clock.advance(seconds=601)
    visitor.press("Verify code", {"Verification code": code})
    assert visitor.errors() == ["The code has expired. Select 'Send a new code' to get another"]
    visitor.press("Send a new code")
    fresh = latest_email(outbox, EXISTING, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": fresh})
    assert visitor.heading() == "Multi-factor authentication"


def test_profile_edit_goes_straight_to_the_form_for_a_signed_in_person(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, _ = start(client, "B2C_1_signin")
    visitor.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    edit, verifier = start(client, "B2C_1_profile_edit")
    pass_mfa_by_text(edit, outbox, PHONE)  # the session has only a password so far
    assert edit.heading() == "Edit your profile"
    assert edit.field_value("First name") == "Jenny"
    edit.press("Find address", {"Last name": "Hinsen-Smith", "Postcode": "LE3 9RE"})
    edit.press("Continue", choose={"Select your address": "105 Petworth Drive"})
    claims = tokens_from(client, edit, verifier)["claims"]
    assert claims["family_name"] == "Hinsen-Smith" and claims["sub"] == user
    # Saved to the account: a later review shows it.
    again, _ = start(client, "B2C_1_profile_edit")  # the session passed MFA now: no code
    assert again.field_value("Last name") == "Hinsen-Smith"
    assert "105 Petworth Drive" in again.text and "Update Address" in again.buttons()


def test_change_of_email_verifies_the_new_address_first(
    client: Any, outbox: Path, user: str
) -> None:
    add_user(client.application, email="taken@example.com")
    visitor, verifier = start(client, "B2C_1_change_email")
    visitor.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    pass_mfa_by_text(visitor, outbox, PHONE)
    assert visitor.heading() == "Your new email address"
    visitor.press("Send verification code", {"Email address": "taken@example.com"})
    code = latest_email(outbox, "taken@example.com", "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    assert visitor.errors() == ["An account already uses that email address. Enter a different one"]
    visitor.press("Send verification code", {"Email address": JENNY})
    code = latest_email(outbox, JENNY, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["sub"] == user
    new, verifier = start(client.application.test_client(), "B2C_1_signin")
    new.press("Sign in", {"Email address": JENNY, "Password": PASSWORD})
    assert tokens_from(client, new, verifier)["claims"]["sub"] == user
    old, _ = start(client.application.test_client(), "B2C_1_signin")
    old.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    assert old.errors()


def test_a_password_reset_signs_out_every_other_browser_and_portal(
    client: Any, outbox: Path, user: str
) -> None:
    elsewhere = client.application.test_client()
    visitor, verifier = start(elsewhere, "B2C_1_signin")
    visitor.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    refresh = tokens_from(elsewhere, visitor, verifier)["refresh_token"]
    reset, verifier = start(client, "B2C_1_password_reset")
    reset.press("Send verification code", {"Email address": EXISTING})
    code = latest_email(outbox, EXISTING, "verification_code")["data"]["code"]
    reset.press("Verify code", {"Verification code": code})
    pass_mfa_by_text(reset, outbox, PHONE)
    reset.press(
        "Continue", {"New password": "Fresh-Start-2026", "Confirm new password": "Fresh-Start-2026"}
    )
    tokens_from(client, reset, verifier)
    refused = client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": "portal",
            "client_secret": "confidential-secret-0123456789abcdef",
        },
    )
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    # The other browser's session is over too: it is asked to sign in again.
    again, _ = start(elsewhere, "B2C_1_signin")
    assert again.heading() == "Sign in"


def test_a_change_of_email_tells_the_old_address(client: Any, outbox: Path, user: str) -> None:
    visitor, _ = start(client, "B2C_1_change_email")
    visitor.press("Sign in", {"Email address": EXISTING, "Password": PASSWORD})
    pass_mfa_by_text(visitor, outbox, PHONE)
    visitor.press("Send verification code", {"Email address": JENNY})
    code = latest_email(outbox, JENNY, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    notice = latest_email(outbox, EXISTING, "email_changed")
    assert "j***@outlook.com" in notice["text"]
