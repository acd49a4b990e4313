"""The sign-in page for local accounts: "Email address", "Password", "Sign in", with
"Sign up now" and "Forgot your password?" links that branch the journey."""

from __future__ import annotations

from typing import Any

from idp.journeys import context as keys
from idp.journeys.conditions import CHOICES
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
from idp.mfa.phones import masked_email
from idp.validation import is_email_address


def _locked_message(minutes: int) -> str:
    if minutes == 1:
        return N_(
            "There have been too many wrong passwords for this email address. Wait 1 "
            "minute, then try again, or reset your password"
        )
    return N_(
        "There have been too many wrong passwords for this email address. Wait {n} "
        "minutes, then try again, or reset your password"
    ).format(n=minutes)


_WRONG_CREDENTIALS = N_(
    "Enter the email address and password for your account. If you have forgotten your "
    "password, you can reset it."
)


_BUSY = N_(
    "We could not check your password just now because many people are signing in at "
    "once. Select 'Sign in' again."
)

_NO_LINK = N_(
    "Your account has moved to our new sign-in service, but we could not check your "
    "password with the old one, and your account has no email address we can send a link "
    "to. Contact us and we will help you sign in."
)
_LINK_FAILED = N_(
    "We could not send you an email with a link to set a new password just now. Select "
    "'Sign in' again in a few minutes."
)

PROVIDERS = ("microsoft", "google", "facebook", "oidc")


def _providers(value: list[Any]) -> str | None:
    unknown = [p for p in value if p not in PROVIDERS]
    return (
        f"has unknown provider {unknown[0]!r}; known: {', '.join(PROVIDERS)}" if unknown else None
    )


@register
class LocalSignInPage(StepType):
    """Signs a person in with their email address and password.

    ``providers`` adds "Sign in with Microsoft", "Sign in with Google" and so on (the
    ``federated_sign_in`` step takes it from there); the button of the way this browser
    signed in last is marked "Last used". Wrong credentials get one answer that does not
    say which was wrong, so the page never reveals whether an email is registered.
    Someone already signed in (the browser's session, for single sign-on) passes straight
    through. ``sign_up`` shows "Sign up now" and
    ``password_reset`` shows "Forgot your password?"; each records the person's choice,
    which later steps test with ``chose:sign_up`` or ``chose:password_reset``. Example::

        [[steps]]
        id = "signin"
        type = "signin_page"
        [steps.settings]
        heading = "Sign in to the Parent Portal"
        sign_up = true
        password_reset = true
    """

    name = "signin_page"
    template = "steps/signin.html"
    #: A person the journey already knows (from the browser's session) is not asked again.
    automatic = True
    provides = (keys.USER_OBJECT_ID, keys.ROUTE, keys.AMR)
    settings_schema = {
        "heading": Setting(str, "Sign in", "The page's heading."),
        "sign_up": Setting(bool, False, "Offer 'Sign up now' (chose:sign_up)."),
        "password_reset": Setting(
            bool, False, "Offer 'Forgot your password?' (chose:password_reset)."
        ),
        "providers": Setting(
            list,
            [],
            "Upstream providers to offer as buttons (chose:federate): microsoft, google, "
            "facebook, oidc. One the deployment has not configured is not shown.",
            _providers,
        ),
        "user_names": Setting(
            bool,
            False,
            "Also take a user name in the email address field, for accounts moved from a "
            "B2C tenant whose local accounts signed in with a user name.",
        ),
    }

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        if context.get(keys.USER_OBJECT_ID) and not context.get(keys.CHOICE):
            return StepOk()
        return StepInvalid({})

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        state = form_state(context, step_id)
        if state.get("link_sent"):
            # An account moved from B2C: its old password could not be checked.
            return Page(step_id, "steps/password_link_sent.html",
                        values={"to": state["link_sent"]}, settings=settings)
        email = context.get(keys.SIGNIN_EMAIL) or context.get(keys.LOGIN_HINT) or ""
        offered = [
            {"name": name, "label": label}
            for name, label in services.federation_providers()
            if name in settings["providers"]
        ]
        values = {"email": email, "providers": offered, "last_route": context.get(keys.LAST_ROUTE),
                  "password_set": bool(state.get("password_set"))}
        return Page(step_id, self.template, values=values, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        action = form.get("action", "")
        if form_state(context, self.step_id):
            # "Back to sign in" from the emailed-link page, or any sign-in after a notice.
            cleared = with_form_state(context, self.step_id, {}, {})
            if form_state(context, self.step_id).get("link_sent"):
                email = context.get(keys.SIGNIN_EMAIL) or ""
                return StepInvalid({}, {"email": email}, updates=cleared)
            context = {**context, **cleared}
        provider = action.removeprefix("federate:")
        offered = provider in settings["providers"]
        switched_on = offered and provider in dict(services.federation_providers())
        if action.startswith("federate:") and switched_on:
            return StepOk(
                {
                    keys.CHOICE: "federate",
                    keys.KEEP_SIGNED_IN: form.get("keep_signed_in") == "yes",
                    keys.FEDERATION_PROVIDER: provider,
                    keys.FEDERATION_RESULT: None,
                    keys.FEDERATION_ERROR: None,
                }
            )
        if action in CHOICES and settings.get(action):
            email = form.get("email", "").strip()
            return StepOk({keys.CHOICE: action, keys.SIGNIN_EMAIL: email})
        email = form.get("email", "").strip()
        password = form.get("password", "")
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = (
                N_("Enter your email address or user name")
                if settings["user_names"] else N_("Enter your email address")
            )
        elif not is_email_address(email) and ("@" in email or not settings["user_names"]):
            errors["email"] = N_(
                "Enter an email address in the correct format, like name@example.com"
            )
        if not password:
            errors["password"] = N_("Enter your password")
        if errors:
            return StepInvalid(errors, {"email": email})
        outcome, object_id = services.check_local_password(email, password)
        if outcome == "locked":
            minutes = max(1, -(-services.lockout_seconds(email) // 60))
            return StepInvalid({"email": _locked_message(minutes)}, {"email": email})
        if outcome == "link_sent":
            to = masked_email(email) if "@" in email else ""
            state = {"link_sent": to or "-"}
            return StepInvalid({}, {"email": email}, updates=with_form_state(
                context, self.step_id, state, {keys.SIGNIN_EMAIL: email}))
        if outcome in ("busy", "no_link", "link_failed"):
            message = {"busy": _BUSY, "no_link": _NO_LINK, "link_failed": _LINK_FAILED}[outcome]
            return StepInvalid({"password": message}, {"email": email})
        if outcome != "ok" or object_id is None:
            return StepInvalid({"email": _WRONG_CREDENTIALS}, {"email": email})
        return StepOk(
            {
                keys.USER_OBJECT_ID: object_id,
                keys.ROUTE: "local",
                keys.AMR: ["pwd"],
                keys.SIGNIN_EMAIL: email,
                keys.CHOICE: None,
                keys.KEEP_SIGNED_IN: form.get("keep_signed_in") == "yes",
                **with_form_state(context, self.step_id, {}, {}),
            }
        )
