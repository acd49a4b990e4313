"""Steps that write accounts: create one, wait for its activation link, save a new
password, move to a new email address. None of them has a page of questions; each runs
as soon as the journey reaches it, and shows a page only when there is something to say.
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
from idp.journeys.steps.email_code import NOT_SENT
from idp.mfa.codes import seconds_until_resend

ACTIVATION = ("none", "link")
_SIGNED_IN_LOCALLY = {keys.ROUTE: "local", keys.AMR: ["pwd"]}


def _activation(value: str) -> str | None:
    return None if value in ACTIVATION else f"must be one of {', '.join(ACTIVATION)}"


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be more than 0"


def _account_claims(context: dict[str, Any]) -> dict[str, Any]:
    claims = keys.claims_in(context)
    claims.pop("email", None)
    return claims


@register
class CreateLocalAccount(StepType):
    """Creates the local account from what earlier steps gathered, in one transaction.

    With ``activation = "none"`` the email was proven by code (``verify_email_code``) and
    the person is signed in at once. With ``activation = "link"`` nothing is created yet:
    the sign-up waits for its activation link (the ``activation_link`` step comes next),
    and following it makes the account. The address is not yet proven, so when it
    already has an account the page says the same as for a new one and the email
    explains. Concurrent sign-ups for one address make one account: the database's
    unique identity decides, and the others hear the address is taken.
    Example::

        [[steps]]
        id = "create"
        type = "create_local_account"
        skip_if = ["not:chose:sign_up"]
        [steps.settings]
        activation = "link"
    """

    name = "create_local_account"
    template = "steps/account_exists.html"
    automatic = True
    provides = (keys.USER_OBJECT_ID, keys.NEW_USER, keys.ACTIVATION_REF)
    settings_schema = {
        "activation": Setting(
            str, "none", "none (the email was verified by code) or link.", _activation
        ),
    }

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        state = form_state(context, step_id)
        values = {"email": context.get(keys.EMAIL_VERIFIED), "route": state.get("route")}
        return Page(step_id, self.template, values=values, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        action = form.get("action")
        onward = sign_in_or_reset(context, action)
        if onward is not None:
            return onward
        if form_state(context, self.step_id).get("route"):
            return StepInvalid({})
        password_hash = context.get(keys.PASSWORD_HASH)
        if not password_hash:
            raise MissingStep(f"step {self.step_id} needs a password from an earlier step")
        link = settings["activation"] == "link"
        email = context.get(keys.claim("email")) if link else context.get(keys.EMAIL_VERIFIED)
        if not email:
            raise MissingStep(f"step {self.step_id} needs an email address from an earlier step")
        claims = _account_claims(context)
        consent = context.get(keys.PRIVACY_CONSENT)
        if consent:
            claims["privacy_consent"] = consent
        done = {keys.PASSWORD_HASH: None}
        if link:
            reference, went = services.start_pending_signup(email, password_hash, claims)
            sent = int(services.now().timestamp()) if went else None
            return StepOk(
                {
                    **done,
                    keys.ACTIVATION_REF: reference,
                    keys.ACTIVATION_EMAIL: email,
                    keys.ACTIVATION_SENT_AT: sent,
                }
            )
        object_id = services.create_local_account(email, password_hash, claims)
        if object_id is None:
            route = services.account_route(email) or "local"
            return StepInvalid(
                {}, updates=with_form_state(context, self.step_id, {"route": route}, done)
            )
        return StepOk(
            {**done, keys.USER_OBJECT_ID: object_id, keys.NEW_USER: True, **_SIGNED_IN_LOCALLY}
        )


@register
class AwaitActivation(StepType):
    """ "Check your email": waits for the activation link, with "Resend activation email".

    Following the link in this browser carries the journey on by itself; "Continue" does
    the same after following it elsewhere. Example::

        [[steps]]
        id = "activate"
        type = "activation_link"
        skip_if = ["not:chose:sign_up"]
        [steps.settings]
        resend_cooldown = 60
    """

    name = "activation_link"
    template = "steps/activation_link.html"
    automatic = True
    provides = (keys.USER_OBJECT_ID, keys.NEW_USER)
    settings_schema = {
        "resend_cooldown": Setting(
            int, 60, "Seconds before 'Resend activation email' may send again.", _positive
        ),
        "max_sends": Setting(
            int, 5, "Activation emails one sign-up may send, the first included.", _positive
        ),
    }

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        wait = seconds_until_resend(
            context.get(keys.ACTIVATION_SENT_AT), services.now(), settings["resend_cooldown"]
        )
        values = {
            "email": context.get(keys.ACTIVATION_EMAIL),
            "resend_in": wait,
            "not_sent": context.get(keys.ACTIVATION_SENT_AT) is None,
        }
        return Page(step_id, self.template, values=values, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        reference = context.get(keys.ACTIVATION_REF)
        email = context.get(keys.ACTIVATION_EMAIL)
        if not email or not reference:
            raise MissingStep(f"step {self.step_id} needs create_local_account before it")
        object_id = services.pending_signup_account(reference)
        if object_id:
            return StepOk(
                {keys.USER_OBJECT_ID: object_id, keys.NEW_USER: True, **_SIGNED_IN_LOCALLY}
            )
        action = form.get("action")
        if action == "resend":
            now = services.now()
            wait = seconds_until_resend(
                context.get(keys.ACTIVATION_SENT_AT), now, settings["resend_cooldown"]
            )
            if wait:
                return StepInvalid(
                    {
                        "resend": N_(
                            "Wait {n} seconds, then select 'Resend activation email'"
                        ).format(n=wait)
                    }
                )
            sends = int(context.get(keys.ACTIVATION_SENDS, 1))
            if sends >= settings["max_sends"]:
                return StepInvalid(
                    {
                        "resend": N_(
                            "We have sent as many activation emails as we can for this "
                            "sign-up. Use the newest one, or sign up again later"
                        )
                    }
                )
            when = _send_activation(services, reference)
            if when is None:
                return StepInvalid({"resend": NOT_SENT})
            sent = {keys.ACTIVATION_SENT_AT: when, keys.ACTIVATION_SENDS: sends + 1}
            return StepInvalid({}, {"resent": True}, sent)
        if action == "continue":
            return StepInvalid(
                {
                    "continue": N_(
                        "Your account is not active yet. Select the link in the email we "
                        "sent to {email}, then select Continue"
                    ).format(email=email)
                }
            )
        return StepInvalid({})


@register
class FindLocalAccount(StepType):
    """Knows the person by the email address they just proved by code, with no method
    counted yet, so a second factor can follow before anything changes (a password
    reset: "mfa" comes next, then "new_password" and "reset_password"). Example::

        [[steps]]
        id = "reset_identify"
        type = "find_local_account"
        skip_if = ["not:chose:password_reset"]
    """

    name = "find_local_account"
    template = "steps/account_exists.html"
    automatic = True
    provides = (keys.USER_OBJECT_ID, keys.ROUTE)
    settings_schema: dict[str, Setting] = {}

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        email = context.get(keys.EMAIL_VERIFIED)
        if not email:
            raise MissingStep(f"step {self.step_id} needs verify_email_code before it")
        object_id = services.local_account(email)
        if object_id is None:
            # Codes for a reset go only to local accounts: this one went a moment ago.
            raise MissingStep(f"step {self.step_id}: {email} has no local account any more")
        if context.get(keys.USER_OBJECT_ID) == object_id:
            return StepOk()
        return StepOk({keys.USER_OBJECT_ID: object_id, keys.ROUTE: "local", keys.AMR: []})


@register
class SavePassword(StepType):
    """Saves the new password for the proven email address and signs the person in.

    Put ``find_local_account`` and an ``mfa`` step before it, so a mailbox alone cannot
    change a password. Saving ends every other session and revokes every refresh token
    of the account. (Lifting a password lockout joins it with the brute-force defences.)
    Example (after ``verify_email_code`` with ``purpose = "password_reset"``,
    ``find_local_account``, ``mfa`` and ``new_password``)::

        [[steps]]
        id = "save_password"
        type = "reset_password"
    """

    name = "reset_password"
    template = "steps/account_exists.html"
    automatic = True
    provides = (keys.USER_OBJECT_ID,)
    settings_schema: dict[str, Setting] = {}

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        email = context.get(keys.EMAIL_VERIFIED)
        password_hash = context.get(keys.PASSWORD_HASH)
        if not email or not password_hash:
            raise MissingStep(
                f"step {self.step_id} needs verify_email_code and new_password before it"
            )
        object_id = services.set_password(email, password_hash)
        if object_id is None:
            # Only a code sent to a local account can be verified here, so this is an
            # account deleted a moment ago.
            raise MissingStep(f"step {self.step_id}: {email} has no local account any more")
        # Saving signed everyone out, this browser's old session too; finishing makes a
        # new one.
        updates = {keys.PASSWORD_HASH: None, keys.USER_OBJECT_ID: object_id, keys.SESSION_SID: None}
        if context.get(keys.USER_OBJECT_ID) != object_id:
            updates.update(_SIGNED_IN_LOCALLY)
        return StepOk(updates)


@register
class ChangeEmail(StepType):
    """Moves the signed-in person's local account to the address just proven by code.

    Example (after ``verify_email_code`` with ``purpose = "change_email"``)::

        [[steps]]
        id = "save_email"
        type = "change_email"
    """

    name = "change_email"
    template = "steps/verify_email_code.html"
    automatic = True
    provides = (keys.claim("email"),)
    settings_schema: dict[str, Setting] = {}

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        object_id = context.get(keys.USER_OBJECT_ID)
        email = context.get(keys.EMAIL_VERIFIED)
        if not object_id or not email:
            raise MissingStep(f"step {self.step_id} needs a signed-in person and a proven email")
        if not services.change_email(object_id, email):
            raise MissingStep(f"step {self.step_id}: {email} was taken a moment ago")
        return StepOk({keys.claim("email"): email, keys.SESSION_SID: None})


def _send_activation(services: JourneyServices, reference: str) -> int | None:
    """Send a fresh activation email; when it went (for the cool-down), or None if it
    could not go, so "Resend activation email" works at once."""
    if not services.resend_pending_signup(reference):
        return None
    return int(services.now().timestamp())


class MissingStep(RuntimeError):
    """A policy put a step before the steps it depends on: a policy bug, shown as a 500."""
