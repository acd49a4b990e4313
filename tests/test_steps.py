"""Step types driven through the executor with FakeServices: the shipped policies' journeys
(the Parent Portal and Blue Badge sign-ups, password reset, profile edit), now with their
second factors, and small inline policies for email codes, privacy consent and form fields.
The MFA steps themselves are tested in test_mfa_steps.py."""

from __future__ import annotations

from typing import Any

import pytest

from idp.address import LOOKUP_FAILED_MESSAGE
from idp.config import PROJECT_ROOT
from idp.journeys import context as keys
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.policy import Policy, load_policy_file, parse_policy
from idp.journeys.results import Completed, Page
from tests.fakes import FakeServices

PARENT = "B2C_1_parent_signup_signin"
BLUE_BADGE = "B2C_1_bluebadge_signup_signin"
RESET = "B2C_1_password_reset"
PROFILE_EDIT = "B2C_1_profile_edit"
JENNY = "jenny.hinsen@outlook.com"
NEW_PASSWORD = "Tq7#mZp2vL-rose"
AUTH_TIME = 1_795_424_400
MOBILE = "07759 140004"
MOBILE_E164 = "+447759140004"


def shipped(policy_id: str) -> Policy:
    return load_policy_file(PROJECT_ROOT / "policies" / f"{policy_id}.toml")


def inline(*steps: dict[str, Any]) -> Policy:
    """A policy of these steps (ids and orders as given) and a sign-in step after them."""
    signin = {"id": "signin", "order": 900, "type": "signin_page"}
    return parse_policy({"id": "B2C_1_test", "steps": [*steps, signin]}, "policies/test.toml")


class Journey:
    """One person's journey: the executor, its progress and the last thing it showed."""

    def __init__(
        self,
        policy: Policy,
        services: FakeServices | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.services = services or FakeServices(rules=policy.password)
        self.executor = Executor(policy, self.services)
        self.progress = JourneyProgress(0, dict(context or {}))
        self.outcome: Page | Completed = self.executor.show(self.progress, AUTH_TIME)

    @property
    def page(self) -> Page:
        assert isinstance(self.outcome, Page), self.outcome
        return self.outcome

    @property
    def context(self) -> dict[str, Any]:
        return self.progress.context

    def press(self, action: str | None = None, **form: str) -> Page | Completed:
        """Submit the current page's form, with ``action`` as the button pressed."""
        if action is not None:
            form["action"] = action
        self.outcome = self.executor.submit(self.progress, self.page.step_id, form, AUTH_TIME)
        return self.outcome

    def fill(self, form: dict[str, str], action: str | None = None) -> Page | Completed:
        """Like ``press``, for field names that are not Python names ("password-confirm")."""
        return self.press(action, **form)

    def code_sent_to(self, email: str) -> str:
        _kind, to, values = self.services.last_email("verification_code")
        assert to == email
        return str(values["code"])


def security_code(services: FakeServices, method: str) -> str:
    """The last security code sent by ``method`` (sms, call or email)."""
    if method == "sms":
        return str(services.texts[-1][2]["code"])
    if method == "call":
        return services.calls[-1][1]
    return str(services.last_email("security_code")[2]["code"])


def pass_mfa(journey: Journey, method: str = "sms") -> Page | Completed:
    """At an ``mfa`` page: enrol the mobile if asked for a phone, else choose ``method``;
    then "Verify Code" with the code that was sent."""
    assert journey.page.step_id.endswith("mfa"), journey.page
    if journey.page.values["phase"] == "enrol":
        journey.press("send", country="GB", phone=MOBILE)
    else:
        journey.press("choose", method=method)
    assert journey.page.values["phase"] == "code", journey.page.errors
    sent_by = journey.page.values["method"]
    return journey.press("verify", code=security_code(journey.services, sent_by))


def passwords(password: str = NEW_PASSWORD) -> dict[str, str]:
    return {"password": password, "password-confirm": password}


def emailed(journey: Journey, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [e for e in journey.services.emails if e[0] == kind]


def without(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in names}


# -- the Parent Portal sign-up (seeds/000) -----------------------------------------------


def parent_sign_up(email: str = JENNY, services: FakeServices | None = None) -> Journey:
    """Steps 1 to 4 of the guide: "Sign up now", the address, the code, "Verify code"."""
    journey = Journey(shipped(PARENT), services)
    journey.press("sign_up")
    journey.press("send", email=email)
    journey.press("verify", code=journey.code_sent_to(email))
    return journey


def test_parent_portal_sign_up_follows_the_guide_to_a_new_user():
    journey = Journey(shipped(PARENT))
    assert journey.page.step_id == "signin"
    # Step 1: "Sign up now".
    journey.press("sign_up")
    assert journey.page.step_id == "signup_email" and journey.page.values["phase"] == "email"
    # Steps 2 and 3: "Send verification code"; the code arrives by email.
    journey.press("send", email=JENNY)
    assert journey.page.values["phase"] == "code" and not journey.page.errors
    assert journey.page.values["seconds_left"] == 600
    # Step 4: "Verify code".
    journey.press("verify", code=journey.code_sent_to(JENNY))
    assert journey.page.step_id == "signup_details"
    assert journey.page.values["email"] == JENNY and journey.page.values["email_fixed"]
    # Step 5: the same password twice, given name and surname, "Create".
    journey.fill({**passwords(), "given_name": "Jenny", "family_name": "Hinsen"})
    account = journey.services.accounts[JENNY]
    assert account.password == "hash:" + NEW_PASSWORD
    assert account.claims["given_name"] == "Jenny"
    assert journey.context[keys.NEW_USER] is True
    # Step 6: "Multi-factor authentication": "Country Code" (United Kingdom first and
    # chosen), "Phone Number", "Send Code".
    mfa = journey.page
    assert mfa.step_id == "mfa" and mfa.values["phase"] == "enrol"
    assert mfa.values["country"] == "GB"
    assert mfa.values["countries"][0] == ("GB", "United Kingdom (+44)")
    journey.press("send", country="GB", phone=MOBILE)
    # Step 7: a mobile gets a 6-digit code by text; "Verify Code".
    [(to, body, data)] = journey.services.texts
    assert to == MOBILE_E164 and data["code"] in body and len(data["code"]) == 6
    assert journey.page.values["phase"] == "code" and journey.page.values["method"] == "sms"
    journey.press("verify", code=data["code"])
    assert account.phone == {"number": MOBILE_E164, "type": "mobile"}
    # Step 8: "Review Account", blanks flagged, "Confirm Details"; the proven phone is there.
    review = journey.page
    assert review.step_id == "review" and review.settings["button"] == "Confirm Details"
    assert review.values["given_name"] == "Jenny" and review.values["email"] == JENNY
    assert review.values["phone_number"] == MOBILE
    assert {"title", "middle_name", "birthdate", "address"} <= set(review.values["blanks"])
    assert not {"given_name", "family_name", "email", "phone_number"} & set(
        review.values["blanks"]
    )
    done = journey.press(title="Mrs", given_name="Jenny", family_name="Hinsen",
                         phone_number=MOBILE)
    assert isinstance(done, Completed), getattr(done, "errors", done)
    assert done.authentication.new_user is True
    assert done.authentication.user_object_id == account.object_id
    assert done.authentication.route == "local"
    assert done.authentication.amr == ["pwd", "sms", "mfa"]
    assert account.claims["title"] == "Mrs" and account.claims["phone_number"] == MOBILE_E164


def test_a_returning_person_passes_the_second_factor_and_with_every_detail_skips_the_review():
    services = FakeServices()
    services.give_phone(
        services.add(JENNY, NEW_PASSWORD, title="Mrs", given_name="Jenny", family_name="Hinsen")
    )
    journey = Journey(shipped(PARENT), services)
    journey.press(email=JENNY, password=NEW_PASSWORD)
    assert journey.page.step_id == "mfa" and journey.page.values["phase"] == "choose"

    done = pass_mfa(journey)

    assert isinstance(done, Completed) and done.authentication.new_user is False
    assert done.authentication.amr == ["pwd", "sms", "mfa"]


def test_a_returning_person_with_a_blank_required_detail_is_asked_to_review():
    services = FakeServices()
    services.give_phone(services.add(JENNY, NEW_PASSWORD, given_name="Jenny", family_name="Hinsen"))
    journey = Journey(shipped(PARENT), services)
    journey.press(email=JENNY, password=NEW_PASSWORD)
    pass_mfa(journey)
    assert journey.page.step_id == "review" and "title" in journey.page.values["blanks"]


def test_a_returning_person_without_a_phone_enrols_one_at_sign_in():
    services = FakeServices()
    account = services.add(JENNY, NEW_PASSWORD, title="Mrs", given_name="Jenny",
                           family_name="Hinsen")
    journey = Journey(shipped(PARENT), services)
    journey.press(email=JENNY, password=NEW_PASSWORD)
    assert journey.page.values["phase"] == "enrol"

    done = pass_mfa(journey)

    assert isinstance(done, Completed)
    assert account.phone == {"number": MOBILE_E164, "type": "mobile"}


# -- verifying an email address by code --------------------------------------------------


def code_journey(**settings: Any) -> Journey:
    """A journey whose first page is a sign-up verify_email_code step with these settings."""
    return Journey(inline({"id": "email", "order": 100, "type": "verify_email_code",
                           "settings": settings}))


def sent(journey: Journey, email: str = JENNY) -> Journey:
    journey.press("send", email=email)
    assert journey.page.values["phase"] == "code", journey.page.errors
    return journey


def test_a_wrong_code_names_the_code_field_and_counts_the_attempt():
    journey = sent(code_journey())
    right = journey.code_sent_to(JENNY)
    wrong = "000000" if right != "000000" else "111111"

    journey.press("verify", code=wrong)

    assert journey.page.errors == {
        "code": "The code is not right. Check the email we sent and enter the code"
    }
    assert journey.context[keys.EMAIL_CODE]["attempts"] == 1
    assert journey.page.values["phase"] == "code"


def test_an_empty_code_is_asked_for_without_counting_an_attempt():
    journey = sent(code_journey())
    journey.press("verify", code="  ")
    assert journey.page.errors == {"code": "Enter the verification code"}
    assert journey.context[keys.EMAIL_CODE]["attempts"] == 0


@pytest.mark.parametrize(("seconds", "works"), [(599, True), (600, False), (3600, False)])
def test_a_code_works_only_for_its_lifetime(seconds, works):
    journey = sent(code_journey(code_lifetime=600))
    journey.services.clock.advance(seconds=seconds)

    journey.press("verify", code=journey.code_sent_to(JENNY))

    if works:
        assert journey.page.step_id == "signin"
        assert journey.context[keys.EMAIL_VERIFIED] == JENNY
    else:
        assert journey.page.errors["code"].startswith("The code has expired")
        assert keys.EMAIL_VERIFIED not in journey.context


def test_after_max_attempts_wrong_codes_even_the_right_code_is_refused():
    journey = sent(code_journey(max_attempts=3))
    right = journey.code_sent_to(JENNY)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        journey.press("verify", code=wrong)

    journey.press("verify", code=right)

    assert journey.page.errors["code"].startswith("You have entered a wrong code too many times")
    assert keys.EMAIL_VERIFIED not in journey.context


def test_send_a_new_code_within_the_cooldown_is_refused_naming_the_wait():
    journey = sent(code_journey(resend_cooldown=30))
    journey.services.clock.advance(seconds=10)

    journey.press("resend")

    assert journey.page.errors == {"code": "Wait 20 seconds, then select 'Send a new code'"}
    assert len(emailed(journey, "verification_code")) == 1
    assert journey.page.values["phase"] == "code"


def test_send_a_new_code_after_the_cooldown_sends_one_and_only_it_works():
    journey = sent(code_journey(resend_cooldown=30))
    first = journey.code_sent_to(JENNY)
    journey.services.clock.advance(seconds=30)

    journey.press("resend")

    assert not journey.page.errors
    assert len(emailed(journey, "verification_code")) == 2
    second = journey.code_sent_to(JENNY)
    if first != second:
        journey.press("verify", code=first)
        assert "code" in journey.page.errors
    journey.press("verify", code=second)
    assert journey.page.step_id == "signin"


def test_no_more_codes_are_sent_than_max_sends():
    journey = sent(code_journey(max_sends=2, resend_cooldown=1))
    journey.services.clock.advance(seconds=1)
    journey.press("resend")
    journey.services.clock.advance(seconds=1)

    journey.press("resend")

    assert journey.page.errors["code"].startswith("We have sent as many codes as we can")
    assert len(emailed(journey, "verification_code")) == 2


@pytest.mark.parametrize(("email", "message"), [
    ("", "Enter your email address"),
    ("jenny.hinsen", "Enter an email address in the correct format, like name@example.com"),
])
def test_a_missing_or_malformed_address_gets_no_code(email, message):
    journey = code_journey()
    journey.press("send", email=email)
    assert journey.page.errors == {"email": message}
    assert journey.services.emails == []


def test_change_email_address_goes_back_to_the_email_field():
    journey = sent(code_journey())

    journey.press("change_email")

    assert journey.page.values["phase"] == "email" and not journey.page.errors
    journey.press("send", email="jenny@example.com")
    assert journey.code_sent_to("jenny@example.com")


def test_changing_back_to_the_same_address_within_the_cooldown_still_lets_the_code_work():
    journey = sent(code_journey(resend_cooldown=30))
    journey.press("change_email")
    journey.press("send", email=JENNY)

    journey.press("verify", code=journey.code_sent_to(JENNY))

    assert journey.page.step_id == "signin", journey.page.errors


# -- signing up with an address that already has an account ------------------------------


def test_before_verification_a_registered_address_reads_the_same_as_a_new_one():
    registered, new = FakeServices(), FakeServices()
    registered.add(JENNY)
    pages = []
    for services, email in ((registered, JENNY), (new, "someone.new@example.com")):
        journey = Journey(shipped(PARENT), services)
        journey.press("sign_up")
        journey.press("send", email=email)
        pages.append(journey.page)
        kind, to, values = services.last_email()
        assert (kind, to, sorted(values)) == ("verification_code", email, ["code", "minutes"])

    assert pages[0].values["email"] == JENNY
    assert without(pages[0].values, "email") == without(pages[1].values, "email")
    assert pages[0].errors == pages[1].errors == {}
    assert pages[0].step_id == pages[1].step_id


def test_after_verification_a_registered_address_is_told_and_sign_in_restarts_with_it():
    services = FakeServices()
    services.add(JENNY, NEW_PASSWORD, title="Mrs", given_name="Jenny", family_name="Hinsen")
    journey = parent_sign_up(JENNY, services)

    assert journey.page.step_id == "signup_email"
    assert journey.page.values["phase"] == "exists" and journey.page.values["route"] == "local"
    assert len(services.accounts) == 1

    journey.press("sign_in")

    assert journey.page.step_id == "signin" and journey.page.values["email"] == JENNY
    assert journey.progress.step_index == 0
    journey.press(email=JENNY, password=NEW_PASSWORD)
    done = pass_mfa(journey)
    assert isinstance(done, Completed) and done.authentication.new_user is False


def test_after_verification_a_social_account_is_named_by_its_provider():
    services = FakeServices()
    services.add(JENNY, route="google")
    journey = parent_sign_up(JENNY, services)
    assert journey.page.values["phase"] == "exists" and journey.page.values["route"] == "google"


def test_reset_your_password_after_verification_goes_straight_to_a_new_password():
    services = FakeServices()
    account = services.give_phone(
        services.add(JENNY, title="Mrs", given_name="Jenny", family_name="Hinsen")
    )
    journey = parent_sign_up(JENNY, services)

    journey.press("reset_password")

    assert journey.page.step_id == "reset_mfa"  # no second code by email; the phone next
    pass_mfa(journey)
    assert journey.page.step_id == "reset_new_password"
    done = journey.fill(passwords())
    assert isinstance(done, Completed)
    assert done.authentication.user_object_id == account.object_id
    assert account.password == "hash:" + NEW_PASSWORD


def test_an_address_taken_while_the_details_were_typed_is_told_it_has_an_account():
    journey = parent_sign_up(JENNY)
    journey.services.add(JENNY)  # another tab finished signing up a moment ago

    journey.fill({**passwords(), "given_name": "Jenny", "family_name": "Hinsen"})

    assert journey.page.step_id == "create_account"
    assert journey.page.template == "steps/account_exists.html"
    assert journey.page.values == {"email": JENNY, "route": "local"}
    assert len(journey.services.accounts) == 1
    journey.press("sign_in")
    assert journey.page.step_id == "signin" and journey.page.values["email"] == JENNY


# -- password reset ----------------------------------------------------------------------


def reset_requested(email: str, services: FakeServices) -> Journey:
    journey = Journey(shipped(RESET), services)
    journey.press("send", email=email)
    return journey


def test_password_reset_reads_the_same_for_an_unknown_address_and_emails_why_no_code():
    known, unknown = FakeServices(), FakeServices()
    known.add(JENNY)
    pages = [reset_requested(JENNY, known).page,
             reset_requested("nobody@example.com", unknown).page]

    assert without(pages[0].values, "email") == without(pages[1].values, "email")
    assert pages[0].errors == pages[1].errors == {}
    assert known.last_email()[0] == "verification_code"
    assert unknown.emails == [("no_account", "nobody@example.com", {})]


def test_password_reset_for_a_social_account_emails_which_provider_to_use():
    services = FakeServices()
    services.add(JENNY, route="facebook")
    journey = reset_requested(JENNY, services)
    assert journey.page.values["phase"] == "code"
    assert services.emails == [("social_account", JENNY, {"provider": "facebook"})]


def test_password_reset_asks_for_the_phone_not_the_email_then_saves_the_new_password():
    services = FakeServices()
    account = services.give_phone(services.add(JENNY, "Old-Password-77", given_name="Jenny"))
    journey = reset_requested(JENNY, services)
    journey.press("verify", code=journey.code_sent_to(JENNY))

    # The email code proved the address; the second factor is the phone.
    assert journey.page.step_id == "mfa"
    assert [o["method"] for o in journey.page.values["options"]] == ["sms", "call"]
    pass_mfa(journey, "call")
    assert journey.page.step_id == "new_password"
    done = journey.fill(passwords())
    assert isinstance(done, Completed)
    assert done.authentication.user_object_id == account.object_id
    assert done.authentication.amr == ["tel", "mfa"]
    assert account.password == "hash:" + NEW_PASSWORD


def test_password_reset_changes_nothing_until_the_second_factor_has_passed():
    services = FakeServices()
    account = services.give_phone(services.add(JENNY, "Old-Password-77"))
    journey = reset_requested(JENNY, services)
    journey.press("verify", code=journey.code_sent_to(JENNY))
    assert journey.page.step_id == "mfa"  # someone with only the mailbox stops here
    journey.press("another_way")
    journey.press("verify", code="123456")

    assert journey.page.step_id == "mfa"
    assert account.password == "hash:Old-Password-77"


# -- the Blue Badge sign-up with an activation link (seeds/003) ---------------------------


def blue_badge_sign_up(email: str = JENNY, services: FakeServices | None = None) -> Journey:
    journey = Journey(shipped(BLUE_BADGE), services)
    journey.press("sign_up")
    assert journey.page.step_id == "signup_account"
    journey.fill({"email": email, "given_name": "Jenny", "family_name": "Hinsen",
                  **passwords(), "privacy_consent": "yes"})
    assert journey.page.step_id == "signup_contact", journey.page.errors
    journey.fill({"address-postcode": "le3 9re"}, action="find_address")
    results = journey.page.values["address"]["results"]
    choice = next(i for i, a in enumerate(results) if a["line1"] == "105 Petworth Drive")
    journey.fill({"phone_number": "07759 140004", "address-choice": str(choice)})
    return journey


def reference(journey: Journey) -> str:
    """The pending sign-up the journey waits on (what the activation link carries)."""
    return str(journey.context[keys.ACTIVATION_REF])


def test_blue_badge_sign_up_creates_no_account_until_its_link_is_followed():
    journey = blue_badge_sign_up()

    assert journey.services.accounts == {}
    pending = journey.services.pending[reference(journey)]
    assert pending["email"] == JENNY and pending["password_hash"] == "hash:" + NEW_PASSWORD
    assert pending["claims"]["address"]["formatted"] == (
        "105 Petworth Drive\nLeicester\nLeicestershire\nLE3 9RE"
    )
    assert pending["claims"]["phone_number"] == MOBILE_E164
    assert pending["claims"]["privacy_consent"]["version"] == "2025-01"
    assert journey.services.emails == [("activation", JENNY, {"reference": reference(journey)})]
    assert keys.USER_OBJECT_ID not in journey.context
    assert keys.PASSWORD_HASH not in journey.context or not journey.context[keys.PASSWORD_HASH]
    assert journey.page.step_id == "activate"
    assert journey.page.template == "steps/activation_link.html"
    assert journey.page.values["email"] == JENNY and journey.page.values["resend_in"] == 60


def test_continue_before_the_link_says_not_active_and_after_it_signs_the_new_person_in():
    journey = blue_badge_sign_up()

    journey.press("continue")
    assert journey.page.errors["continue"].startswith("Your account is not active yet")
    assert journey.services.accounts == {}

    object_id = journey.services.follow_link(reference(journey))
    account = journey.services.accounts[JENNY]
    assert account.object_id == object_id and account.consents == ["2025-01"]
    assert account.claims["phone_number"] == MOBILE_E164
    journey.press("continue")

    # Every sign-in asks for a code, the new account's included: by text or a call to the
    # phone given at sign-up, or by email.
    assert journey.page.step_id == "mfa"
    assert [o["method"] for o in journey.page.values["options"]] == ["sms", "call", "email"]
    done = pass_mfa(journey, "sms")
    assert isinstance(done, Completed)
    assert done.authentication.user_object_id == account.object_id
    assert done.authentication.new_user is True
    assert done.authentication.amr == ["pwd", "sms", "mfa"]
    assert account.phone == {"number": MOBILE_E164, "type": "mobile"}


def test_the_link_followed_elsewhere_carries_the_waiting_page_on_by_itself():
    journey = blue_badge_sign_up()
    journey.services.follow_link(reference(journey))

    shown = journey.executor.show(journey.progress, AUTH_TIME)

    assert isinstance(shown, Page) and shown.step_id == "mfa"
    assert journey.context[keys.USER_OBJECT_ID] == journey.services.accounts[JENNY].object_id


def test_resend_activation_email_waits_for_its_cooldown():
    journey = blue_badge_sign_up()
    journey.services.clock.advance(seconds=15)

    journey.press("resend")
    assert journey.page.errors == {
        "resend": "Wait 45 seconds, then select 'Resend activation email'"
    }
    assert len(emailed(journey, "activation")) == 1

    journey.services.clock.advance(seconds=45)
    journey.press("resend")
    assert not journey.page.errors and journey.page.values["resent"] is True
    assert len(emailed(journey, "activation")) == 2


def test_blue_badge_sign_up_for_a_taken_address_emails_its_owner_and_shows_the_same_page():
    taken = FakeServices()
    taken.add(JENNY)
    registered = blue_badge_sign_up(JENNY, taken)
    new = blue_badge_sign_up("someone.new@example.com")

    assert registered.services.emails == [("already_registered", JENNY, {"provider": ""})]
    assert len(taken.accounts) == 1
    assert registered.page.step_id == new.page.step_id == "activate"
    assert without(registered.page.values, "email") == without(new.page.values, "email")
    registered.press("continue")
    new.press("continue")
    assert registered.page.errors["continue"] == new.page.errors["continue"].replace(
        "someone.new@example.com", JENNY
    )


def test_a_social_address_counts_as_taken_and_gets_no_local_account():
    taken = FakeServices()
    social = taken.add(JENNY, route="google")
    journey = blue_badge_sign_up(JENNY, taken)

    assert taken.emails == [("already_registered", JENNY, {"provider": "google"})]
    assert journey.page.step_id == "activate" and not journey.page.errors
    assert taken.follow_link(reference(journey)) is None
    assert taken.accounts == {JENNY: social} and social.route == "google"
    journey.press("continue")
    assert journey.page.errors["continue"].startswith("Your account is not active yet")


def test_an_address_taken_before_the_link_is_followed_gets_no_second_account():
    journey = blue_badge_sign_up()
    first = journey.services.add(JENNY)  # signed up another way meanwhile

    assert journey.services.follow_link(reference(journey)) is None

    assert journey.services.accounts == {JENNY: first}
    journey.press("continue")
    assert journey.page.step_id == "activate" and keys.USER_OBJECT_ID not in journey.context


def test_a_failed_activation_email_can_be_resent_at_once():
    services = FakeServices()
    services.email_down = True
    journey = blue_badge_sign_up(JENNY, services)
    assert journey.page.values["not_sent"] is True and journey.page.values["resend_in"] == 0

    services.email_down = False
    journey.press("resend")

    assert not journey.page.errors and journey.page.values["resent"] is True
    assert services.emails == [("activation", JENNY, {"reference": reference(journey)})]


def test_a_blue_badge_password_reset_does_not_take_the_same_email_as_its_second_factor():
    services = FakeServices()
    services.give_phone(services.add(JENNY, "Old-Password-77")).consents.append("2025-01")
    journey = Journey(shipped(BLUE_BADGE), services)
    journey.press("password_reset", email=JENNY)
    journey.press("send", email=JENNY)
    journey.press("verify", code=journey.code_sent_to(JENNY))
    assert journey.page.step_id == "reset_mfa"

    assert "email" not in [o["method"] for o in journey.page.values["options"]]


# -- privacy consent ---------------------------------------------------------------------

PRIVACY = {"id": "privacy", "order": 950, "type": "privacy_consent",
           "settings": {"privacy_version": "2025-04"}}


def signed_in_with_consent(version: str | None) -> Journey:
    services = FakeServices()
    account = services.add(JENNY, NEW_PASSWORD)
    if version:
        account.consents.append(version)
    journey = Journey(inline(PRIVACY), services)
    journey.press(email=JENNY, password=NEW_PASSWORD)
    return journey


@pytest.mark.parametrize("agreed", ["2024-01", None])
def test_privacy_consent_is_asked_when_the_version_agreed_is_not_the_current_one(agreed):
    journey = signed_in_with_consent(agreed)
    assert journey.page.step_id == "privacy" and journey.page.values["privacy_consent"] is False

    done = journey.press(privacy_consent="yes")

    assert isinstance(done, Completed)
    account = journey.services.accounts[JENNY]
    assert account.consents[-1] == "2025-04"


def test_privacy_consent_passes_straight_through_when_the_current_version_was_agreed():
    journey = signed_in_with_consent("2025-04")
    assert isinstance(journey.outcome, Completed)


def test_continue_without_ticking_the_privacy_box_names_the_field():
    journey = signed_in_with_consent("2024-01")
    journey.press()
    assert "privacy_consent" in journey.page.errors


# -- form fields -------------------------------------------------------------------------


def form_journey(fields: list[str], **settings: Any) -> Journey:
    return Journey(inline({"id": "details", "order": 100, "type": "collect_claims",
                           "settings": {"fields": fields, **settings}}))


@pytest.mark.parametrize(("password", "message"), [
    ("Tq7#mZ", "Password must be at least 8 characters long"),
    ("tq7mzp2vlrose", "Password must have at least 3 of"),
    ("Jenny-Tq7#mZp", "Password must not contain your name or email address"),
])
def test_a_password_breaking_a_rule_is_refused_naming_the_rule(password, message):
    journey = form_journey(["given_name", "password"])
    journey.fill({"given_name": "Jenny", **passwords(password)})
    assert journey.page.errors["password"].startswith(message)
    assert "password" not in journey.page.values


@pytest.mark.parametrize(("confirm", "message"), [
    ("", "Enter the password again to confirm it"),
    (NEW_PASSWORD + "!", "The passwords do not match. Enter the same password twice"),
])
def test_the_password_must_be_entered_twice_the_same(confirm, message):
    journey = form_journey(["password"])
    journey.fill({"password": NEW_PASSWORD, "password-confirm": confirm})
    assert journey.page.errors == {"password-confirm": message}


def test_a_good_password_is_kept_only_as_its_hash():
    journey = form_journey(["password"])
    journey.fill(passwords())
    assert journey.page.step_id == "signin"
    assert journey.context[keys.PASSWORD_HASH] == "hash:" + NEW_PASSWORD
    assert NEW_PASSWORD not in str(without(journey.context, keys.PASSWORD_HASH))


@pytest.mark.parametrize(("day", "month", "year", "message"), [
    ("", "3", "1985", "Date of birth must include a day"),
    ("27", "", "1985", "Date of birth must include a month"),
    ("27", "3", "", "Date of birth must include a year"),
    ("31", "2", "1985", "Date of birth must be a real date, like 27 3 1985"),
    ("27", "13", "1985", "Date of birth must be a real date, like 27 3 1985"),
    ("27", "3", "85", "Date of birth must be a real date, like 27 3 1985"),
    ("1", "1", "2030", "Date of birth must be in the past"),
    ("23", "11", "2026", "Date of birth must be in the past"),  # the clock's today
])
def test_a_date_of_birth_that_is_incomplete_unreal_or_in_the_future_is_refused(
    day, month, year, message
):
    journey = form_journey(["birthdate"])
    journey.fill({"birthdate-day": day, "birthdate-month": month, "birthdate-year": year})
    assert journey.page.errors == {"birthdate": message}
    assert journey.page.values["birthdate"] == {"day": day, "month": month, "year": year}


def test_a_real_date_of_birth_is_kept_as_an_iso_date():
    journey = form_journey(["birthdate"])
    journey.fill({"birthdate-day": "10", "birthdate-month": "1", "birthdate-year": "1983"})
    assert journey.context[keys.claim("birthdate")] == "1983-01-10"


@pytest.mark.parametrize("number", ["12345", "0116 496 000", "not a number"])
def test_a_phone_number_that_is_not_valid_is_refused(number):
    journey = form_journey(["phone_number"])
    journey.press(phone_number=number)
    assert journey.page.errors["phone_number"].startswith("Enter a mobile number in the correct")
    assert journey.page.values["phone_number"] == number


def test_a_valid_phone_number_is_kept_in_international_form():
    journey = form_journey(["phone_number"])
    journey.press(phone_number="07759 140004")
    assert journey.context[keys.claim("phone_number")] == "+447759140004"


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Enter a postcode, like LE3 9RE"),
    ("LE3", "Enter a real postcode, like LE3 9RE"),
    ("QQ1 1AA", "Enter a real postcode, like LE3 9RE"),
    ("le1 1aa", "We could not find any addresses for LE1 1AA"),
])
def test_find_address_with_a_bad_or_unknown_postcode_names_the_postcode_field(typed, message):
    journey = form_journey(["given_name", "address"])
    journey.fill({"given_name": "Jenny", "address-postcode": typed}, action="find_address")
    assert journey.page.errors["address-postcode"].startswith(message)
    assert journey.page.values["given_name"] == "Jenny"  # what was typed stays
    assert journey.page.values["address"]["mode"] == "lookup"


def test_a_failed_lookup_offers_manual_entry_with_its_message():
    journey = form_journey(["address"])
    journey.services.address_service_down = True

    journey.fill({"address-postcode": "le3 9re"}, action="find_address")

    assert journey.page.errors == {"address-line1": LOOKUP_FAILED_MESSAGE}
    assert journey.page.values["address"]["mode"] == "manual"
    assert journey.page.values["address"]["manual"] == {"postcode": "LE3 9RE"}


def test_find_address_lists_the_addresses_and_one_is_chosen():
    journey = form_journey(["address"])
    journey.fill({"address-postcode": "LE39RE"}, action="find_address")
    view = journey.page.values["address"]
    assert view["mode"] == "choose" and view["postcode"] == "LE3 9RE"
    assert len(view["results"]) > 1 and not journey.page.errors

    journey.fill({})
    assert journey.page.errors == {"address-choice": "Select your address from the list"}

    choice = next(i for i, a in enumerate(view["results"]) if a["line1"] == "105 Petworth Drive")
    journey.fill({"address-choice": str(choice)})
    address = journey.context[keys.claim("address")]
    assert address["postal_code"] == "LE3 9RE" and address["street_address"] == (
        "105 Petworth Drive"
    )


@pytest.mark.parametrize(("form", "field"), [
    ({"address-town": "Leicester", "address-postcode": "LE3 9RE"}, "address-line1"),
    ({"address-line1": "105 Petworth Drive", "address-postcode": "LE3 9RE"}, "address-town"),
    ({"address-line1": "105 Petworth Drive", "address-town": "Leicester",
      "address-postcode": "LE3"}, "address-postcode"),
])
def test_manual_address_entry_names_the_missing_or_wrong_part(form, field):
    journey = form_journey(["address"])
    journey.fill({}, action="manual_address")
    assert journey.page.values["address"]["mode"] == "manual"

    journey.fill(form)

    assert list(journey.page.errors) == [field]


def test_a_manual_address_is_kept_as_an_address_claim():
    journey = form_journey(["address"])
    journey.fill({}, action="manual_address")
    journey.fill({"address-line1": "105 Petworth Drive", "address-town": "Leicester",
                  "address-postcode": "le39re"})
    assert journey.context[keys.claim("address")]["formatted"] == (
        "105 Petworth Drive\nLeicester\nLE3 9RE"
    )


def test_a_required_address_left_unanswered_is_asked_for():
    journey = form_journey(["address"])
    journey.fill({})
    assert list(journey.page.errors) == ["address-postcode"]


def test_required_fields_must_be_answered_and_optional_ones_may_be_left_blank():
    optional = ["middle_name", "phone_number", "birthdate", "address"]
    journey = form_journey(["given_name", *optional], optional=optional)
    required = {f["name"]: f["required"] for f in journey.page.values["fields"]}
    assert required == {"given_name": True, **dict.fromkeys(optional, False)}

    journey.fill({})
    assert journey.page.errors == {"given_name": "Enter your given name"}

    journey.fill({"given_name": "Jenny"})
    assert journey.page.step_id == "signin"
    assert journey.context[keys.claim("given_name")] == "Jenny"
    assert journey.context[keys.claim("middle_name")] is None


def test_a_renamed_label_is_used_in_the_message():
    journey = form_journey(["given_name"], labels={"given_name": "Forename"})
    journey.fill({})
    assert journey.page.errors == {"given_name": "Enter your forename"}


def test_the_review_page_does_not_flag_the_privacy_box_as_a_blank_detail():
    journey = Journey(
        inline({"id": "review", "order": 100, "type": "review_details",
                "settings": {"fields": ["given_name", "privacy_consent"],
                             "privacy_version": "2025-04"}}),
        context={keys.claim("given_name"): "Jenny",
                 keys.PRIVACY_CONSENT: {"version": "2025-04", "at": 0}},
    )
    assert journey.page.values["privacy_consent"] is True
    assert journey.page.values["blanks"] == []


# -- a signed-in person's profile --------------------------------------------------------


def signed_in(
    services: FakeServices, account: Any, amr: tuple[str, ...] = ("pwd", "sms", "mfa")
) -> dict[str, Any]:
    """The context a journey starts with when the browser's session knows the person
    (by default, a session that passed a second factor)."""
    return {
        **{keys.claim(k): v for k, v in services.load_claims(account.object_id).items()},
        keys.USER_OBJECT_ID: account.object_id,
        keys.ROUTE: "local",
        keys.AMR: list(amr),
        keys.AUTH_TIME: 1_700_000_000,
        keys.SESSION_SID: "session-1",
    }


def test_profile_edit_skips_sign_in_for_a_signed_in_person_and_saves_the_answers():
    services = FakeServices()
    account = services.add(JENNY, given_name="Jenny", family_name="Hinsen")
    journey = Journey(shipped(PROFILE_EDIT), services, signed_in(services, account))

    assert journey.page.step_id == "edit"
    assert journey.page.values["given_name"] == "Jenny"
    assert journey.page.settings["button"] == "Continue"
    done = journey.press(given_name="Jennifer", family_name="Hinsen", title="Dr")

    assert isinstance(done, Completed)
    assert done.authentication.auth_time == 1_700_000_000
    assert done.authentication.session_sid == "session-1"
    assert done.authentication.amr == ["pwd", "sms", "mfa"]
    assert account.claims["given_name"] == "Jennifer" and account.claims["title"] == "Dr"


def test_profile_edit_asks_a_session_without_a_second_factor_for_one_first():
    services = FakeServices()
    account = services.give_phone(services.add(JENNY, given_name="Jenny", family_name="Hinsen"))
    journey = Journey(shipped(PROFILE_EDIT), services,
                      signed_in(services, account, amr=("pwd",)))
    assert journey.page.step_id == "mfa"
    assert [o["method"] for o in journey.page.values["options"]] == ["sms", "call", "email"]

    pass_mfa(journey, "email")

    assert journey.page.step_id == "edit"
    assert journey.context[keys.AMR] == ["pwd", "email", "mfa"]


def test_profile_edit_asks_someone_not_signed_in_to_sign_in_first():
    services = FakeServices()
    services.give_phone(services.add(JENNY, NEW_PASSWORD, given_name="Jenny", family_name="Hinsen"))
    journey = Journey(shipped(PROFILE_EDIT), services)
    assert journey.page.step_id == "signin"

    journey.press(email=JENNY, password=NEW_PASSWORD)
    pass_mfa(journey)

    assert journey.page.step_id == "edit" and journey.page.values["given_name"] == "Jenny"


# -- signing in: single sign-on, and a new sign-in replacing what went before -------------


def test_a_person_the_session_knows_passes_the_sign_in_page_straight_through():
    services = FakeServices()
    account = services.add(JENNY)
    journey = Journey(inline(), services, signed_in(services, account))

    done = journey.outcome

    assert isinstance(done, Completed)
    assert done.authentication.user_object_id == account.object_id
    assert done.authentication.auth_time == 1_700_000_000
    assert done.authentication.session_sid == "session-1"


def test_a_known_person_who_chose_a_link_still_gets_the_sign_in_page():
    services = FakeServices()
    account = services.add(JENNY)
    context = {**signed_in(services, account), keys.CHOICE: "sign_up"}
    journey = Journey(inline(), services, context)
    assert journey.page.step_id == "signin"


def test_signing_in_replaces_earlier_claims_with_the_accounts_and_starts_a_new_session():
    services = FakeServices()
    services.add(JENNY, NEW_PASSWORD, given_name="Jenny")
    before = {keys.claim("given_name"): "Someone", keys.claim("middle_name"): "Typed",
              keys.AUTH_TIME: 1_700_000_000, keys.SESSION_SID: "someone-elses-session"}
    journey = Journey(inline(), services, before)

    done = journey.press(email=JENNY, password=NEW_PASSWORD)

    assert isinstance(done, Completed)
    assert keys.claims_in(journey.context) == {"email": JENNY, "given_name": "Jenny"}
    assert done.authentication.auth_time == int(services.now().timestamp())
    assert done.authentication.session_sid is None


def test_a_signed_in_persons_answers_are_saved_before_the_journey_ends():
    services = FakeServices()
    account = services.add(JENNY, given_name="Jenny")
    journey = Journey(
        inline({"id": "edit", "order": 100, "type": "edit_profile",
                "settings": {"fields": ["given_name"]}},
               {"id": "more", "order": 200, "type": "collect_claims",
                "settings": {"fields": ["middle_name"]}}),
        services,
        signed_in(services, account),
    )

    journey.press(given_name="Jennifer")

    assert journey.page.step_id == "more"
    assert account.claims["given_name"] == "Jennifer"


def test_a_newcomers_answers_wait_in_the_journey_for_the_account():
    journey = form_journey(["given_name"])
    journey.press(given_name="Jenny")
    assert journey.context[keys.claim("given_name")] == "Jenny"
    assert journey.services.accounts == {}
