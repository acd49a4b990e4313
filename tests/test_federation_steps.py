"""Signing in with an upstream provider, at the journey engine: buttons, leaving for the
provider, the route lock both ways, separate accounts, failures. No HTTP here; the
loopback providers are in test_federation_journeys.py."""

from __future__ import annotations

from typing import Any

from idp.journeys import context as keys
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.results import Completed, Leave, Page
from tests.fakes import FakeServices
from tests.test_steps import PARENT, Journey, shipped

GOOGLE = {
    "provider": "google",
    "issuer": "https://accounts.google.com",
    "subject": "1122334455",
    "idp": "google.com",
    "email": "jenny.hinsen@gmail.com",
    "email_verified": True,
    "given_name": "Jenny",
    "family_name": "Hinsen",
}


def parent_with_providers() -> Journey:
    services = FakeServices()
    services.providers = [("microsoft", "Microsoft"), ("google", "Google")]
    return Journey(shipped(PARENT), services)


def back_from(
    journey: Journey, upstream: dict[str, Any] | None = None, error: dict[str, str] | None = None
) -> Page | Completed | Leave:
    """What the callback view does: put the provider's answer in, show the journey again."""
    if upstream is not None:
        journey.progress.context[keys.FEDERATION_RESULT] = upstream
    if error is not None:
        journey.progress.context[keys.FEDERATION_ERROR] = error
    journey.outcome = journey.executor.show(journey.progress, 0)
    return journey.outcome


def test_the_sign_in_page_offers_the_providers_the_deployment_has_switched_on():
    journey = parent_with_providers()
    # The policy lists Facebook too; this deployment has not configured it.
    assert journey.page.values["providers"] == [
        {"name": "microsoft", "label": "Microsoft"},
        {"name": "google", "label": "Google"},
    ]


def test_a_provider_button_leaves_for_that_provider():
    journey = parent_with_providers()
    assert isinstance(journey.press("federate:google"), Leave)
    assert journey.outcome.provider == "google"
    assert journey.context[keys.CHOICE] == "federate"


def test_a_button_for_a_provider_not_switched_on_does_nothing():
    journey = parent_with_providers()
    journey.press("federate:facebook")
    assert journey.page.step_id == "signin" and journey.page.errors


def test_the_first_sign_in_creates_the_account_and_asks_for_the_review():
    journey = parent_with_providers()
    journey.press("federate:google")
    page = back_from(journey, GOOGLE)
    assert page.step_id == "review"  # no MFA: the provider's own sign-in stands in
    assert journey.context[keys.NEW_USER] is True
    assert journey.context[keys.ROUTE] == "google.com" and journey.context[keys.AMR] == ["fed"]
    done = journey.press(title="Mrs", given_name="Jenny", family_name="Hinsen")
    assert isinstance(done, Completed) and done.authentication.route == "google.com"
    assert done.authentication.sign_in_route == "google"


def test_the_same_google_identity_comes_back_to_the_same_account():
    journey = parent_with_providers()
    journey.press("federate:google")
    back_from(journey, GOOGLE)
    first = journey.context[keys.USER_OBJECT_ID]
    again = parent_with_providers()
    again.services.federated = journey.services.federated
    again.services.accounts = journey.services.accounts
    again.press("federate:google")
    back_from(again, GOOGLE)
    assert again.context[keys.USER_OBJECT_ID] == first and not again.context.get(keys.NEW_USER)


def test_a_google_identity_with_a_local_accounts_email_is_told_to_use_a_password():
    journey = parent_with_providers()
    journey.services.add(GOOGLE["email"])
    journey.press("federate:google")
    page = back_from(journey, GOOGLE)
    assert page.values["phase"] == "other_route" and page.values["route"] == "local"
    assert len(journey.services.federated) == 0  # nothing made
    assert keys.USER_OBJECT_ID not in journey.context
    journey.press("back")
    assert journey.page.step_id == "signin"


def test_a_google_identity_with_a_facebook_accounts_email_is_told_to_use_facebook():
    journey = parent_with_providers()
    journey.services.add(GOOGLE["email"], route="facebook")
    journey.press("federate:google")
    page = back_from(journey, GOOGLE)
    assert page.values["route_words"] == "Facebook"


def test_a_policy_may_opt_into_separate_accounts_as_b2c_does():
    policy = shipped(PARENT)
    steps = [
        s
        if s.id != "federate"
        else type(s)(s.id, s.order, s.type, {**s.settings, "separate_accounts": True}, s.skip_if)
        for s in policy.steps
    ]
    services = FakeServices()
    services.providers = [("google", "Google")]
    services.add(GOOGLE["email"])
    journey = Journey(type(policy)(**{**policy.__dict__, "steps": tuple(steps)}), services)
    journey.press("federate:google")
    back_from(journey, GOOGLE)
    assert journey.context[keys.NEW_USER] is True
    assert len(services.federated) == 1


def test_a_failure_at_the_provider_says_so_and_goes_back_to_the_sign_in_page():
    journey = parent_with_providers()
    journey.press("federate:google")
    page = back_from(
        journey, error={"reason": "cancelled", "message": "You cancelled signing in with Google."}
    )
    assert page.values["phase"] == "failed"
    assert page.values["message"] == "You cancelled signing in with Google."
    journey.press("back")
    assert journey.page.step_id == "signin" and not journey.context.get(keys.FEDERATION_ERROR)


def test_the_sign_in_page_marks_the_route_used_last():
    services = FakeServices()
    services.providers = [("google", "Google")]
    executor = Executor(shipped(PARENT), services)
    page = executor.show(JourneyProgress(0, {keys.LAST_ROUTE: "google"}), 0)
    assert isinstance(page, Page) and page.values["last_route"] == "google"


def test_an_email_the_provider_does_not_vouch_for_is_neither_looked_up_nor_kept():
    journey = parent_with_providers()
    journey.services.add(GOOGLE["email"])  # someone's local account
    journey.press("federate:microsoft")
    unverified = {
        **GOOGLE,
        "provider": "microsoft",
        "idp": "https://tenant.example/v2.0",
        "issuer": "https://tenant.example/v2.0",
        "email_verified": False,
    }
    back_from(journey, unverified)
    # Not told "you created your account with a password" (that would say the address is
    # registered), and the new account does not carry the address either.
    assert journey.context[keys.NEW_USER] is True
    account = journey.services.by_id(journey.context[keys.USER_OBJECT_ID])
    assert account.email != GOOGLE["email"]


def test_one_provider_cannot_answer_for_another_providers_identity():
    journey = parent_with_providers()
    journey.press("federate:google")
    back_from(journey, GOOGLE)
    victim = journey.context[keys.USER_OBJECT_ID]
    other = parent_with_providers()
    other.services.federated = journey.services.federated
    other.press("federate:microsoft")  # a provider claiming Google's issuer and subject
    page = back_from(other, {**GOOGLE, "provider": "microsoft", "email_verified": False})
    assert other.context.get(keys.USER_OBJECT_ID) != victim
    assert page.values["phase"] == "failed"  # nothing made either


def test_a_switched_off_account_is_told_so_and_not_made_again():
    journey = parent_with_providers()
    journey.press("federate:google")
    back_from(journey, GOOGLE)
    account = journey.services.by_id(journey.context[keys.USER_OBJECT_ID])
    account.active = False
    again = parent_with_providers()
    again.services.federated = journey.services.federated
    again.press("federate:google")
    page = back_from(again, GOOGLE)
    assert page.values["phase"] == "failed" and "switched off" in page.values["message"]


def test_coming_back_without_an_answer_offers_to_go_again_rather_than_bouncing():
    journey = parent_with_providers()
    journey.press("federate:google")
    page = back_from(journey)  # the provider's Back button: the journey page, no answer
    assert page.values["phase"] == "waiting" and page.values["provider_words"] == "Google"
    assert isinstance(journey.press("continue"), Leave)
    back_from(journey)
    journey.press("back")
    assert journey.page.step_id == "signin"
