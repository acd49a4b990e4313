"""Skip conditions: a fixed registry, evaluated against the journey context.

A policy names them in ``skip_if``; a condition may take one argument after a colon::

    skip_if = ["claim_exists:given_name", "signed_in"]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.journeys import context as keys

Condition = Callable[[dict[str, Any], str | None], bool]


def signed_in(context: dict[str, Any], argument: str | None) -> bool:
    """True once an earlier step has established who the person is."""
    return bool(context.get(keys.USER_OBJECT_ID))


def claim_exists(context: dict[str, Any], argument: str | None) -> bool:
    """True when the context already holds the named claim (``claim_exists:given_name``)."""
    return bool(argument) and bool(context.get(f"claims.{argument}"))


CONDITIONS: dict[str, Condition] = {
    "signed_in": signed_in,
    "claim_exists": claim_exists,
}


def holds(condition: str, context: dict[str, Any]) -> bool:
    name, _, argument = condition.partition(":")
    return CONDITIONS[name](context, argument or None)
