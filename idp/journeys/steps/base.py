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

from idp.journeys.context import FORM_STATE
from idp.journeys.results import Page, StepResult
from idp.security.password_rules import PasswordRules

SignInResult = Literal["ok", "wrong", "not_activated"]


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
        """("ok", object id), ("not_activated", object id) or ("wrong", None)."""
        ...

    def hash_password(self, password: str) -> str: ...

    def account_route(self, email: str) -> str | None:
        """How the account using this email signs in ("local" or a provider), or None."""
        ...

    def create_local_account(
        self, email: str, password_hash: str, claims: dict[str, Any], activated: bool
    ) -> str | None:
        """Create the account in one transaction; its object id, or None if the email is
        taken (also when another request took it a moment ago)."""
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

    def send_activation(self, object_id: str | None, email: str) -> None:
        """Email an activation link for this account, or, when ``object_id`` is None,
        tell the address's owner that it already has an account."""
        ...

    def is_activated(self, object_id: str) -> bool: ...

    def find_addresses(self, postcode: str) -> list[dict[str, str]]:
        """Addresses at a normalised postcode as dicts of Address fields; raises
        ``AddressLookupError`` when the lookup service fails."""
        ...


#: Kept for the name steps used first; the protocol grew beyond accounts.
AccountDirectory = JourneyServices


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


STEP_TYPES: dict[str, type[StepType]] = {}


def register(step_type: type[StepType]) -> type[StepType]:
    if not step_type.name or step_type.name in STEP_TYPES:
        raise ValueError(f"step type {step_type.__name__} needs a unique name")
    STEP_TYPES[step_type.name] = step_type
    return step_type
