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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from idp.journeys.results import Page, StepResult


class AccountDirectory(Protocol):
    """What steps may ask of the account store; implemented in journeys/directory.py."""

    def check_local_password(self, email: str, password: str) -> str | None:
        """Return the account's object id when the email and password match, else None."""
        ...


@dataclass(frozen=True)
class Setting:
    type: type
    default: Any
    doc: str


class StepType:
    name: ClassVar[str] = ""
    template: ClassVar[str] = ""
    settings_schema: ClassVar[dict[str, Setting]] = {}
    #: What the step puts into the journey context (for docs and policy checks).
    provides: ClassVar[tuple[str, ...]] = ()

    def page(
        self, step_id: str, context: dict[str, Any], settings: dict[str, Any]
    ) -> Page:
        """The page to show when the journey arrives at this step."""
        return Page(step_id=step_id, template=self.template, settings=settings)

    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: AccountDirectory,
    ) -> StepResult:
        """Judge a submission of this step's page."""
        raise NotImplementedError


STEP_TYPES: dict[str, type[StepType]] = {}


def register(step_type: type[StepType]) -> type[StepType]:
    if not step_type.name or step_type.name in STEP_TYPES:
        raise ValueError(f"step type {step_type.__name__} needs a unique name")
    STEP_TYPES[step_type.name] = step_type
    return step_type
