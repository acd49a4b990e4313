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
JENNY_PHONE = "+447759140004"


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


def latest_code(outbox: Path, to: str, channel: str = "sms") -> str:
    """The last code sent to ``to`` by text ("sms"), phone call ("voice") or email."""
    messages = [m for m in read_outbox(outbox, to=to, channel=channel) if m["data"].get("code")]
    assert messages, f"no {channel} code to {to}"
    return str(messages[-1]["data"]["code"])


def pass_mfa_by_text(visitor: Visitor, outbox: Path, phone: str = JENNY_PHONE) -> None:
    """The sign-in second factor when a text message is the only way offered."""
    assert visitor.heading() == "Multi-factor authentication", visitor.text[:300]
    if "Send Code" in visitor.buttons():
        visitor.press("Send Code")
    else:  # a choice of a text or a call to the enrolled phone
        label = next(o for o in _radio_labels(visitor) if o.startswith("Text message"))
        visitor.press("Continue", {label: True})
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, phone)})


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
    # Step 6: "Multi-factor authentication": United Kingdom (+44) is already chosen.
    assert visitor.heading() == "Multi-factor authentication", visitor.errors()
    assert "United Kingdom (+44)" in visitor.text
    visitor.press("Send Code", {"Phone Number": "07759 140004"})
    # Step 7: a mobile gets a text; "Verify Code".
    assert "We have sent a 6-digit code by text message to 07*** ***004" in visitor.text
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, JENNY_PHONE)})
    # Step 8: "Review Account", blanks flagged, then "Confirm Details".
    assert visitor.heading() == "Review Account", visitor.errors()
    assert "Please review your account details" in visitor.text
    assert visitor.field_value("Forename") == "Jenny"
    assert visitor.field_value("Surname") == "Hinsen"
    assert visitor.field_value("Mobile Number") == "07759 140004"  # from the MFA step
    assert "Blank" in visitor.text
    visitor.press("Find address", {"Title": "Mrs", "Postcode": "le3 9re"})
    assert visitor.field_value("Title") == "Mrs"  # typed fields survive the lookup
    visitor.press(
        "Confirm Details",
        {"Day": "10", "Month": "1", "Year": "1983"},
        choose={"Select your address": "105 Petworth Drive"},
    )
    tokens = tokens_from(client, visitor, verifier)
    claims = tokens["claims"]
    assert claims["newUser"] is True and claims["tfp"] == PARENT
    assert claims["given_name"] == "Jenny" and claims["family_name"] == "Hinsen"
    assert claims["emails"] == [JENNY]
    assert claims["amr"] == ["pwd", "sms", "mfa"]

    # Then the new account signs in, in a browser that has never seen it: password,
    # then a text to the phone it enrolled.
    again, verifier = start(client.application.test_client(), PARENT)
    again.press("Sign in", {"Email address": JENNY, "Password": NEW_PASSWORD})
    pass_mfa_by_text(again, outbox)
    claims = tokens_from(client, again, verifier)["claims"]
    assert claims["sub"] == tokens["claims"]["sub"] and "newUser" not in claims
    assert claims["amr"] == ["pwd", "sms", "mfa"]


def test_a_landline_gets_a_phone_call_that_says_the_code(client: Any, outbox: Path) -> None:
    visitor, _ = start(client, PARENT)
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": JENNY})
    code = latest_email(outbox, JENNY, "verification_code")["data"]["code"]
    visitor.press("Verify code", {"Verification code": code})
    visitor.press(
        "Create",
        {
            "Password": NEW_PASSWORD,
            "Confirm password": NEW_PASSWORD,
            "Given name": "Jenny",
            "Surname": "Hinsen",
        },
    )
    visitor.press("Send Code", {"Phone Number": "0116 496 0000"})
    assert "We are calling 01*** ***000" in visitor.text
    (call,) = read_outbox(outbox, channel="voice")
    assert call["to"] == "+441164960000" and "I will say that again" in call["body"]
    visitor.press("Verify Code", {"Verification code": call["data"]["code"]})
    assert visitor.heading() == "Review Account"


def sign_up_for_blue_badge(visitor: Visitor, email: str = JENNY) -> None:
    """The guide's first page, then "On the next page", up to the activation email."""
    visitor.press("Sign up now")
    assert visitor.heading() == "Create your account"
    visitor.press(
        "Continue",
        {
            "Email address": email,
            "First name": "Jenny",
            "Last name": "Hinsen",
            "Password": NEW_PASSWORD,
            "Confirm password": NEW_PASSWORD,
            "I agree to the privacy policy": True,
        },
    )
    assert visitor.heading() == "Your contact details", visitor.errors()
    visitor.press("Find address", {"Phone number": "07759 140004", "Postcode": "LE3 9RE"})
    visitor.press("Continue", choose={"Select your address": "105 Petworth Drive"})
    assert visitor.heading() == "Check your email", visitor.errors()


def choose_and_pass(visitor: Visitor, outbox: Path, method: str) -> None:
    """The Blue Badge MFA page: choose how to get the code, then enter it."""
    assert "How do you want to receive your security code?" in visitor.text, visitor.text[:400]
    words = {"sms": "Text message", "voice": "Phone call", "email": "Email"}[method]
    label = next(o for o in _radio_labels(visitor) if o.startswith(words))
    visitor.press("Continue", {label: True})
    to = JENNY if method == "email" else JENNY_PHONE
    code = (
        latest_email(outbox, JENNY, "security_code")["data"]["code"]
        if method == "email"
        else latest_code(outbox, to, method)
    )
    visitor.press("Verify Code", {"Verification code": code})


def _radio_labels(visitor: Visitor) -> list[str]:
    import re

    return [
        " ".join(m.split())
        for m in re.findall(r'class="govuk-label govuk-radios__label"[^>]*>([^<]*)<', visitor.html)
    ]


def test_blue_badge_sign_up_follows_the_guide_and_the_link_carries_on(
    client: Any, outbox: Path
) -> None:
    visitor, verifier = start(client, BLUE_BADGE)
    assert visitor.heading() == "Sign in to the Leicestershire Services Portal"
    sign_up_for_blue_badge(visitor)
    assert "Resend activation email" in visitor.buttons()
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    # The link opens a page with a button, so a mail scanner that fetches it does nothing;
    # in the browser that signed up, the button finishes the sign-up and carries on.
    visitor.open(link)
    assert visitor.heading() == "Activate your account" and "Password" not in visitor.text
    visitor.press("Activate account")
    # "Log in as usual … Choose how you want to receive your one-time security code".
    choose_and_pass(visitor, outbox, "sms")
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["newUser"] is True and claims["tfp"] == BLUE_BADGE
    assert claims["given_name"] == "Jenny" and claims["phone_number"] == JENNY_PHONE
    assert claims["amr"] == ["pwd", "sms", "mfa"]


def test_blue_badge_sign_in_asks_for_a_new_code_every_time_by_the_chosen_method(
    client: Any, outbox: Path
) -> None:
    visitor, verifier = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    visitor.open(latest_email(outbox, JENNY, "activation")["data"]["link"])
    visitor.press("Activate account")
    choose_and_pass(visitor, outbox, "sms")
    tokens_from(client, visitor, verifier)
    for method, amr in (("voice", "tel"), ("email", "email"), ("sms", "sms")):
        # The same browser, still signed in: "Do I have to enter a new code every time I
        # log in? Yes".
        again, verifier = start(client, BLUE_BADGE)
        choose_and_pass(again, outbox, method)
        claims = tokens_from(client, again, verifier)["claims"]
        assert amr in claims["amr"] and "mfa" in claims["amr"]


def test_before_its_link_is_followed_a_sign_up_signs_in_as_nobody(
    client: Any, outbox: Path, user: str
) -> None:
    visitor, _ = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    other, _ = start(client.application.test_client(), BLUE_BADGE)
    other.press("Sign in", {"Email address": JENNY, "Password": NEW_PASSWORD})
    not_yet = other.errors()
    # Exactly what a registered address says to a wrong password: nothing to learn.
    other.press("Sign in", {"Email address": "jenny.hinsen@example.com", "Password": "Wrong-1a"})
    assert not_yet == other.errors()


def test_a_link_opened_in_another_browser_needs_the_password_chosen_at_sign_up(
    client: Any, outbox: Path
) -> None:
    visitor, verifier = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    visitor.press("Continue")
    assert "Your account is not active yet" in visitor.errors()[0]
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    phone = Visitor(client.application.test_client()).open(link)
    assert phone.heading() == "Activate your account"
    phone.press("Activate account", {"Password": "Someone-elses-9"})
    assert phone.errors() == ["That is not the password you chose when you signed up"]
    phone.press("Activate account", {"Password": NEW_PASSWORD})
    assert phone.status == 200 and phone.heading() == "Your account is active"
    visitor.press("Continue")
    choose_and_pass(visitor, outbox, "email")
    assert tokens_from(client, visitor, verifier)["claims"]["newUser"] is True


def test_signing_up_with_someone_elses_address_gains_nothing(
    client: Any, outbox: Path, user: str
) -> None:
    victim = "jenny.hinsen@example.com"  # the `user` fixture's account
    attacker, _ = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(attacker, email=victim)
    # The screen says what it says to anyone; the owner's inbox says why.
    assert attacker.heading() == "Check your email"
    assert latest_email(outbox, victim, "already_registered")
    assert not [m for m in read_outbox(outbox, to=victim) if m["kind"] == "activation"]
    attacker.press("Continue")
    assert "not active yet" in attacker.errors()[0]


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
    old = Visitor(client.application.test_client()).open(first)
    assert old.status == 410  # only the newest link works
    visitor.open(second)
    visitor.press("Activate account")
    choose_and_pass(visitor, outbox, "sms")
    assert tokens_from(client, visitor, verifier)["claims"]["newUser"] is True


def test_an_expired_link_says_so_and_signing_up_again_works(
    client: Any, outbox: Path, clock: Any
) -> None:
    visitor, _ = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    clock.advance(seconds=86401)  # the link, and the journey, are long gone
    expired = Visitor(client.application.test_client()).open(link)
    assert expired.status == 410 and expired.heading() == "This activation link has expired"
    assert "sign up again" in expired.text  # a way on, not a dead end
    later, verifier = start(client.application.test_client(), BLUE_BADGE)
    sign_up_for_blue_badge(later)
    later.open(latest_email(outbox, JENNY, "activation")["data"]["link"])
    later.press("Activate account")
    choose_and_pass(later, outbox, "sms")
    assert tokens_from(client, later, verifier)["claims"]["newUser"] is True


def test_an_activation_link_stops_working_after_five_wrong_passwords(
    client: Any, outbox: Path
) -> None:
    visitor, _ = start(client, BLUE_BADGE)
    sign_up_for_blue_badge(visitor)
    link = latest_email(outbox, JENNY, "activation")["data"]["link"]
    guesser = Visitor(client.application.test_client()).open(link)
    for _ in range(5):
        guesser.press("Activate account", {"Password": "Guess-word-1234"})
    assert guesser.heading() == "Activate your account"  # the page reads the same
    guesser.open(link)
    assert guesser.status == 410  # but the link is spent
    visitor.press("Continue")
    assert "not active yet" in visitor.errors()[0]
