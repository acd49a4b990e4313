"""Multi-factor authentication: a code by text message, phone call or email, or from an
authenticator app; the person chooses when a policy allows several.

The page always has a way on: "Send a new code", "Change phone number" while a phone is
being enrolled, and "Try another way" when there is another method. Too many wrong or
requested codes block second factors on the account for a while (like GOV.UK One
Login), and the page says until when, instead of "wait 5 minutes then refresh".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    with_form_state,
)
from idp.messaging import MessageNotSent
from idp.mfa import recovery, totp
from idp.mfa.codes import CodeCheck, check_code, new_code, seconds_left, seconds_until_resend
from idp.mfa.phones import DEFAULT_REGION, country_codes, masked, masked_email, parse_phone

METHODS = ("sms", "call", "email", "app")
#: What each method adds to ``amr`` (RFC 8176; "email" as B2C and others use it).
AMR = {"sms": "sms", "call": "tel", "email": "email", "app": "otp"}
_PHONE_METHODS = ("sms", "call")

_CODE_PROBLEMS = {
    CodeCheck.WRONG: N_("The code is not right. Check it and try again, or send a new code"),
    CodeCheck.EXPIRED: N_("The code has expired. Select 'Send a new code' to get another"),
    CodeCheck.USED: N_("That code has already been used. Select 'Send a new code'"),
}
_NOT_SENT = N_(
    "We could not send your code just now. Try another way, or send a new code in a few minutes"
)


def _methods(value: list[Any]) -> str | None:
    if not value:
        return "must list at least one method"
    unknown = [m for m in value if m not in METHODS]
    return f"has unknown method {unknown[0]!r}; known: {', '.join(METHODS)}" if unknown else None


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be more than 0"


def _code_settings() -> dict[str, Setting]:
    return {
        "code_lifetime": Setting(
            int, 600, "Seconds a code sent by text or email can be used for.", _positive
        ),
        "call_code_lifetime": Setting(
            int,
            600,
            "Seconds a code read out in a phone call can be used for: the call takes a "
            "while to answer and to listen to twice.",
            _positive,
        ),
        "max_attempts": Setting(int, 5, "Wrong tries allowed for one code.", _positive),
        "resend_cooldown": Setting(
            int, 30, "Seconds before 'Send a new code' may send again.", _positive
        ),
        "max_sends": Setting(
            int, 10, "Codes one journey may send before the account is blocked.", _positive
        ),
        "block_seconds": Setting(
            int,
            900,
            "How long second factors stay blocked after too many wrong codes or sends.",
            _positive,
        ),
    }


class CodeSteps(StepType):
    """Sending, checking and blocking, shared by the MFA and phone-change steps."""

    template = "steps/mfa.html"

    def _state(self, context: dict[str, Any]) -> dict[str, Any]:
        return dict(form_state(context, self.step_id))

    def _again(
        self,
        context: dict[str, Any],
        phase: str,
        updates: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        **state: Any,
    ) -> StepInvalid:
        new_state = {**self._state(context), "phase": phase, **state}
        return StepInvalid(
            errors or {},
            values or {},
            with_form_state(context, self.step_id, new_state, updates or {}),
        )

    def _blocked_until(self, context: dict[str, Any], services: JourneyServices) -> int | None:
        object_id = context.get(keys.USER_OBJECT_ID)
        if not object_id:
            return None
        until = services.mfa_status(object_id).get("blocked_until")
        now = int(services.now().timestamp())
        return until if until and until > now else None

    def _block(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices, why: str
    ) -> StepInvalid:
        until = services.now() + timedelta(seconds=settings["block_seconds"])
        services.block_mfa(context[keys.USER_OBJECT_ID], until, why)
        return self._again(context, "blocked", {keys.MFA_CODE: None})

    def _send(
        self,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
        method: str,
        to: str,
        error_key: str = "code",
    ) -> StepResult:
        """Send a code by ``method`` to ``to``; on failure stay on this page with the
        message beside ``error_key``."""
        now = services.now()
        last_sent = (context.get(keys.MFA_SENT_TO) or {}).get(f"{method}:{to}")
        if last_sent is not None:
            # Per destination, and kept apart from the code in flight, so "Try another
            # way" and back again does not skip the wait.
            wait = seconds_until_resend(last_sent, now, settings["resend_cooldown"])
            if wait:
                message = N_("Wait {n} seconds, then select 'Send a new code'").format(n=wait)
                return self._again(context, "code", errors={"code": message})
        sends = int(context.get(keys.MFA_SENDS, 0))
        object_id = context.get(keys.USER_OBJECT_ID)
        recent = services.mfa_recent(object_id, settings["block_seconds"]) if object_id else {}
        if sends >= settings["max_sends"] or recent.get("sent", 0) >= settings["max_sends"]:
            # Per journey and per account: a new sign-in does not buy more codes.
            return self._block(context, settings, services, "too many codes sent")
        lifetime = settings["call_code_lifetime" if method == "call" else "code_lifetime"]
        code, record = new_code(now, lifetime)
        try:
            if method == "sms":
                services.send_sms(
                    to,
                    N_("Your security code is {code}. It works for {minutes}.").format(
                        code=code, minutes=_duration(lifetime)
                    ),
                    {"code": code},
                )
            elif method == "call":
                services.place_call(to, code)
            else:
                services.send_email(
                    "security_code",
                    to,
                    {"code": code, "minutes": _duration(lifetime)},
                )
        except MessageNotSent:
            services.audit("mfa.send_failed", context.get(keys.USER_OBJECT_ID), {"method": method})
            phase = self._state(context).get("phase", "choose")
            return self._again(context, phase, errors={error_key: _NOT_SENT})
        services.audit("mfa.code_sent", context.get(keys.USER_OBJECT_ID), {"method": method})
        updates = {
            keys.MFA_CODE: {"record": record, "method": method, "to": to},
            keys.MFA_SENT_AT: int(now.timestamp()),
            keys.MFA_SENT_TO: {
                **(context.get(keys.MFA_SENT_TO) or {}),
                f"{method}:{to}": int(now.timestamp()),
            },
            keys.MFA_SENDS: sends + 1,
        }
        return self._again(context, "code", updates)

    def _verify(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> tuple[str | None, StepResult | None]:
        """The method whose code was right, or the page to show instead."""
        sent = dict(context.get(keys.MFA_CODE) or {})
        given = form.get("code", "")
        if not sent:
            return None, self._again(context, "choose")
        if not given.strip():
            return None, self._again(context, "code", errors={"code": N_("Enter the 6-digit code")})
        record = dict(sent["record"])
        verdict = check_code(record, given, services.now(), settings["max_attempts"])
        if verdict is CodeCheck.OK:
            return sent["method"], None
        services.audit(
            "mfa.code_wrong",
            context.get(keys.USER_OBJECT_ID),
            {"method": sent["method"], "verdict": verdict.value},
        )
        if self._too_many_wrong(context, settings, services):
            return None, self._block(context, settings, services, "too many wrong codes")
        if verdict is CodeCheck.TOO_MANY_ATTEMPTS or (
            verdict is CodeCheck.WRONG and record["attempts"] >= settings["max_attempts"]
        ):
            message = N_("You have entered a wrong code too many times. Select 'Send a new code'")
            return None, self._again(
                context, "code", {keys.MFA_CODE: {**sent, "record": record}}, {"code": message}
            )
        return None, self._again(
            context,
            "code",
            {keys.MFA_CODE: {**sent, "record": record}},
            {"code": _CODE_PROBLEMS[verdict]},
        )

    def _too_many_wrong(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> bool:
        """Wrong codes add up across journeys: guessing stops at a few per window, however
        many sign-ins it is spread over."""
        object_id = context.get(keys.USER_OBJECT_ID)
        if not object_id:
            return False
        recent = services.mfa_recent(object_id, settings["block_seconds"])
        return recent["wrong"] >= 2 * settings["max_attempts"]

    def _code_values(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> dict[str, Any]:
        sent = context.get(keys.MFA_CODE) or {}
        now = services.now()
        record = sent.get("record")
        method = sent.get("method", "")
        to = sent.get("to", "")
        return {
            "method": method,
            "to": masked_email(to) if method == "email" else masked(to) if to else "",
            "seconds_left": seconds_left(record, now) if record else 0,
            "expires_at": record["expires_at"] if record else 0,
            "expires_clock": _clock(record["expires_at"]) if record else "",
            "resend_in": seconds_until_resend(
                context.get(keys.MFA_SENT_AT), now, settings["resend_cooldown"]
            ),
        }

    def _available(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> list[tuple[str, str]]:
        """(method, where the code goes) for every method the person can use now."""
        status = services.mfa_status(context[keys.USER_OBJECT_ID])
        phone = (status.get("phone") or {}).get("number") or context.get(keys.claim("phone_number"))
        found = []
        for method in settings["methods"]:
            if method in _PHONE_METHODS and phone:
                found.append((method, phone))
            elif method == "email" and status.get("email"):
                proven = str(context.get(keys.EMAIL_VERIFIED) or "").lower()
                if proven != str(status["email"]).lower():
                    # A mailbox that just proved a password reset is not a second factor.
                    found.append((method, status["email"]))
            elif method == "app" and status.get("app"):
                found.append((method, ""))
        return found

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        state = form_state(context, step_id)
        phase = state.get("phase", "choose")
        values: dict[str, Any] = {"phase": phase}
        if phase == "blocked":
            until = self._blocked_until(context, services) or 0
            values["until"] = _clock(until)
        elif phase == "enrol":
            pending = context.get(keys.MFA_PHONE) or {}
            values["countries"] = country_codes()
            values["country"] = DEFAULT_REGION
            values["phone"] = pending.get("display", "")
            values["offer_call"] = "call" in settings["methods"]
            values["offer_sms"] = "sms" in settings["methods"]
        elif phase in ("choose", "app"):
            values["options"] = (
                [
                    {
                        "method": m,
                        "to": masked_email(to) if m == "email" else masked(to) if to else "",
                    }
                    for m, to in self._available(context, settings, services)
                ]
                if context.get(keys.USER_OBJECT_ID)
                else []
            )
            if phase == "choose" and context.get(keys.USER_OBJECT_ID):
                status = services.mfa_status(context[keys.USER_OBJECT_ID])
                values["app_moved"] = bool(status.get("app_moved"))
        if phase in ("code", "app"):
            values.update(self._code_values(context, settings, services))
            values["other_ways"] = len(self._available(context, settings, services)) > 1
            values["enrolling"] = bool(context.get(keys.MFA_PHONE))
        return Page(step_id, self.template, values=values, settings=settings)

    def _enrol(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        parsed, problem = self._phone_from_form(form)
        values = {"phone": form.get("phone", ""), "country": form.get("country", DEFAULT_REGION)}
        if problem or parsed is None:
            return self._again(context, "enrol", errors={"phone": problem or ""}, values=values)
        number, kind = parsed
        chosen = form.get("delivery", "")
        method = (
            chosen
            if chosen in _PHONE_METHODS and chosen in settings["methods"]
            else ("sms" if kind == "mobile" and "sms" in settings["methods"] else "call")
        )
        if method not in settings["methods"]:
            method = next(m for m in settings["methods"] if m in _PHONE_METHODS)
        if method == "sms" and kind == "landline":
            if "call" in settings["methods"]:
                key, message = (
                    "delivery",
                    N_(
                        "This looks like a landline, which cannot get text messages. "
                        "Choose a phone call"
                    ),
                )
            else:
                key, message = (
                    "phone",
                    N_(
                        "This looks like a landline, which cannot get text messages. Enter a "
                        "mobile number"
                    ),
                )
            return self._again(context, "enrol", values=values, errors={key: message})
        pending = {
            keys.MFA_PHONE: {"number": number, "type": kind, "display": form.get("phone", "")}
        }
        context = {**context, **pending}
        result = self._send(context, settings, services, method, number, "phone")
        if isinstance(result, StepInvalid):
            return StepInvalid(result.errors, result.values, {**pending, **result.updates})
        return result

    @staticmethod
    def _passed(context: dict[str, Any], method: str) -> dict[str, Any]:
        amr = [a for a in context.get(keys.AMR, []) if a != "mfa"]
        for value in (AMR[method], "mfa"):
            if value not in amr:
                amr.append(value)
        return {keys.AMR: amr, keys.MFA_CODE: None, keys.MFA_SENDS: 0, keys.MFA_PHONE: None}

    def _phone_from_form(self, form: dict[str, str]) -> tuple[tuple[str, str] | None, str | None]:
        return parse_phone(form.get("country", DEFAULT_REGION), form.get("phone", ""))


@register
class MultiFactor(CodeSteps):
    """The second factor at sign-in, and a phone's enrolment the first time.

    ``methods`` lists what the policy allows: ``sms``, ``call`` (a computer reads the code
    aloud, for landlines), ``email`` and ``app`` (an authenticator app set up with the
    ``authenticator_app`` step). A person with several gets a choice each time. Someone
    with no phone yet is asked for one ("Country Code", "Phone Number", "Send Code"); a
    mobile gets a text, a landline a call, unless they choose otherwise. ``amr`` records
    what was used. Skip it with ``skip_if = ["mfa_done"]`` to ask once per session, or
    leave that out (and set ``every_sign_in``) to ask at every sign-in. Example::

        [[steps]]
        id = "mfa"
        type = "mfa"
        [steps.settings]
        methods = ["sms", "call", "email"]
        every_sign_in = true
        code_lifetime = 30
    """

    name = "mfa"
    automatic = True
    provides = (keys.AMR,)
    settings_schema = {
        "heading": Setting(str, "Multi-factor authentication", "The page's heading."),
        "methods": Setting(
            list, ["sms", "call"], "Methods allowed: sms, call, email, app.", _methods
        ),
        "enrol_phone": Setting(bool, True, "Ask for a phone number when the person has none yet."),
        "every_sign_in": Setting(
            bool,
            False,
            "Ask at every sign-in, even when this browser's session passed MFA already.",
        ),
        **_code_settings(),
    }

    # -- which methods this person has -------------------------------------------------
    def _may_enrol(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> bool:
        """Enrolling a phone (or changing the one being enrolled) is for people with no
        proven phone yet; otherwise anyone with the password could swap it for theirs."""
        if not settings["enrol_phone"] or not set(settings["methods"]) & set(_PHONE_METHODS):
            return False
        if "pwd" not in context.get(keys.AMR, []):
            return False  # proven only by a mailbox (a reset): that cannot add a phone
        status = services.mfa_status(context[keys.USER_OBJECT_ID])
        has_factor = status.get("phone") or status.get("app")
        return not has_factor and not context.get(keys.claim("phone_number"))

    @classmethod
    def check_skip(cls, settings: dict[str, Any], skip_if: tuple[Any, ...]) -> str | None:
        if settings["every_sign_in"] and "mfa_done" in skip_if:
            return "settings.every_sign_in asks every time, so skip_if must not say mfa_done"
        return None

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        if not context.get(keys.USER_OBJECT_ID):
            raise RuntimeError(
                f"step {self.step_id} needs a step that signs the person in before it"
            )
        if self._blocked_until(context, services):
            return self._again(context, "blocked")
        state = self._state(context)
        if state.get("phase") == "blocked":
            # The block is over: start the second factor afresh.
            context = {**context, **with_form_state(context, self.step_id, {}, {keys.MFA_SENDS: 0})}
            result = self.arrive(context, settings, services)
            fresh = with_form_state(context, self.step_id, {}, {keys.MFA_SENDS: 0})
            if isinstance(result, StepInvalid):
                return StepInvalid(result.errors, result.values, {**fresh, **result.updates})
            return result
        if state.get("phase"):
            return self._again(context, state["phase"])
        allowed = {AMR[m] for m in settings["methods"]}
        if not settings["every_sign_in"] and allowed & set(context.get(keys.AMR, [])):
            return StepOk()  # this session passed one of this step's methods already
        available = self._available(context, settings, services)
        if not available:
            if self._may_enrol(context, settings, services):
                return self._again(context, "enrol")
            # Nothing to send a code to, and adding a phone now is not safe: say so and
            # where to get help, rather than fail.
            return self._again(context, "unavailable")
        return self._again(context, "choose")

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        if self._blocked_until(context, services):
            return self._again(context, "blocked")
        action = form.get("action", "")
        phase = self._state(context).get("phase", "choose")
        if phase == "blocked":
            # The block has ended: start the second factor afresh.
            fresh = with_form_state(context, self.step_id, {}, {keys.MFA_SENDS: 0})
            result = self.arrive({**context, **fresh}, settings, services)
            return (
                StepInvalid(result.errors, {}, {**fresh, **result.updates})
                if isinstance(result, StepInvalid)
                else result
            )
        if action == "another_way":
            return self._again(context, "choose", {keys.MFA_CODE: None, keys.MFA_PHONE: None})
        if phase == "unavailable":
            return self._again(context, "unavailable")
        may_enrol = self._may_enrol(context, settings, services)
        if action == "change_phone":
            if not may_enrol:
                # A proven phone is changed only after a second factor (phone_change).
                return self._again(context, "choose", {keys.MFA_CODE: None, keys.MFA_PHONE: None})
            return self._again(context, "enrol", {keys.MFA_CODE: None})
        if action == "resend":
            sent = context.get(keys.MFA_CODE) or {}
            if not sent:
                return self._again(context, "choose")
            return self._send(context, settings, services, sent["method"], sent["to"])
        if phase == "enrol":
            if not may_enrol:
                return self._again(context, "choose")
            return self._enrol(context, form, settings, services)
        if phase == "app":
            if "app" not in settings["methods"]:
                return self._again(context, "choose")
            return self._app(context, form, settings, services)
        if phase == "code" or action == "verify":
            method, page = self._verify(context, form, settings, services)
            if page is not None:
                return page
            assert method is not None
            updates = self._passed(context, method)
            pending = context.get(keys.MFA_PHONE)
            sent = context.get(keys.MFA_CODE) or {}
            object_id = context[keys.USER_OBJECT_ID]
            status = services.mfa_status(object_id)
            if method in _PHONE_METHODS and (pending or not status.get("phone")):
                # The code proved the phone: it becomes the account's MFA phone.
                kind = (pending or {}).get("type") or ("mobile" if method == "sms" else "landline")
                services.save_phone(object_id, sent["to"], kind, changed=False)
                updates[keys.claim("phone_number")] = sent["to"]
            services.audit("mfa.passed", object_id, {"method": method})
            return StepOk(with_form_state(context, self.step_id, {}, updates))
        # The choice page.
        available = dict(self._available(context, settings, services))
        method = form.get("method") or (next(iter(available)) if len(available) == 1 else "")
        if method not in available:
            return self._again(
                context,
                "choose",
                errors={"method": N_("Select how you want to get your security code")},
            )
        if method == "app":
            return self._again(context, "app")
        return self._send(context, settings, services, method, available[method], "method")

    def _app(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        object_id = context[keys.USER_OBJECT_ID]
        if form.get("action") == "recovery":
            code = form.get("recovery_code", "")
            if services.use_recovery_code(object_id, code):
                services.audit("mfa.recovery_code_used", object_id, {})
                return StepOk(
                    with_form_state(context, self.step_id, {}, self._passed(context, "app"))
                )
            fails = int(self._state(context).get("app_fails", 0)) + 1
            if fails >= settings["max_attempts"]:
                return self._block(context, settings, services, "too many wrong recovery codes")
            return self._again(
                context,
                "app",
                errors={"recovery_code": N_("That recovery code is not right, or has been used")},
                app_fails=fails,
            )
        code = form.get("code", "")
        if not code.strip():
            return self._again(
                context,
                "app",
                errors={"code": N_("Enter the 6-digit code from your authenticator app")},
            )
        if services.check_app_code(object_id, code):
            services.audit("mfa.passed", object_id, {"method": "app"})
            return StepOk(with_form_state(context, self.step_id, {}, self._passed(context, "app")))
        services.audit("mfa.code_wrong", object_id, {"method": "app"})
        fails = int(self._state(context).get("app_fails", 0)) + 1
        if fails >= settings["max_attempts"] or self._too_many_wrong(context, settings, services):
            return self._block(context, settings, services, "too many wrong app codes")
        return self._again(
            context,
            "app",
            errors={"code": N_("The code is not right. Enter the code your app shows now")},
            app_fails=fails,
        )


@register
class ChangePhoneNumber(CodeSteps):
    """A new phone number for texts and calls, proven by a code sent to it first.

    Put it after a sign-in and an ``mfa`` step that lets the person use another method
    (the Blue Badge guide: "choose to receive your security code via email … update your
    phone number"). Example::

        [[steps]]
        id = "new_phone"
        type = "phone_change"
    """

    name = "phone_change"
    automatic = True
    settings_schema = {
        "heading": Setting(str, "Change your phone number", "The page's heading."),
        "methods": Setting(list, ["sms", "call"], "How the new number may get its code.", _methods),
        **_code_settings(),
    }

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        if not context.get(keys.USER_OBJECT_ID):
            raise RuntimeError(f"step {self.step_id} needs a signed-in person")
        if self._blocked_until(context, services):
            return self._again(context, "blocked")
        phase = self._state(context).get("phase", "enrol")
        if phase == "blocked":
            return self._again(context, "enrol", {keys.MFA_SENDS: 0, keys.MFA_CODE: None})
        return self._again(context, phase)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        if self._blocked_until(context, services):
            return self._again(context, "blocked")
        action = form.get("action", "")
        phase = self._state(context).get("phase", "enrol")
        if phase == "blocked":
            # The block is over: ask for the number afresh.
            return self._again(context, "enrol", {keys.MFA_SENDS: 0, keys.MFA_CODE: None})
        if action == "change_phone":
            return self._again(context, "enrol", {keys.MFA_CODE: None})
        if action == "resend":
            sent = context.get(keys.MFA_CODE) or {}
            return (
                self._send(context, settings, services, sent["method"], sent["to"])
                if sent
                else self._again(context, "enrol")
            )
        if phase == "enrol":
            return self._enrol(context, form, settings, services)
        _method, page = self._verify(context, form, settings, services)
        if page is not None:
            return page
        pending = context.get(keys.MFA_PHONE) or {}
        sent = context.get(keys.MFA_CODE) or {}
        object_id = context[keys.USER_OBJECT_ID]
        services.save_phone(object_id, sent["to"], pending.get("type", "mobile"), changed=True)
        updates = {
            keys.MFA_CODE: None,
            keys.MFA_PHONE: None,
            keys.claim("phone_number"): sent["to"],
        }
        return StepOk(with_form_state(context, self.step_id, {}, updates))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return N_("{n} seconds").format(n=seconds)
    minutes = seconds // 60
    return N_("1 minute") if minutes == 1 else N_("{n} minutes").format(n=minutes)


def _clock(epoch: int) -> str:
    """A time a person can read on the page: 17:42 (UK time is close enough to UTC that
    the page also says "UTC" rather than guess a zone)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")


@register
class AuthenticatorApp(StepType):
    """Sets up an authenticator app: a QR code and the secret as text, one code from the
    app to prove it, then recovery codes shown once. Someone with an app already passes
    straight through. After it, ``mfa`` steps may offer ``app``. Example::

        [[steps]]
        id = "app"
        type = "authenticator_app"
        [steps.settings]
        issuer = "Leicestershire County Council"
    """

    name = "authenticator_app"
    template = "steps/mfa.html"
    automatic = True
    provides = (keys.AMR,)
    settings_schema = {
        "heading": Setting(str, "Set up an authenticator app", "The page's heading."),
        "issuer": Setting(str, "Gatehouse", "The name the app shows beside the code."),
        "recovery_codes": Setting(int, 10, "How many recovery codes to give.", _positive),
    }

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        object_id = context.get(keys.USER_OBJECT_ID)
        if not object_id:
            raise RuntimeError(f"step {self.step_id} needs a signed-in person")
        state = form_state(context, self.step_id)
        if state.get("phase") == "recovery":
            return StepInvalid({})
        if services.mfa_status(object_id).get("app"):
            return StepOk()
        if context.get(keys.MFA_APP_SECRET):
            return StepInvalid({})
        sealed = services.seal(totp.new_secret())
        return StepInvalid(
            {},
            updates=with_form_state(
                context, self.step_id, {"phase": "setup"}, {keys.MFA_APP_SECRET: sealed}
            ),
        )

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        state = form_state(context, step_id)
        phase = state.get("phase", "setup")
        values: dict[str, Any] = {"phase": "app_" + phase}
        if phase == "setup" and context.get(keys.MFA_APP_SECRET):
            secret = services.unseal(context[keys.MFA_APP_SECRET])
            account = str(context.get(keys.claim("email")) or context[keys.USER_OBJECT_ID])
            uri = totp.provisioning_uri(secret, account, settings["issuer"])
            values.update({"qr_svg": totp.qr_svg(uri), "secret": totp.grouped(secret)})
        if phase == "recovery" and context.get(keys.MFA_RECOVERY_CODES):
            values["recovery_codes"] = services.unseal(context[keys.MFA_RECOVERY_CODES]).split()
        return Page(step_id, self.template, values=values, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        object_id = context[keys.USER_OBJECT_ID]
        state = form_state(context, self.step_id)
        if state.get("phase") == "recovery":
            passed = CodeSteps._passed(context, "app")
            passed[keys.MFA_RECOVERY_CODES] = None
            return StepOk(with_form_state(context, self.step_id, {}, passed))
        sealed = context.get(keys.MFA_APP_SECRET)
        if not sealed:
            return self.arrive(context, settings, services)
        code = form.get("code", "")
        if not code.strip():
            return StepInvalid({"code": N_("Enter the 6-digit code from your authenticator app")})
        secret = services.unseal(sealed)
        step = totp.verify_totp(secret, code, services.now(), None)
        if step is None:
            return StepInvalid(
                {"code": N_("The code is not right. Enter the code your app shows now")}
            )
        codes = recovery.new_recovery_codes(settings["recovery_codes"])
        services.save_app(object_id, secret, step, [recovery.hash_recovery_code(c) for c in codes])
        services.audit("mfa.enrolled", object_id, {"method": "app"})
        updates = {
            keys.MFA_APP_SECRET: None,
            keys.MFA_RECOVERY_CODES: services.seal(" ".join(codes)),
        }
        return StepInvalid(
            {}, updates=with_form_state(context, self.step_id, {"phase": "recovery"}, updates)
        )
