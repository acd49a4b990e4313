"""Prove an email address by a 6-digit code: "Send verification code", then "Verify code".

The page never says whether the address has an account before the code is verified: a
sign-up sends a code either way, and a password reset sends either a code or a note that
explains why there is none, while the screen reads the same (issue 3, no enumeration).
"""

from __future__ import annotations

from typing import Any

from idp.journeys import context as keys
from idp.journeys.context import N_
from idp.journeys.results import Page, StepInvalid, StepOk, StepResult
from idp.journeys.steps.base import (
    JourneyServices,
    Setting,
    StepType,
    form_state,
    register,
    sign_in_or_reset,
    with_form_state,
)
from idp.messaging import EmailNotSent
from idp.mfa.codes import CodeCheck, check_code, new_code, seconds_left, seconds_until_resend
from idp.validation import is_email_address, normalise_email

PURPOSES = ("sign_up", "password_reset", "change_email")
NOT_SENT = N_(
    "We could not send the email just now. Check the address, then try again in a few minutes"
)

_CODE_PROBLEMS = {
    CodeCheck.WRONG: N_("The code is not right. Check the email we sent and enter the code"),
    CodeCheck.EXPIRED: N_("The code has expired. Select 'Send a new code' to get another"),
    CodeCheck.USED: N_("That code has already been used. Select 'Send a new code'"),
    CodeCheck.TOO_MANY_ATTEMPTS: N_(
        "You have entered a wrong code too many times. Select 'Send a new code'"
    ),
}


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be more than 0"


def _purpose(value: str) -> str | None:
    return None if value in PURPOSES else f"must be one of {', '.join(PURPOSES)}"


@register
class VerifyEmailCode(StepType):
    """Verifies an email address with a one-time code sent to it.

    ``purpose`` decides what happens around the code: ``sign_up`` (after the code, a person
    whose address already has an account is told so and offered sign-in or password
    reset), ``password_reset`` (codes go only to local accounts; others get an email saying
    why) or ``change_email`` (a signed-in person proves a new address). Example::

        [[steps]]
        id = "verify_email"
        type = "verify_email_code"
        skip_if = ["not:chose:sign_up"]
        [steps.settings]
        purpose = "sign_up"
        heading = "User Details"
    """

    name = "verify_email_code"
    template = "steps/verify_email_code.html"
    provides = (keys.EMAIL_VERIFIED, keys.claim("email"))
    settings_schema = {
        "purpose": Setting(str, "sign_up", "sign_up, password_reset or change_email.", _purpose),
        "heading": Setting(str, "Verify your email address", "The page's heading."),
        "code_lifetime": Setting(int, 600, "Seconds a code can be used for.", _positive),
        "max_attempts": Setting(int, 5, "Wrong tries allowed for one code.", _positive),
        "resend_cooldown": Setting(
            int, 30, "Seconds before 'Send a new code' may send again.", _positive
        ),
        "max_sends": Setting(int, 10, "Codes one journey may send.", _positive),
    }

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        state = form_state(context, step_id)
        phase = state.get("phase", "email")
        email = context.get(keys.EMAIL_PENDING)
        if not email and settings["purpose"] != "change_email":
            email = context.get(keys.SIGNIN_EMAIL) or context.get(keys.LOGIN_HINT) or ""
        values: dict[str, Any] = {"phase": phase, "email": email or ""}
        record = context.get(keys.EMAIL_CODE)
        if phase == "code" and record:
            now = services.now()
            values["expires_at"] = record["expires_at"]
            values["seconds_left"] = seconds_left(record, now)
            values["resend_in"] = seconds_until_resend(
                context.get(keys.EMAIL_SENT_AT), now, settings["resend_cooldown"]
            )
        if phase == "exists":
            values["route"] = state.get("route")
        return Page(step_id, self.template, values=values, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        action = form.get("action", "")
        if action == "change_email":
            # The code already sent stays good: going back to the same address within the
            # cool-down shows it again rather than leaving nothing that works.
            return StepInvalid({}, updates=self._phase(context, "email", {}))
        onward = sign_in_or_reset(context, action)
        if onward is not None:
            return onward
        if action == "resend":
            return self._send(context, context.get(keys.EMAIL_PENDING) or "", settings, services)
        if action == "verify":
            return self._verify(context, form.get("code", ""), settings, services)
        return self._send(context, form.get("email", "").strip(), settings, services)

    def _phase(
        self, context: dict[str, Any], phase: str, updates: dict[str, Any], **state: Any
    ) -> dict[str, Any]:
        return with_form_state(context, self.step_id, {"phase": phase, **state}, updates)

    def _send(
        self,
        context: dict[str, Any],
        email: str,
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        if not email:
            return StepInvalid({"email": N_("Enter your email address")})
        if not is_email_address(email):
            return StepInvalid(
                {
                    "email": N_(
                        "Enter an email address in the correct format, like name@example.com"
                    )
                },
                {"email": email},
            )
        purpose = settings["purpose"]
        now = services.now()
        if purpose == "change_email" and normalise_email(email) == normalise_email(
            str(context.get(keys.claim("email")) or "")
        ):
            return StepInvalid(
                {"email": N_("Enter a different email address from the one you use now")},
                {"email": email},
            )
        if context.get(keys.EMAIL_PENDING) == email and context.get(keys.EMAIL_CODE):
            wait = seconds_until_resend(
                context.get(keys.EMAIL_SENT_AT), now, settings["resend_cooldown"]
            )
            if wait:
                return StepInvalid(
                    {"code": N_("Wait {n} seconds, then select 'Send a new code'").format(n=wait)},
                    updates=self._phase(context, "code", {}),
                )
        sends = int(context.get(keys.EMAIL_SENDS, 0))
        if sends >= settings["max_sends"]:
            return StepInvalid(
                {
                    "code": N_(
                        "We have sent as many codes as we can for this sign-in. Enter the "
                        "last code we sent, or close this page and start again"
                    )
                },
                updates=self._phase(context, "code", {}),
            )
        code, record = new_code(now, settings["code_lifetime"])
        minutes = max(1, settings["code_lifetime"] // 60)
        route = services.account_route(email) if purpose == "password_reset" else "local"
        try:
            if route == "local":
                services.send_email("verification_code", email, {"code": code, "minutes": minutes})
            elif route is None:
                services.send_email("no_account", email, {})
            else:
                services.send_email("social_account", email, {"provider": route})
        except EmailNotSent:
            return StepInvalid(
                {"email": NOT_SENT}, {"email": email}, self._phase(context, "email", {})
            )
        updates = {
            keys.EMAIL_PENDING: email,
            keys.EMAIL_CODE: record,
            keys.EMAIL_SENT_AT: int(now.timestamp()),
            keys.EMAIL_SENDS: sends + 1,
        }
        return StepInvalid({}, {"email": email}, self._phase(context, "code", updates))

    def _verify(
        self,
        context: dict[str, Any],
        given: str,
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        record = dict(context.get(keys.EMAIL_CODE) or {})
        email = context.get(keys.EMAIL_PENDING)
        if not record or not email:
            return StepInvalid({"email": N_("Enter your email address")})
        if not given.strip():
            return StepInvalid({"code": N_("Enter the verification code")})
        verdict = check_code(record, given, services.now(), settings["max_attempts"])
        if verdict is not CodeCheck.OK:
            return StepInvalid({"code": _CODE_PROBLEMS[verdict]}, updates={keys.EMAIL_CODE: record})
        proven = {
            keys.EMAIL_CODE: None,
            keys.EMAIL_VERIFIED: email,
            keys.claim("email"): email,
        }
        purpose = settings["purpose"]
        if purpose == "sign_up":
            route = services.account_route(email)
            if route is not None:
                # The address is proven, so saying it has an account tells only its owner.
                return StepInvalid({}, updates=self._phase(context, "exists", proven, route=route))
        if purpose == "change_email" and services.account_route(email) is not None:
            return StepInvalid(
                {"email": N_("An account already uses that email address. Enter a different one")},
                updates=self._phase(context, "email", {keys.EMAIL_CODE: None}),
            )
        if purpose == "change_email":
            # The new address must not replace the account's own before the change is saved.
            proven.pop(keys.claim("email"))
        return StepOk(proven)
