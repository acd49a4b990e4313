"""The second-factor steps (idp/journeys/steps/mfa.py) through the executor with
FakeServices, no HTTP: phone enrolment, the choice of method, codes by text, call and
email, their limits and the timed block, provider failures, authenticator apps with
recovery codes, and a change of phone number. Time moves only when a test moves
FakeServices' clock."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from idp.journeys import context as keys
from idp.journeys.policy import Policy, parse_policy
from idp.journeys.results import Completed, Page
from tests.fakes import Account, FakeServices
from tests.test_steps import (
    AUTH_TIME,
    BLUE_BADGE,
    JENNY,
    MOBILE,
    MOBILE_E164,
    NEW_PASSWORD,
    PARENT,
    Journey,
    security_code,
    shipped,
    signed_in,
)

LANDLINE = "0116 496 0000"
LANDLINE_E164 = "+441164960000"
NEW_MOBILE = "07911 123456"
NEW_MOBILE_E164 = "+447911123456"
PHONE_CHANGE = "B2C_1_phone_change"
APP_SETUP = "B2C_1_authenticator_setup"


def mfa_policy(**settings: Any) -> Policy:
    """Sign in, then an ``mfa`` step with these settings."""
    return parse_policy(
        {
            "id": "B2C_1_mfa_test",
            "steps": [
                {"id": "signin", "order": 100, "type": "signin_page"},
                {"id": "mfa", "order": 200, "type": "mfa", "settings": settings},
            ],
        },
        "policies/test.toml",
    )


def person(services: FakeServices, phone: str | None = None, kind: str = "mobile") -> Account:
    """Jenny, with every detail the shipped policies ask for, and a proven phone if given."""
    account = services.accounts.get(JENNY) or services.add(
        JENNY, NEW_PASSWORD, title="Mrs", given_name="Jenny", family_name="Hinsen"
    )
    account.consents.append("2025-01")  # the Blue Badge privacy version
    if phone:
        services.give_phone(account, phone, kind)
    return account


def signed_in_at_mfa(policy: Policy, services: FakeServices) -> Journey:
    """A journey of ``policy`` after "Sign in" with Jenny's password, at its mfa page."""
    journey = Journey(policy, services)
    journey.press(email=JENNY, password=NEW_PASSWORD)
    assert journey.page.step_id == "mfa", journey.page
    return journey


def enrolling(**settings: Any) -> Journey:
    """Jenny has no phone yet: the mfa page asks for one."""
    services = FakeServices()
    person(services)
    journey = signed_in_at_mfa(mfa_policy(**settings), services)
    assert journey.page.values["phase"] == "enrol"
    return journey


def returning(policy_id: str = PARENT, services: FakeServices | None = None) -> Journey:
    """Jenny, with a proven mobile, signs in to a shipped policy and reaches its mfa page."""
    services = services or FakeServices()
    person(services, MOBILE_E164)
    return signed_in_at_mfa(shipped(policy_id), services)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def phase(journey: Journey) -> str:
    return str(journey.page.values["phase"])


def account_of(journey: Journey) -> Account:
    return journey.services.accounts[JENNY]


def events(journey: Journey) -> list[str]:
    return [event for event, _who in journey.services.audited]


def text_code(journey: Journey) -> str:
    return security_code(journey.services, "sms")


# -- enrolling a phone ("Country Code", "Phone Number", "Send Code") ----------------------


def test_enrolment_asks_for_a_country_code_set_to_the_united_kingdom_and_a_phone_number():
    journey = enrolling()

    values = journey.page.values
    assert values["country"] == "GB" and values["phone"] == ""
    assert values["countries"][0] == ("GB", "United Kingdom (+44)")
    assert ("FR", "France (+33)") in values["countries"]
    assert values["offer_sms"] and values["offer_call"]
    assert journey.page.template == "steps/mfa.html" and not journey.page.errors


def test_a_mobile_number_gets_a_text_message_and_no_call():
    journey = enrolling()

    journey.press("send", country="GB", phone=MOBILE)

    [(to, body, data)] = journey.services.texts
    assert to == MOBILE_E164 and re.fullmatch(r"\d{6}", data["code"])
    assert body == f"Your security code is {data['code']}. It works for 10 minutes."
    assert journey.services.calls == []
    values = journey.page.values
    assert (values["phase"], values["method"], values["to"]) == ("code", "sms", "07*** ***004")
    assert values["seconds_left"] == 600 and values["enrolling"] is True
    assert values["other_ways"] is False  # no other method until a phone is proven


def test_a_landline_gets_a_phone_call_that_says_the_code():
    journey = enrolling()

    journey.press("send", country="GB", phone=LANDLINE)

    [(to, code)] = journey.services.calls
    assert to == LANDLINE_E164 and re.fullmatch(r"\d{6}", code)
    assert journey.services.texts == []
    assert journey.page.values["method"] == "call"


def test_the_country_code_defaults_to_the_united_kingdom_when_none_is_sent():
    journey = enrolling()
    journey.press("send", phone=MOBILE)
    assert journey.services.texts[0][0] == MOBILE_E164


def test_a_number_from_another_country_is_read_with_its_country_code():
    journey = enrolling()
    journey.press("send", country="FR", phone="06 12 34 56 78")
    assert journey.services.texts[0][0] == "+33612345678"


@pytest.mark.parametrize(("number", "delivery", "texted", "called"), [
    (MOBILE, "call", False, True),
    (MOBILE, "sms", True, False),
    (LANDLINE, "call", False, True),
])
def test_the_person_may_choose_a_text_or_a_call_instead(number, delivery, texted, called):
    journey = enrolling()

    journey.press("send", country="GB", phone=number, delivery=delivery)

    assert bool(journey.services.texts) is texted and bool(journey.services.calls) is called
    assert journey.page.values["method"] == delivery and phase(journey) == "code"


def test_texting_a_landline_is_refused_with_a_message_and_nothing_is_sent():
    journey = enrolling()

    journey.press("send", country="GB", phone=LANDLINE, delivery="sms")

    assert journey.page.errors == {
        "delivery": "This looks like a landline, which cannot get text messages. "
        "Choose a phone call"
    }
    assert phase(journey) == "enrol" and journey.page.values["phone"] == LANDLINE
    assert journey.services.texts == journey.services.calls == []


@pytest.mark.parametrize(("country", "number", "message"), [
    ("GB", "", "Enter your phone number"),
    ("GB", "   ", "Enter your phone number"),
    ("GB", "12345", "Enter a real phone number for the country code you chose"),
    ("GB", "0116 496 000", "Enter a real phone number for the country code you chose"),
    ("GB", "not a number", "Enter a real phone number for the country code you chose"),
    ("FR", MOBILE, "Enter a real phone number for the country code you chose"),
    ("ZZ", MOBILE, "Select your country code"),
])
def test_a_phone_number_that_is_missing_or_not_real_is_named_and_nothing_is_sent(
    country, number, message
):
    journey = enrolling()

    journey.press("send", country=country, phone=number)

    assert list(journey.page.errors) == ["phone"]
    assert journey.page.errors["phone"].startswith(message)
    assert phase(journey) == "enrol" and journey.page.values["phone"] == number
    assert journey.services.texts == journey.services.calls == []


def test_verify_code_with_the_right_code_passes_and_saves_the_phone_as_the_accounts():
    journey = enrolling()
    journey.press("send", country="GB", phone=MOBILE)

    done = journey.press("verify", code=text_code(journey))

    assert isinstance(done, Completed)
    assert done.authentication.amr == ["pwd", "sms", "mfa"]
    account = account_of(journey)
    assert account.phone == {"number": MOBILE_E164, "type": "mobile"}
    assert account.claims["phone_number"] == MOBILE_E164
    assert journey.context[keys.claim("phone_number")] == MOBILE_E164
    assert journey.context[keys.MFA_CODE] is None and journey.context[keys.MFA_PHONE] is None
    assert ("mfa.enrolled", account.object_id) in journey.services.audited
    assert events(journey)[-1] == "mfa.passed"


def test_a_landline_proven_by_a_call_is_recorded_as_tel():
    journey = enrolling()
    journey.press("send", country="GB", phone=LANDLINE)

    done = journey.press("verify", code=security_code(journey.services, "call"))

    assert isinstance(done, Completed) and done.authentication.amr == ["pwd", "tel", "mfa"]
    assert account_of(journey).phone == {"number": LANDLINE_E164, "type": "landline"}


def test_a_mobile_proven_by_a_call_keeps_its_type_as_mobile():
    journey = enrolling()
    journey.press("send", country="GB", phone=MOBILE, delivery="call")

    done = journey.press("verify", code=security_code(journey.services, "call"))

    assert isinstance(done, Completed) and done.authentication.amr == ["pwd", "tel", "mfa"]
    assert account_of(journey).phone == {"number": MOBILE_E164, "type": "mobile"}


def test_change_phone_number_during_enrolment_goes_back_and_the_old_code_stops_working():
    journey = enrolling()
    journey.press("send", country="GB", phone=NEW_MOBILE)  # the wrong number, say
    old = text_code(journey)

    journey.press("change_phone")

    assert phase(journey) == "enrol" and not journey.page.errors
    assert journey.page.values["phone"] == NEW_MOBILE  # what was typed, to correct
    journey.press("send", country="GB", phone=MOBILE)
    assert [to for to, _body, _data in journey.services.texts] == [NEW_MOBILE_E164, MOBILE_E164]
    new = text_code(journey)
    if old != new:
        journey.press("verify", code=old)
        assert journey.page.errors["code"].startswith("The code is not right")
    done = journey.press("verify", code=new)
    assert isinstance(done, Completed)
    assert account_of(journey).phone == {"number": MOBILE_E164, "type": "mobile"}


def test_an_empty_code_is_asked_for_without_counting_an_attempt():
    journey = enrolling()
    journey.press("send", country="GB", phone=MOBILE)

    journey.press("verify", code=" ")

    assert journey.page.errors == {"code": "Enter the 6-digit code"}
    assert journey.context[keys.MFA_CODE]["record"]["attempts"] == 0


def test_the_code_is_kept_only_as_a_hash_in_the_journey():
    journey = enrolling()
    journey.press("send", country="GB", phone=MOBILE)
    assert text_code(journey) not in repr(journey.context)


# -- choosing a method (the Blue Badge: text, call or email, every sign-in) ---------------


def test_several_methods_give_a_choice_each_saying_where_the_code_goes():
    journey = returning(BLUE_BADGE)

    assert phase(journey) == "choose"
    assert journey.page.values["options"] == [
        {"method": "sms", "to": "07*** ***004"},
        {"method": "call", "to": "07*** ***004"},
        {"method": "email", "to": "j***@outlook.com"},
    ]
    assert journey.services.texts == journey.services.calls == journey.services.emails == []


def test_continuing_without_choosing_a_method_names_the_choice():
    journey = returning(BLUE_BADGE)
    journey.press("choose")
    assert journey.page.errors == {"method": "Select how you want to get your security code"}


def test_a_method_the_policy_does_not_allow_cannot_be_chosen():
    journey = returning(PARENT)  # sms and call only
    journey.press("choose", method="email")
    assert list(journey.page.errors) == ["method"] and journey.services.emails == []


@pytest.mark.parametrize(("method", "amr"), [
    ("sms", ["pwd", "sms", "mfa"]),
    ("call", ["pwd", "tel", "mfa"]),
    ("email", ["pwd", "email", "mfa"]),
])
def test_each_blue_badge_method_works_end_to_end(method, amr):
    journey = returning(BLUE_BADGE)
    services = journey.services

    journey.press("choose", method=method)

    assert phase(journey) == "code" and journey.page.values["method"] == method
    # The guide's 30 seconds; a call, which must ring and be listened to, gets 120.
    assert journey.page.values["seconds_left"] == (120 if method == "call" else 30)
    sent = {"sms": services.texts, "call": services.calls,
            "email": [e for e in services.emails if e[0] == "security_code"]}
    assert {m: len(s) for m, s in sent.items()} == {m: int(m == method) for m in sent}
    if method == "email":
        assert services.emails[0][1] == JENNY and services.emails[0][2]["minutes"] == "30 seconds"
    done = journey.press("verify", code=security_code(services, method))
    assert isinstance(done, Completed), journey.page.errors
    assert done.authentication.amr == amr
    assert account_of(journey).phone == {"number": MOBILE_E164, "type": "mobile"}


def test_one_method_needs_no_choice_and_send_code_sends_it():
    services = FakeServices()
    person(services, MOBILE_E164)
    journey = signed_in_at_mfa(mfa_policy(methods=["sms"]), services)
    assert journey.page.values["options"] == [{"method": "sms", "to": "07*** ***004"}]

    journey.press("choose")

    assert phase(journey) == "code" and len(services.texts) == 1


def test_try_another_way_returns_to_the_choice_and_another_method_works():
    journey = returning(BLUE_BADGE)
    journey.press("choose", method="sms")
    assert journey.page.values["other_ways"] is True
    text = text_code(journey)

    journey.press("another_way")

    assert phase(journey) == "choose" and journey.context[keys.MFA_CODE] is None
    journey.press("choose", method="email")
    emailed = security_code(journey.services, "email")
    if text != emailed:
        journey.press("verify", code=text)  # the text's code went with the text
        assert journey.page.errors["code"].startswith("The code is not right")
    done = journey.press("verify", code=emailed)
    assert isinstance(done, Completed)
    assert done.authentication.amr == ["pwd", "email", "mfa"]


# -- a code's lifetime, single use, wrong tries and resending -----------------------------


@pytest.mark.parametrize(("seconds", "works"), [(29, True), (30, False)])
def test_a_blue_badge_code_works_for_30_seconds(seconds, works):
    journey = returning(BLUE_BADGE)
    journey.press("choose", method="sms")
    journey.services.clock.advance(seconds=seconds)

    outcome = journey.press("verify", code=text_code(journey))

    if works:
        assert isinstance(outcome, Completed)
    else:
        assert journey.page.errors == {
            "code": "The code has expired. Select 'Send a new code' to get another"
        }
        assert journey.page.values["seconds_left"] == 0


def test_an_expired_code_is_replaced_by_send_a_new_code():
    journey = returning(BLUE_BADGE)
    journey.press("choose", method="sms")
    journey.services.clock.advance(seconds=30)

    journey.press("resend")

    assert not journey.page.errors and len(journey.services.texts) == 2
    assert journey.page.values["seconds_left"] == 30
    assert isinstance(journey.press("verify", code=text_code(journey)), Completed)


def test_a_used_code_does_not_work_at_the_next_sign_in():
    services = FakeServices()
    first = returning(BLUE_BADGE, services)
    first.press("choose", method="sms")
    used = text_code(first)
    assert isinstance(first.press("verify", code=used), Completed)

    second = signed_in_at_mfa(shipped(BLUE_BADGE), services)
    second.press("choose", method="sms")
    fresh = text_code(second)

    if fresh != used:
        second.press("verify", code=used)
        assert second.page.errors["code"].startswith("The code is not right")
    assert isinstance(second.press("verify", code=fresh), Completed)


def test_a_used_code_does_not_prove_a_new_phone():
    journey = returning(PHONE_CHANGE)
    journey.press("choose", method="sms")
    used = text_code(journey)
    journey.press("verify", code=used)
    assert journey.page.step_id == "new_phone"
    journey.press("send", country="GB", phone=NEW_MOBILE)
    fresh = text_code(journey)

    if fresh != used:
        journey.press("verify", code=used)
        assert journey.page.errors["code"].startswith("The code is not right")
    assert account_of(journey).phone == {"number": MOBILE_E164, "type": "mobile"}


def test_replaying_the_verify_form_after_mfa_passed_changes_nothing():
    journey = returning(PHONE_CHANGE)
    journey.press("choose", method="sms")
    used = text_code(journey)
    journey.press("verify", code=used)
    amr = list(journey.context[keys.AMR])

    replayed = journey.executor.submit(
        journey.progress, "mfa", {"action": "verify", "code": used}, AUTH_TIME
    )

    assert isinstance(replayed, Page) and replayed.step_id == "new_phone"
    assert not replayed.errors and journey.context[keys.AMR] == amr
    assert len(journey.services.texts) == 1


def test_five_wrong_codes_refuse_even_the_right_one_until_a_new_code_is_sent():
    journey = returning(PARENT)
    journey.press("choose", method="sms")
    right = text_code(journey)
    for _ in range(4):
        journey.press("verify", code=wrong(right))
        assert journey.page.errors["code"].startswith("The code is not right")

    journey.press("verify", code=wrong(right))
    assert journey.page.errors["code"].startswith("You have entered a wrong code too many times")
    journey.press("verify", code=right)
    assert journey.page.errors["code"].startswith("You have entered a wrong code too many times")
    assert events(journey).count("mfa.code_wrong") == 6

    journey.services.clock.advance(seconds=30)
    journey.press("resend")
    assert isinstance(journey.press("verify", code=text_code(journey)), Completed)


def test_send_a_new_code_within_the_cool_down_is_refused_naming_the_wait():
    journey = returning(PARENT)
    journey.press("choose", method="sms")
    journey.services.clock.advance(seconds=10)
    assert journey.page.values["phase"] == "code"

    journey.press("resend")

    assert journey.page.errors == {"code": "Wait 20 seconds, then select 'Send a new code'"}
    assert journey.page.values["resend_in"] == 20
    assert len(journey.services.texts) == 1
    # The code already sent still works.
    assert isinstance(journey.press("verify", code=text_code(journey)), Completed)


def test_send_a_new_code_after_the_cool_down_sends_one_and_only_it_works():
    journey = returning(PARENT)
    journey.press("choose", method="sms")
    first = text_code(journey)
    journey.services.clock.advance(seconds=30)

    journey.press("resend")

    assert not journey.page.errors and len(journey.services.texts) == 2
    second = text_code(journey)
    if first != second:
        journey.press("verify", code=first)
        assert "code" in journey.page.errors
    assert isinstance(journey.press("verify", code=second), Completed)


# -- too many codes: a timed block, and its end -------------------------------------------


def blocked_after_too_many_sends() -> Journey:
    """The Parent Portal's defaults: 10 codes, 30 s apart, then the 11th request blocks."""
    journey = returning(PARENT)
    journey.press("choose", method="sms")
    for _ in range(9):
        journey.services.clock.advance(seconds=30)
        journey.press("resend")
        assert not journey.page.errors
    assert len(journey.services.texts) == 10
    journey.services.clock.advance(seconds=30)
    journey.press("resend")
    return journey


def test_more_codes_than_max_sends_block_second_factors_for_a_time():
    journey = blocked_after_too_many_sends()
    account = account_of(journey)

    assert phase(journey) == "blocked" and not journey.page.errors
    until = journey.services.now() + timedelta(seconds=900)
    assert account.blocked_until == until
    assert journey.page.values["until"] == until.strftime("%H:%M:%S UTC")
    assert len(journey.services.texts) == 10
    assert ("mfa.blocked", account.object_id) in journey.services.audited
    assert journey.context[keys.MFA_CODE] is None


@pytest.mark.parametrize("form", [
    {"action": "verify", "code": "123456"},
    {"action": "resend"},
    {"action": "continue"},
    {"action": "choose", "method": "sms"},
])
def test_while_blocked_every_action_shows_the_block(form):
    journey = blocked_after_too_many_sends()
    journey.services.clock.advance(seconds=899)

    journey.press(**form)

    assert phase(journey) == "blocked" and len(journey.services.texts) == 10


def test_the_block_holds_for_a_new_sign_in_too():
    journey = blocked_after_too_many_sends()
    again = signed_in_at_mfa(shipped(PARENT), journey.services)
    assert phase(again) == "blocked"


def test_when_the_block_ends_try_again_starts_afresh_and_a_code_works():
    journey = blocked_after_too_many_sends()
    journey.services.clock.advance(seconds=900)

    journey.press("continue")

    assert phase(journey) == "choose" and not journey.page.errors
    journey.press("choose", method="sms")
    assert len(journey.services.texts) == 11
    assert isinstance(journey.press("verify", code=text_code(journey)), Completed)


# -- a provider that cannot send ----------------------------------------------------------


@pytest.mark.parametrize(("down", "method"), [("sms_down", "sms"), ("voice_down", "call")])
def test_a_provider_failure_stays_on_the_choice_with_a_message_and_email_still_works(
    down, method
):
    journey = returning(BLUE_BADGE)
    setattr(journey.services, down, True)

    journey.press("choose", method=method)

    assert phase(journey) == "choose"
    assert journey.page.errors["method"].startswith("We could not send your code just now")
    assert journey.context.get(keys.MFA_CODE) is None
    assert "mfa.send_failed" in events(journey)
    journey.press("choose", method="email")
    done = journey.press("verify", code=security_code(journey.services, "email"))
    assert isinstance(done, Completed) and done.authentication.amr == ["pwd", "email", "mfa"]


def test_a_failed_resend_keeps_the_code_page_with_try_another_way():
    journey = returning(BLUE_BADGE)
    journey.press("choose", method="sms")
    journey.services.sms_down = True
    journey.services.clock.advance(seconds=30)

    journey.press("resend")

    assert phase(journey) == "code" and journey.page.values["other_ways"] is True
    assert journey.page.errors["code"].startswith("We could not send your code just now")
    journey.press("another_way")
    journey.press("choose", method="email")
    assert isinstance(
        journey.press("verify", code=security_code(journey.services, "email")), Completed
    )


def test_an_email_failure_leaves_text_and_call_to_choose():
    journey = returning(BLUE_BADGE)
    journey.services.email_down = True

    journey.press("choose", method="email")

    assert phase(journey) == "choose" and "method" in journey.page.errors
    journey.press("choose", method="sms")
    assert isinstance(journey.press("verify", code=text_code(journey)), Completed)


def test_a_text_that_cannot_go_during_enrolment_can_go_as_a_call_instead():
    journey = enrolling()
    journey.services.sms_down = True

    journey.press("send", country="GB", phone=MOBILE)

    assert phase(journey) == "enrol"
    assert journey.page.errors["phone"].startswith("We could not send your code just now")
    journey.press("send", country="GB", phone=MOBILE, delivery="call")
    done = journey.press("verify", code=security_code(journey.services, "call"))
    assert isinstance(done, Completed) and done.authentication.amr == ["pwd", "tel", "mfa"]


# -- once per session (mfa_done) or at every sign-in --------------------------------------


def session_journey(policy_id: str, amr: tuple[str, ...]) -> Journey:
    services = FakeServices()
    account = person(services, MOBILE_E164)
    return Journey(shipped(policy_id), services, signed_in(services, account, amr))


def test_the_parent_portal_asks_once_per_session_so_a_session_with_mfa_passes_through():
    journey = session_journey(PARENT, ("pwd", "sms", "mfa"))
    assert isinstance(journey.outcome, Completed)
    assert journey.outcome.authentication.amr == ["pwd", "sms", "mfa"]
    assert journey.services.texts == []


def test_the_parent_portal_asks_a_session_that_has_not_passed_mfa():
    journey = session_journey(PARENT, ("pwd",))
    assert journey.page.step_id == "mfa" and phase(journey) == "choose"


def test_the_blue_badge_asks_at_every_sign_in_even_after_mfa_in_this_session():
    journey = session_journey(BLUE_BADGE, ("pwd", "sms", "mfa"))
    assert journey.page.step_id == "mfa" and phase(journey) == "choose"

    journey.press("choose", method="email")
    done = journey.press("verify", code=security_code(journey.services, "email"))

    assert isinstance(done, Completed)
    assert done.authentication.amr == ["pwd", "sms", "email", "mfa"]


# -- nothing gets past the second factor without a right code -----------------------------


@pytest.mark.parametrize("form", [
    {},
    {"action": "verify", "code": "123456"},
    {"action": "verify"},
    {"action": "app_verify", "code": "123456"},
    {"action": "recovery", "recovery_code": "abcde-fghjk"},
    {"action": "continue"},
    {"action": "resend"},
    {"action": "another_way"},
    {"action": "choose", "method": "app"},
])
def test_no_action_at_the_mfa_page_passes_it_without_a_right_code(form):
    journey = returning(PARENT)
    journey.press(**form)
    assert journey.page.step_id == "mfa"
    assert keys.AMR in journey.context and "mfa" not in journey.context[keys.AMR]


def test_a_form_for_a_later_step_shows_the_mfa_page_instead():
    journey = returning(PARENT)

    shown = journey.executor.submit(journey.progress, "review", {"title": "Mrs"}, AUTH_TIME)

    assert isinstance(shown, Page) and shown.step_id == "mfa"


# -- authenticator apps --------------------------------------------------------------------


def app_setup_journey(services: FakeServices) -> Journey:
    """The set-up policy for Jenny, whose session passed a second factor already."""
    account = person(services, MOBILE_E164)
    return Journey(shipped(APP_SETUP), services, signed_in(services, account))


def set_up_app(services: FakeServices) -> tuple[str, list[str]]:
    """Set up Jenny's app through the set-up policy: its secret and recovery codes."""
    journey = app_setup_journey(services)
    secret = journey.page.values["secret"].replace(" ", "")
    journey.press("verify", code=pyotp.TOTP(secret).at(services.now()))
    codes = list(journey.page.values["recovery_codes"])
    assert isinstance(journey.press("continue"), Completed)
    return secret, codes


def at_app_code(services: FakeServices) -> Journey:
    """A sign-in whose mfa step takes only the app, at the page asking for its code."""
    journey = signed_in_at_mfa(mfa_policy(methods=["app"]), services)
    assert journey.page.values["options"] == [{"method": "app", "to": ""}]
    journey.press("choose")
    assert phase(journey) == "app"
    return journey


def test_app_setup_shows_a_qr_code_and_the_secret_in_groups_of_four():
    services = FakeServices()
    journey = app_setup_journey(services)

    page = journey.page
    assert page.step_id == "app" and page.values["phase"] == "app_setup"
    assert page.values["qr_svg"].startswith('<svg role="img" ')
    assert "<title>QR code to add this account" in page.values["qr_svg"]
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", page.values["secret"])
    secret = page.values["secret"].replace(" ", "")
    assert journey.context[keys.MFA_APP_SECRET] == services.seal(secret)
    assert account_of(journey).app_secret is None


NOT_RIGHT = "The code is not right. Enter the code your app shows now"


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Enter the 6-digit code from your authenticator app"),
    ("12345", NOT_RIGHT),
    ("wrong!", NOT_RIGHT),
    (None, NOT_RIGHT),  # six digits, but not the app's
])
def test_app_setup_refuses_a_missing_or_wrong_code_and_saves_nothing(typed, message):
    services = FakeServices()
    journey = app_setup_journey(services)
    secret = journey.page.values["secret"].replace(" ", "")
    if typed is None:
        typed = wrong(pyotp.TOTP(secret).at(services.now()))

    journey.press("verify", code=typed)

    assert journey.page.errors == {"code": message}
    assert journey.page.values["phase"] == "app_setup"
    assert journey.page.values["secret"].replace(" ", "") == secret  # the same QR code
    assert account_of(journey).app_secret is None and services.audited == []


def test_app_setup_with_the_right_code_saves_the_app_and_shows_recovery_codes_once():
    services = FakeServices()
    journey = app_setup_journey(services)
    secret = journey.page.values["secret"].replace(" ", "")

    journey.press("verify", code=pyotp.TOTP(secret).at(services.now()))

    account = account_of(journey)
    assert account.app_secret == secret and len(account.recovery) == 10
    assert journey.page.values["phase"] == "app_recovery"
    codes = journey.page.values["recovery_codes"]
    assert len(set(codes)) == 10 and all(re.fullmatch(r"[0-9a-z]{5}-[0-9a-z]{5}", c) for c in codes)
    assert not set(codes) & set(account.recovery)  # kept only as hashes
    assert ("mfa.enrolled", account.object_id) in services.audited
    assert journey.context[keys.MFA_APP_SECRET] is None

    done = journey.press("continue")

    assert isinstance(done, Completed) and "otp" in done.authentication.amr
    assert journey.context[keys.MFA_RECOVERY_CODES] is None
    # A second visit passes straight through: the codes are not shown again.
    again = app_setup_journey(services)
    assert isinstance(again.outcome, Completed)


def test_an_app_code_passes_the_mfa_step_and_is_recorded_as_otp():
    services = FakeServices()
    secret, _codes = set_up_app(services)
    services.clock.advance(seconds=30)  # the set-up used the last step's code
    journey = at_app_code(services)

    done = journey.press("app_verify", code=pyotp.TOTP(secret).at(services.now()))

    assert isinstance(done, Completed) and done.authentication.amr == ["pwd", "otp", "mfa"]


def test_the_code_used_to_set_up_the_app_does_not_sign_in():
    services = FakeServices()
    secret, _codes = set_up_app(services)
    journey = at_app_code(services)

    journey.press("app_verify", code=pyotp.TOTP(secret).at(services.now()))

    assert journey.page.errors == {"code": NOT_RIGHT}


def test_an_app_code_is_accepted_only_once():
    services = FakeServices()
    secret, _codes = set_up_app(services)
    services.clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(services.now())
    assert isinstance(at_app_code(services).press("app_verify", code=code), Completed)

    second = at_app_code(services)
    second.press("app_verify", code=code)

    assert phase(second) == "app" and "code" in second.page.errors
    services.clock.advance(seconds=30)
    fresh = pyotp.TOTP(secret).at(services.now())
    assert isinstance(second.press("app_verify", code=fresh), Completed)


def test_a_recovery_code_passes_once_and_then_is_refused():
    services = FakeServices()
    _secret, codes = set_up_app(services)

    first = at_app_code(services)
    done = first.press("recovery", recovery_code=codes[3].upper().replace("-", " "))
    assert isinstance(done, Completed) and done.authentication.amr == ["pwd", "otp", "mfa"]
    assert len(account_of(first).recovery) == 9
    assert "mfa.recovery_code_used" in events(first)

    second = at_app_code(services)
    second.press("recovery", recovery_code=codes[3])
    assert second.page.errors == {
        "recovery_code": "That recovery code is not right, or has been used"
    }
    assert isinstance(second.press("recovery", recovery_code=codes[4]), Completed)


def test_an_app_code_is_refused_where_the_policy_does_not_allow_the_app():
    services = FakeServices()
    secret, _codes = set_up_app(services)
    services.clock.advance(seconds=30)
    journey = signed_in_at_mfa(shipped(PARENT), services)  # methods: sms, call

    outcome = journey.press("app_verify", code=pyotp.TOTP(secret).at(services.now()))

    assert not isinstance(outcome, Completed) and journey.page.step_id == "mfa"
    assert "otp" not in journey.context[keys.AMR]


# -- changing the phone number ------------------------------------------------------------


def at_new_phone(method: str = "email") -> Journey:
    """The phone-change policy: sign in, pass MFA by ``method`` (email: the phone is lost)."""
    journey = returning(PHONE_CHANGE)
    assert [o["method"] for o in journey.page.values["options"]] == ["email", "sms", "call"]
    journey.press("choose", method=method)
    journey.press("verify", code=security_code(journey.services, method))
    assert journey.page.step_id == "new_phone" and phase(journey) == "enrol"
    return journey


def test_a_lost_phone_is_replaced_after_email_mfa_by_proving_the_new_number():
    journey = at_new_phone("email")
    assert journey.page.settings["heading"] == "Change your phone number"
    assert journey.context[keys.AMR] == ["pwd", "email", "mfa"]

    journey.press("send", country="GB", phone=NEW_MOBILE)

    assert [t[0] for t in journey.services.texts] == [NEW_MOBILE_E164]
    assert journey.page.values["enrolling"] is True
    done = journey.press("verify", code=text_code(journey))
    assert isinstance(done, Completed)
    account = account_of(journey)
    assert account.phone == {"number": NEW_MOBILE_E164, "type": "mobile"}
    assert journey.context[keys.claim("phone_number")] == NEW_MOBILE_E164
    assert ("phone.changed", account.object_id) in journey.services.audited
    assert ("mfa.enrolled", account.object_id) not in journey.services.audited


def test_a_new_landline_is_proven_by_a_call():
    journey = at_new_phone("sms")
    journey.press("send", country="GB", phone=LANDLINE)
    done = journey.press("verify", code=security_code(journey.services, "call"))
    assert isinstance(done, Completed)
    assert account_of(journey).phone == {"number": LANDLINE_E164, "type": "landline"}


def test_a_wrong_code_for_the_new_number_keeps_the_old_one():
    journey = at_new_phone()
    journey.press("send", country="GB", phone=NEW_MOBILE)

    journey.press("verify", code=wrong(text_code(journey)))

    assert journey.page.errors["code"].startswith("The code is not right")
    assert account_of(journey).phone == {"number": MOBILE_E164, "type": "mobile"}
    assert "phone.changed" not in events(journey)


def test_change_phone_number_on_the_new_phone_page_goes_back_to_the_number():
    journey = at_new_phone()
    journey.press("send", country="GB", phone=NEW_MOBILE)

    journey.press("change_phone")
    journey.press("send", country="GB", phone=LANDLINE)

    done = journey.press("verify", code=security_code(journey.services, "call"))
    assert isinstance(done, Completed)
    assert account_of(journey).phone == {"number": LANDLINE_E164, "type": "landline"}


def test_the_new_phone_page_names_a_number_that_is_not_real():
    journey = at_new_phone()
    journey.press("send", country="GB", phone="12345")
    assert list(journey.page.errors) == ["phone"] and journey.services.texts == []


# -- bugs found while writing these tests ----------------------------------------------------


def test_change_phone_number_cannot_replace_an_enrolled_phone_without_passing_mfa():
    journey = returning(PARENT)
    assert phase(journey) == "choose"

    journey.press("change_phone")
    journey.press("send", country="GB", phone=NEW_MOBILE)
    codes = [data["code"] for _to, _body, data in journey.services.texts]
    outcome = journey.press("verify", code=codes[-1] if codes else "123456")

    assert not isinstance(outcome, Completed)
    assert account_of(journey).phone == {"number": MOBILE_E164, "type": "mobile"}


def test_wrong_app_codes_are_limited_like_sent_codes():
    services = FakeServices()
    secret, _codes = set_up_app(services)
    services.clock.advance(seconds=30)
    journey = at_app_code(services)
    right = pyotp.TOTP(secret).at(services.now())
    for _ in range(20):
        journey.press("app_verify", code=wrong(right))

    outcome = journey.press("app_verify", code=right)

    assert not isinstance(outcome, Completed)


def test_showing_the_page_again_after_the_block_ends_starts_afresh():
    journey = blocked_after_too_many_sends()
    journey.services.clock.advance(seconds=900)

    shown = journey.executor.show(journey.progress, AUTH_TIME)

    assert isinstance(shown, Page) and shown.values["phase"] == "choose"


def test_phone_change_starts_afresh_after_its_block_ends():
    journey = at_new_phone()
    services = journey.services
    journey.press("send", country="GB", phone=NEW_MOBILE)
    for _ in range(10):
        services.clock.advance(seconds=30)
        journey.press("resend")
    assert phase(journey) == "blocked"
    services.clock.advance(seconds=900)

    journey.press("continue")
    journey.press("send", country="GB", phone=NEW_MOBILE)

    assert phase(journey) == "code"
    assert isinstance(journey.press("verify", code=text_code(journey)), Completed)


def test_a_landline_where_only_texts_are_allowed_is_told_beside_the_phone_number():
    journey = enrolling(methods=["sms"])
    assert journey.page.values["offer_call"] is False

    journey.press("send", country="GB", phone=LANDLINE)

    assert list(journey.page.errors) == ["phone"]
    assert "phone call" not in journey.page.errors["phone"]


def test_choosing_the_same_method_again_within_the_cool_down_sends_nothing_new():
    journey = returning(PARENT)
    journey.press("choose", method="sms")

    journey.press("another_way")
    journey.press("choose", method="sms")

    assert len(journey.services.texts) == 1
