"""Skip conditions: a fixed registry, evaluated against the journey context.

A policy names them in ``skip_if``. A condition may take one argument after a colon, and
``not:`` in front turns it round. The list's entries are alternatives (any one skips the
step); an entry that is itself a list holds only when all its conditions hold::

    skip_if = ["signed_in", ["not:new_user", "claim_exists:given_name,family_name"]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.journeys import context as keys

Condition = Callable[[dict[str, Any], str | None], bool]

#: The links a sign-in page offers; ``chose:`` tests which one the person followed.
CHOICES = ("sign_up", "password_reset", "federate")

#: ``amr`` values that mean a second factor was passed (RFC 8176 and B2C's practice).
SECOND_FACTORS = frozenset({"mfa", "sms", "tel", "otp", "email"})


def signed_in(context: dict[str, Any], argument: str | None) -> bool:
    """An earlier step (or the browser's session) has established who the person is."""
    return bool(context.get(keys.USER_OBJECT_ID))


def new_user(context: dict[str, Any], argument: str | None) -> bool:
    """The account was created in this journey."""
    return bool(context.get(keys.NEW_USER))


def claim_exists(context: dict[str, Any], argument: str | None) -> bool:
    """Every named claim has a value: ``claim_exists:given_name,family_name``."""
    names = [n.strip() for n in (argument or "").split(",") if n.strip()]
    return bool(names) and all(context.get(keys.claim(n)) for n in names)


def claim_equals(context: dict[str, Any], argument: str | None) -> bool:
    """A claim has a given value, compared as text: ``claim_equals:country=GB``."""
    name, _, expected = (argument or "").partition("=")
    value = context.get(keys.claim(name.strip()))
    return value is not None and str(value) == expected.strip()


def route(context: dict[str, Any], argument: str | None) -> bool:
    """The person signed in this way: ``route:local``, ``route:social`` or a provider."""
    current = context.get(keys.ROUTE)
    if current is None:
        return False
    if argument == "social":
        return current != "local"
    return bool(current == argument)


def mfa_done(context: dict[str, Any], argument: str | None) -> bool:
    """A second factor has been passed in this journey or the session it began with."""
    return bool(SECOND_FACTORS & set(context.get(keys.AMR, [])))


def chose(context: dict[str, Any], argument: str | None) -> bool:
    """The person followed this link from the sign-in page: ``chose:sign_up``."""
    return bool(argument) and context.get(keys.CHOICE) == argument


def email_verified(context: dict[str, Any], argument: str | None) -> bool:
    """The person has proven an email address by code in this journey."""
    return bool(context.get(keys.EMAIL_VERIFIED))


CONDITIONS: dict[str, Condition] = {
    "signed_in": signed_in,
    "new_user": new_user,
    "claim_exists": claim_exists,
    "claim_equals": claim_equals,
    "route": route,
    "mfa_done": mfa_done,
    "chose": chose,
    "email_verified": email_verified,
}
#: Conditions that need an argument, and what it looks like (for messages and docs).
ARGUMENTS = {
    "claim_exists": "claim names separated by commas",
    "claim_equals": "name=value",
    "route": "local, social or a provider name",
    "chose": "sign_up or password_reset",
}

SkipRule = str | list[str]


def problem(condition: str) -> str | None:
    """Why a condition is not well formed, or None when it is."""
    name, _, argument = condition.removeprefix("not:").partition(":")
    if name not in CONDITIONS:
        return f"condition {condition!r} is unknown; known: {', '.join(sorted(CONDITIONS))}"
    if name in ARGUMENTS and not argument:
        return f"condition {name} needs an argument ({name}:{ARGUMENTS[name]})"
    if name not in ARGUMENTS and argument:
        return f"condition {name} takes no argument"
    if (name == "claim_equals" and not argument.partition("=")[0].strip()) or (
        name == "claim_equals" and "=" not in argument
    ):
        return f"condition {condition!r} needs name=value"
    if name == "claim_exists" and not any(n.strip() for n in argument.split(",")):
        return f"condition {condition!r} needs at least one claim name"
    if name == "chose" and argument not in CHOICES:
        return f"condition {condition!r}: the choices are {', '.join(CHOICES)}"
    return None


def holds(condition: str, context: dict[str, Any]) -> bool:
    negated = condition.startswith("not:")
    name, _, argument = condition.removeprefix("not:").partition(":")
    result = CONDITIONS[name](context, argument or None)
    return not result if negated else result


def skips(rules: tuple[SkipRule, ...], context: dict[str, Any]) -> bool:
    """True when any rule holds; a rule that is a list holds when all of it holds."""
    for rule in rules:
        if isinstance(rule, str):
            if holds(rule, context):
                return True
        elif all(holds(c, context) for c in rule):
            return True
    return False
