"""The base of every step type, its settings schema and the registry.

A step type declares its settings (checked when a policy loads), shows a page and judges a
submission. It never advances the journey itself: it reports ``StepOk`` or ``StepInvalid``
to the executor, and shares data only through named context keys. Example::

    @register
    class Greeting(StepType):
        '''Says hello. ``[steps.settings] text = "Hello"``'''
        name = "greeting"
        settings_schema = {"text": Setting(str, "Hello", "What to say.")}
        template = "steps/greeting.html"

        def submit(self, context, form, settings, services):
            return StepOk()

A step with ``automatic = True`` has no page: the executor calls ``submit`` with an empty
form as soon as the journey reaches it (creating the account, saving a password).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from idp.journeys.context import CHOICE, EMAIL_VERIFIED, FORM_STATE, SIGNIN_EMAIL
from idp.journeys.results import Page, StepOk, StepResult
from idp.security.password_rules import PasswordRules

#: "link_sent": an account moved from B2C whose password the old tenant could not check
#: was emailed a link to set one; "busy": too many of those checks at once, try again.
#: "no_link": no email can reach that account; "link_failed": the email did not go.
SignInResult = Literal["ok", "wrong", "locked", "link_sent", "busy", "no_link", "link_failed"]


class JourneyServices(Protocol):
    """What steps may ask of the rest of Gatehouse; implemented in journeys/services.py.

    Steps get plain values back and never see a request, a session or a database row.
    """

    journey_id: str
    password_rules: PasswordRules

    def now(self) -> datetime:
        """The injected clock's time."""
        ...

    def check_local_password(self, email: str, password: str) -> tuple[SignInResult, str | None]:
        """("ok", object id), ("wrong", None), or ("locked", None) when too many wrong
        passwords for this address have locked it for a while (security/lockout.py).
        ``email`` may be a user name (accounts moved from B2C). An account moved from B2C
        whose password has not followed yet is checked with the old tenant, and may answer
        ("link_sent", None) or ("busy", None) (idp/migrate/passwords.py)."""
        ...

    def lockout_seconds(self, email: str) -> int:
        """Seconds until a locked address may try a password again; 0 if it is not locked."""
        ...

    def hash_password(self, password: str) -> str: ...

    def account_route(self, email: str) -> str | None:
        """How the account using this email signs in ("local" or a provider), or None."""
        ...

    def create_local_account(
        self, email: str, password_hash: str, claims: dict[str, Any]
    ) -> str | None:
        """Create the account (its email proven) in one transaction; its object id, or
        None if the address has an account by any route (also one made a moment ago)."""
        ...

    def start_pending_signup(
        self, email: str, password_hash: str, claims: dict[str, Any]
    ) -> tuple[str, bool]:
        """Keep a sign-up until its activation link is followed, and email the link (or,
        when the address has an account, say so instead): a reference for the journey,
        and whether the email went."""
        ...

    def resend_pending_signup(self, reference: str) -> bool:
        """A fresh link (the old one stops working), or the same note as before; whether
        the email went."""
        ...

    def pending_signup_account(self, reference: str) -> str | None:
        """The account's object id once its link has been followed, else None."""
        ...

    def local_account(self, email: str) -> str | None:
        """The object id of the local account signed in with this email, if any."""
        ...

    def set_password(self, email: str, password_hash: str) -> str | None:
        """Replace the local account's password (and activate it, since the email was just
        proven); its object id, or None when the email has no local account."""
        ...

    def load_claims(self, object_id: str) -> dict[str, Any]: ...

    def save_claims(self, object_id: str, claims: dict[str, Any]) -> None: ...

    def change_email(self, object_id: str, new_email: str) -> bool:
        """Move the local account to a new, verified address; False if it is taken."""
        ...

    def privacy_version_agreed(self, object_id: str) -> str | None: ...

    def record_privacy_consent(self, object_id: str, version: str) -> None: ...

    def send_email(self, kind: str, to: str, values: dict[str, Any]) -> None:
        """Send one of Gatehouse's emails (templates/email/<kind>.txt and .html)."""
        ...

    # -- second factors (steps/mfa.py) -------------------------------------------------
    def mfa_status(self, object_id: str) -> dict[str, Any]:
        """{"phone": {"number", "type"} or None, "app": bool, "email": str or None,
        "blocked_until": epoch seconds or None, "recovery_codes": how many are left,
        "app_moved": used an app at B2C and has not set one up here}."""
        ...

    def mfa_recent(self, object_id: str, seconds: int) -> dict[str, int]:
        """{"sent": codes sent, "wrong": wrong codes} for the account over the last
        ``seconds``, across journeys, since its last passed second factor."""
        ...

    def send_sms(self, to: str, body: str, data: dict[str, Any]) -> None:
        """Send a text message; raises ``MessageNotSent``."""
        ...

    def place_call(self, to: str, code: str) -> None:
        """Call and read the code aloud, slowly, twice; raises ``MessageNotSent``."""
        ...

    def save_phone(self, object_id: str, number: str, kind: str, changed: bool) -> None:
        """Record a proven phone as the account's MFA phone and its phone_number claim."""
        ...

    def block_mfa(self, object_id: str, until: datetime, reason: str) -> None: ...

    def seal(self, secret: str) -> str:
        """Encrypt a secret to keep in the journey context until it is saved."""
        ...

    def unseal(self, sealed: str) -> str: ...

    def save_app(self, object_id: str, secret: str, step: int, recovery_hashes: list[str]) -> None:
        """Record an authenticator app (its first accepted time step) and recovery codes."""
        ...

    def check_app_code(self, object_id: str, code: str) -> bool:
        """A code from the enrolled app, never accepted twice."""
        ...

    def use_recovery_code(self, object_id: str, code: str) -> bool: ...

    def audit(self, event: str, object_id: str | None, details: dict[str, Any]) -> None: ...

    # -- upstream providers (steps/federation.py) --------------------------------------
    def federation_providers(self) -> list[tuple[str, str]]:
        """(name, label) of the providers this deployment has switched on."""
        ...

    def federated_account(
        self, provider: str, issuer: str, subject: str
    ) -> tuple[str | None, bool]:
        """(object id, enabled) of the account this provider's (issuer, subject) created,
        or (None, False)."""
        ...

    def create_federated_account(self, upstream: dict[str, Any], keep_email: bool) -> str:
        """Create the account an upstream identity enters from now on."""
        ...

    def find_addresses(self, postcode: str) -> list[dict[str, str]]:
        """Addresses at a normalised postcode as dicts of Address fields; raises
        ``AddressLookupError`` when the lookup service fails."""
        ...


#: Kept for the name steps used first; the protocol grew beyond accounts.
AccountDirectory = JourneyServices


class IdentityTaken(Exception):
    """An upstream identity's (issuer, subject) already belongs to another route: a
    provider posing as another, or a misconfiguration. Nothing is made."""


@dataclass(frozen=True)
class Setting:
    """A step setting: its type, default and what it does (docs/policies.md shows ``doc``).

    ``check`` returns a complaint about a value of the right type, or None.
    """

    type: type
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None


class StepType:
    name: ClassVar[str] = ""
    template: ClassVar[str] = ""
    settings_schema: ClassVar[dict[str, Setting]] = {}
    #: What the step puts into the journey context (for docs and policy checks).
    provides: ClassVar[tuple[str, ...]] = ()
    #: No page: the executor runs ``submit`` with an empty form on arrival.
    automatic: ClassVar[bool] = False

    def __init__(self, step_id: str = "") -> None:
        self.step_id = step_id

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> str | None:
        """A complaint about the settings taken together, or None (override per type)."""
        return None

    @classmethod
    def check_skip(cls, settings: dict[str, Any], skip_if: tuple[Any, ...]) -> str | None:
        """A complaint about the settings beside the step's skip conditions, or None."""
        return None

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        """For an automatic step: what to do when the journey reaches it. By default the
        same as a submission with nothing in it."""
        return self.submit(context, {}, settings, services)

    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        """The page to show when the journey arrives at this step."""
        return Page(step_id=step_id, template=self.template, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        """Judge a submission of this step's page."""
        raise NotImplementedError


def form_state(context: dict[str, Any], step_id: str) -> dict[str, Any]:
    """What a step remembers about its own page between requests (phase, lookups)."""
    state: dict[str, Any] = context.get(FORM_STATE, {}).get(step_id, {})
    return state


def with_form_state(
    context: dict[str, Any], step_id: str, state: dict[str, Any], updates: dict[str, Any]
) -> dict[str, Any]:
    """``updates`` plus the step's new page state, ready for StepOk or StepInvalid."""
    forms = dict(context.get(FORM_STATE, {}))
    forms[step_id] = state
    return {**updates, FORM_STATE: forms}


def sign_in_or_reset(context: dict[str, Any], action: str | None) -> StepOk | None:
    """The two ways on from "you already have an account": "Sign in" (back to the
    sign-in page with the proven address filled in) or "Reset your password"."""
    if action == "sign_in":
        email = context.get(EMAIL_VERIFIED)
        return StepOk({CHOICE: None, SIGNIN_EMAIL: email}, restart=True)
    if action == "reset_password":
        return StepOk({CHOICE: "password_reset"}, restart=True)
    return None


STEP_TYPES: dict[str, type[StepType]] = {}


def register(step_type: type[StepType]) -> type[StepType]:
    if not step_type.name or step_type.name in STEP_TYPES:
        raise ValueError(f"step type {step_type.__name__} needs a unique name")
    STEP_TYPES[step_type.name] = step_type
    return step_type
