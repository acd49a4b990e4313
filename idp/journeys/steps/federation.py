"""Signing in with Microsoft, Google, Facebook or another OpenID provider.

An identity from a provider is its (issuer, subject), never its email (DESIGN.md,
principle 1): it enters only the account it created. The first sign-in creates that
account; when the email it brings belongs to an account made another way, the person is
told which way to sign in instead and nothing is made — unless the policy opts into B2C's
separate accounts.
"""

from __future__ import annotations

from typing import Any

from idp.journeys import context as keys
from idp.journeys.context import N_
from idp.journeys.results import Page, StepInvalid, StepLeave, StepOk, StepResult
from idp.journeys.steps.base import (
    IdentityTaken,
    JourneyServices,
    Setting,
    StepType,
    form_state,
    register,
    with_form_state,
)

#: How routes read on pages ("You created your account with Google").
ROUTE_WORDS = {"google": "Google", "microsoft": "Microsoft", "facebook": "Facebook"}
_TAKEN = N_("We could not sign you in with that account. Contact us for help.")
_DISABLED = N_("Your account has been switched off. Contact us if you think this is a mistake.")


@register
class FederatedSignIn(StepType):
    """Sends the person to the provider they chose on the sign-in page, and signs them in
    with what comes back ("Sign in with Google"). Put it after the sign-in page, run only
    when that choice was made. Example::

        [[steps]]
        id = "federate"
        type = "federated_sign_in"
        skip_if = ["not:chose:federate"]
        [steps.settings]
        separate_accounts = false
    """

    name = "federated_sign_in"
    template = "steps/federation.html"
    automatic = True
    provides = (keys.USER_OBJECT_ID, keys.ROUTE, keys.AMR, keys.NEW_USER)
    settings_schema = {
        "separate_accounts": Setting(
            bool,
            False,
            "true: an email that belongs to an account made another way still gets a new, "
            "separate account (B2C's behaviour); false: the person is told how to sign in.",
        ),
    }

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        state = form_state(context, self.step_id)
        if state.get("phase") and state.get("phase") != "waiting":
            return StepInvalid({})
        error = context.get(keys.FEDERATION_ERROR)
        if error:
            return self._told(context, "failed", message=error.get("message", ""))
        result = context.get(keys.FEDERATION_RESULT)
        provider = context.get(keys.FEDERATION_PROVIDER)
        if not result:
            if not provider:
                raise RuntimeError(f"step {self.step_id} needs a provider chosen before it")
            if state.get("left"):
                # Back from the provider without an answer (its own Back button): offer
                # to go again or back, rather than bounce straight back there.
                return self._told(context, "waiting", provider=provider, left=True)
            return StepLeave(provider, with_form_state(context, self.step_id, {"left": True}, {}))
        return self._signed_in(context, result, settings, services)

    def _signed_in(
        self,
        context: dict[str, Any],
        upstream: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        gone = {keys.FEDERATION_RESULT: None}
        provider = upstream["provider"]
        signed_in = {keys.ROUTE: upstream["idp"], keys.AMR: ["fed"], **gone}
        object_id, enabled = services.federated_account(
            provider, upstream["issuer"], upstream["subject"]
        )
        if object_id and not enabled:
            services.audit("federation.account_disabled", object_id, {"provider": provider})
            return self._told(context, "failed", gone, message=_DISABLED)
        if object_id:
            services.audit("federation.signed_in", object_id, {"provider": provider})
            return StepOk({keys.USER_OBJECT_ID: object_id, **signed_in})
        # Only an address the provider vouches for is looked up, kept or passed on: any
        # Entra tenant's owner can put any address on an account.
        email = upstream.get("email") if upstream.get("email_verified") else None
        upstream = {**upstream, "email": email}
        route = services.account_route(email) if email else None
        if route is not None and not settings["separate_accounts"]:
            # The address has an account made another way: say which, make nothing.
            services.audit(
                "federation.route_refused",
                None,
                {"provider": upstream["provider"], "existing_route": route},
            )
            same = route == provider  # the same provider, another account there
            return self._told(context, "other_route", gone, route=route, same_provider=same)
        try:
            object_id = services.create_federated_account(upstream, keep_email=route is None)
        except IdentityTaken:
            services.audit("federation.identity_taken", None, {"provider": provider})
            return self._told(context, "failed", gone, message=_TAKEN)
        return StepOk({keys.USER_OBJECT_ID: object_id, keys.NEW_USER: True, **signed_in})

    def _told(
        self,
        context: dict[str, Any],
        phase: str,
        updates: dict[str, Any] | None = None,
        **state: Any,
    ) -> StepInvalid:
        new_state = {"phase": phase, **state}
        return StepInvalid({}, {}, with_form_state(context, self.step_id, new_state, updates or {}))

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        state = form_state(context, step_id)
        route = state.get("route", "")
        labels = {**ROUTE_WORDS, **dict(services.federation_providers())}
        values = {
            "phase": state.get("phase", ""),
            "route": route,
            "route_words": labels.get(route, route),
            "same_provider": state.get("same_provider", False),
            "provider_words": labels.get(state.get("provider", ""), ""),
            "message": state.get("message", ""),
        }
        return Page(step_id, self.template, values=values, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        provider = context.get(keys.FEDERATION_PROVIDER)
        if form.get("action") == "continue" and provider:
            # "Continue to Google": leave again.
            return StepLeave(provider, with_form_state(context, self.step_id, {"left": True}, {}))
        # "Back to sign in": start again at the sign-in page.
        cleared = {
            keys.CHOICE: None,
            keys.FEDERATION_PROVIDER: None,
            keys.FEDERATION_RESULT: None,
            keys.FEDERATION_ERROR: None,
        }
        return StepOk(cleared, restart=True)
