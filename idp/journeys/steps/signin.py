"""The sign-in page for local accounts: "Email address", "Password", "Sign in"."""

from __future__ import annotations

from typing import Any

from idp.journeys import context as keys
from idp.journeys.context import N_
from idp.journeys.results import Page, StepInvalid, StepOk, StepResult
from idp.journeys.steps.base import AccountDirectory, Setting, StepType, register
from idp.validation import is_email_address

_WRONG_CREDENTIALS = N_(
    "Enter the email address and password for your account. If you have forgotten your "
    "password, you can reset it."
)


@register
class LocalSignInPage(StepType):
    """Signs a person in with their email address and password.

    Wrong credentials get one answer that does not say which was wrong, so the page never
    reveals whether an email is registered. Example::

        [[steps]]
        id = "signin"
        type = "signin_page"
        [steps.settings]
        heading = "Sign in to the Parent Portal"
    """

    name = "signin_page"
    template = "steps/signin.html"
    provides = (keys.USER_OBJECT_ID, keys.ROUTE, keys.AMR)
    settings_schema = {
        "heading": Setting(str, "Sign in", "The page's heading."),
    }

    def page(self, step_id: str, context: dict[str, Any], settings: dict[str, Any]) -> Page:
        email = context.get(keys.SIGNIN_EMAIL) or context.get(keys.LOGIN_HINT) or ""
        return Page(step_id, self.template, values={"email": email}, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: AccountDirectory,
    ) -> StepResult:
        email = form.get("email", "").strip()
        password = form.get("password", "")
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = N_("Enter your email address")
        elif not is_email_address(email):
            errors["email"] = N_(
                "Enter an email address in the correct format, like name@example.com"
            )
        if not password:
            errors["password"] = N_("Enter your password")
        if errors:
            return StepInvalid(errors, {"email": email})
        object_id = services.check_local_password(email, password)
        if object_id is None:
            return StepInvalid({"email": _WRONG_CREDENTIALS}, {"email": email})
        return StepOk(
            {
                keys.USER_OBJECT_ID: object_id,
                keys.ROUTE: "local",
                keys.AMR: ["pwd"],
                keys.SIGNIN_EMAIL: email,
            }
        )
