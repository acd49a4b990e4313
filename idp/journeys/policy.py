"""Policy files: TOML data declaring a journey's steps, settings, skip conditions and tokens.

A policy (example: policies/B2C_1_signin.toml)::

    id = "B2C_1_signin"
    display_name = "Sign in"

    [tokens]                 # optional; seconds
    id_token_lifetime = 3600

    [session]                # optional
    single_sign_on = true    # a signed-in browser skips this policy's pages

    [password]               # optional; the rules new passwords must meet
    min_length = 8

    [[steps]]
    id = "signin"
    order = 100              # gapped ordering: insert a step at 150 without renumbering
    type = "signin_page"
    skip_if = []             # conditions from journeys/conditions.py
    [steps.settings]
    sign_up_link = true

A wrong policy is refused at load time with the file, the step and the field in the message.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idp.journeys.conditions import SkipRule, problem
from idp.journeys.context import USER_OBJECT_ID
from idp.journeys.steps import STEP_TYPES
from idp.security.password_rules import PasswordRules

POLICY_ID = re.compile(r"^[A-Za-z0-9_]{1,100}$")
STEP_ID = re.compile(r"^[a-z0-9_\-]{1,60}$")
TOKEN_SETTINGS = ("id_token_lifetime", "access_token_lifetime", "refresh_token_lifetime")
_POLICY_FIELDS = {"id", "display_name", "steps", "tokens", "claims", "session", "password"}
SESSION_SETTINGS = {
    "single_sign_on": (
        bool,
        True,
        "A browser already signed in (by any policy) counts as signed in here: the "
        "steps run with the person known, and those with nothing to ask pass, so a "
        "portal gets its code without a page when nothing is missing. false makes the "
        "person sign in again every time.",
    ),
    "lifetime": (
        int,
        0,
        "Seconds a session begun by this policy lasts at most (an absolute timeout); 0 "
        "uses the deployment's sessions.lifetime.",
    ),
    "idle_timeout": (
        int,
        0,
        "Seconds a session begun by this policy may go unused before the person signs in "
        "again; 0 uses the deployment's sessions.idle_timeout.",
    ),
    "keep_me_signed_in": (
        bool,
        False,
        "Offer 'Keep me signed in' on the sign-in page: ticked, the session outlives the "
        "browser and lasts sessions.keep_signed_in_lifetime, with no idle timeout. Leave "
        "it off where people share computers.",
    ),
}
_STEP_FIELDS = {"id", "order", "type", "settings", "skip_if"}


class PolicyError(ValueError):
    """A policy file is wrong; the message names the file, the step and the field."""


@dataclass(frozen=True)
class StepSpec:
    id: str
    order: int
    type: str
    settings: dict[str, Any]
    skip_if: tuple[SkipRule, ...] = ()


@dataclass(frozen=True)
class Policy:
    id: str
    display_name: str
    steps: tuple[StepSpec, ...]
    tokens: dict[str, int] = field(default_factory=dict)
    claims: tuple[str, ...] = ()
    source: str = ""
    session: dict[str, Any] = field(default_factory=dict)
    password: PasswordRules = field(default_factory=PasswordRules)

    @property
    def single_sign_on(self) -> bool:
        return bool(self.session.get("single_sign_on", True))

    @property
    def keep_me_signed_in(self) -> bool:
        return bool(self.session.get("keep_me_signed_in", False))


def _step(raw: Any, where: str, index: int) -> StepSpec:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: steps[{index}] must be a table")
    label = f"{where}: step {raw.get('id', f'#{index + 1}')!s}"
    unknown = sorted(set(raw) - _STEP_FIELDS)
    if unknown:
        raise PolicyError(f"{label}: {unknown[0]} is not a step field")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        raise PolicyError(f"{label}: id must be lower-case letters, digits, - or _")
    order = raw.get("order", (index + 1) * 100)
    if not isinstance(order, int) or isinstance(order, bool):
        raise PolicyError(f"{label}: order must be a whole number")
    type_name = raw.get("type")
    step_type = STEP_TYPES.get(type_name) if isinstance(type_name, str) else None
    if step_type is None:
        known = ", ".join(sorted(STEP_TYPES))
        raise PolicyError(f"{label}: type {type_name!r} is not a step type; known: {known}")
    given = raw.get("settings", {})
    if not isinstance(given, dict):
        raise PolicyError(f"{label}: settings must be a table")
    settings: dict[str, Any] = {}
    for name, spec in step_type.settings_schema.items():
        value = given.get(name, spec.default)
        if not isinstance(value, spec.type) or (spec.type is int and isinstance(value, bool)):
            raise PolicyError(
                f"{label}: settings.{name} must be {_kind(spec.type)}, not {_kind(type(value))}"
            )
        trouble = spec.check(value) if spec.check else None
        if trouble:
            raise PolicyError(f"{label}: settings.{name} {trouble}")
        settings[name] = value
    for name in given:
        if name not in step_type.settings_schema:
            known = ", ".join(sorted(step_type.settings_schema)) or "none"
            raise PolicyError(
                f"{label}: settings.{name} is not a setting of {type_name}; known: {known}"
            )
    trouble = step_type.check_settings(settings)
    if trouble:
        raise PolicyError(f"{label}: {trouble}")
    skip_if = raw.get("skip_if", [])
    if not isinstance(skip_if, list):
        raise PolicyError(f"{label}: skip_if must be a list of conditions")
    rules: list[SkipRule] = []
    for rule in skip_if:
        conditions = rule if isinstance(rule, list) else [rule]
        if not conditions or not all(isinstance(c, str) for c in conditions):
            raise PolicyError(f"{label}: skip_if entries must be condition names or lists of them")
        for condition in conditions:
            trouble = problem(condition)
            if trouble:
                raise PolicyError(f"{label}: skip_if {trouble}")
        rules.append(list(conditions) if isinstance(rule, list) else rule)
    trouble = step_type.check_skip(settings, tuple(rules))
    if trouble:
        raise PolicyError(f"{label}: {trouble}")
    return StepSpec(step_id, order, type_name, settings, tuple(rules))


def parse_policy(data: dict[str, Any], where: str) -> Policy:
    unknown = sorted(set(data) - _POLICY_FIELDS)
    if unknown:
        raise PolicyError(f"{where}: {unknown[0]} is not a policy field")
    policy_id = data.get("id")
    if not isinstance(policy_id, str) or not POLICY_ID.match(policy_id):
        raise PolicyError(f"{where}: id must be letters, digits and _ (like B2C_1_signin)")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PolicyError(f"{where}: steps must list at least one step")
    steps = [_step(raw, where, i) for i, raw in enumerate(raw_steps)]
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise PolicyError(f"{where}: step {step.id}: id is used twice")
        seen.add(step.id)
    steps.sort(key=lambda s: s.order)
    if not any(USER_OBJECT_ID in STEP_TYPES[s.type].provides for s in steps):
        raise PolicyError(f"{where}: steps must include one that signs the person in")
    tokens = data.get("tokens", {})
    if not isinstance(tokens, dict):
        raise PolicyError(f"{where}: tokens must be a table")
    for name, value in tokens.items():
        if name not in TOKEN_SETTINGS:
            raise PolicyError(f"{where}: tokens.{name} is not one of {', '.join(TOKEN_SETTINGS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise PolicyError(f"{where}: tokens.{name} must be a positive number of seconds")
    display_name = data.get("display_name", policy_id)
    if not isinstance(display_name, str):
        raise PolicyError(f"{where}: display_name must be text")
    claims = data.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
        raise PolicyError(f"{where}: claims must be a list of claim names")
    session = data.get("session", {})
    if not isinstance(session, dict):
        raise PolicyError(f"{where}: session must be a table")
    for name, value in session.items():
        if name not in SESSION_SETTINGS:
            known = ", ".join(sorted(SESSION_SETTINGS))
            raise PolicyError(f"{where}: session.{name} is not a session setting; known: {known}")
        expected = SESSION_SETTINGS[name][0]
        wrong_type = not isinstance(value, expected) or (
            expected is int and isinstance(value, bool)
        )
        if wrong_type:
            raise PolicyError(f"{where}: session.{name} must be {_kind(expected)}")
        if expected is int and value < 0:
            raise PolicyError(f"{where}: session.{name} must be 0 or more seconds")
    password = data.get("password", {})
    if not isinstance(password, dict):
        raise PolicyError(f"{where}: password must be a table")
    try:
        rules = PasswordRules.from_mapping(password, where)
    except ValueError as error:
        raise PolicyError(str(error)) from None
    return Policy(
        policy_id,
        display_name,
        tuple(steps),
        dict(tokens),
        tuple(claims),
        where,
        dict(session),
        rules,
    )


def _kind(python_type: type) -> str:
    """A TOML reader's word for a Python type, for messages."""
    return {
        bool: "true or false",
        int: "a whole number",
        str: "text",
        list: "a list",
        dict: "a table",
    }.get(python_type, python_type.__name__)


def load_policy_file(path: Path) -> Policy:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    return parse_policy(data, str(path))


class PolicySet:
    """The loaded policies, found by id without regard to case (as B2C does)."""

    def __init__(self, policies: list[Policy]) -> None:
        self._by_key: dict[str, Policy] = {}
        for policy in policies:
            key = policy.id.lower()
            if key in self._by_key:
                raise PolicyError(
                    f"{policy.source}: id {policy.id} is also used by {self._by_key[key].source}"
                )
            self._by_key[key] = policy

    def get(self, policy_id: str | None) -> Policy | None:
        return self._by_key.get(policy_id.lower()) if policy_id else None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_key.values(), key=lambda p: p.id))

    def __len__(self) -> int:
        return len(self._by_key)


def load_policies(folder: Path) -> PolicySet:
    return PolicySet([load_policy_file(path) for path in sorted(folder.glob("*.toml"))])
