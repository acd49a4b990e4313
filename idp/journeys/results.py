"""What a step reports to the executor, and what the executor reports to the views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Page:
    """A page for the view to render: template, values to fill in, errors per field.

    ``errors`` maps a field name to a message naming the field and what to do; the view
    shows them in the error summary and beside each field.
    """

    step_id: str
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepOk:
    """The step is done; ``updates`` are written to the journey context.

    ``restart`` sends the journey back to its first step (with the updates kept), which is
    how "Sign in instead" after "you already have an account" works.
    """

    updates: dict[str, Any] = field(default_factory=dict)
    restart: bool = False


@dataclass(frozen=True)
class StepInvalid:
    """Show the step's page again, with these errors and values.

    ``errors`` may be empty: an in-page action ("Send verification code", "Find address")
    ran and the page has more to ask. ``updates`` are written to the context either way.
    """

    errors: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    updates: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepLeave:
    """The person leaves for an upstream identity provider (``provider``); the journey
    waits where it is and carries on when they come back."""

    provider: str
    updates: dict[str, Any] = field(default_factory=dict)


StepResult = StepOk | StepInvalid | StepLeave


@dataclass(frozen=True)
class Authentication:
    """A finished authentication: the one thing the journey hands to the protocol layer."""

    user_object_id: str
    route: str
    amr: list[str]
    auth_time: int
    new_user: bool = False
    #: The browser session this came from, when nobody signed in anew (single sign-on).
    session_sid: str | None = None
    #: How the person signed in, for the "Last used" mark: "local" or a provider's name.
    sign_in_route: str | None = None
    #: The person ticked "Keep me signed in" (the policy decides whether it counts).
    keep_signed_in: bool = False


@dataclass(frozen=True)
class Completed:
    authentication: Authentication


@dataclass(frozen=True)
class Leave:
    """What the executor reports for StepLeave: send the browser to this provider."""

    provider: str
