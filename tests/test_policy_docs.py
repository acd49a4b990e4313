"""docs/policies.md: generated from the code, complete, and committed as generated."""

from __future__ import annotations

import tomllib
from dataclasses import fields

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.config import PROJECT_ROOT, SETTINGS
from idp.journeys import context as keys
from idp.journeys import policy as policy_module
from idp.journeys.conditions import CONDITIONS, problem
from idp.journeys.docs import (
    CONTEXT_WORDS,
    EXAMPLE_POLICY,
    POLICY_FIELDS,
    REGENERATE,
    SKIP_EXAMPLE,
    STEP_FIELDS,
    password_rule_docs,
    policy_reference,
    render_docstring,
    step_example,
)
from idp.journeys.fields import FIELDS
from idp.journeys.policy import SESSION_SETTINGS, TOKEN_SETTINGS, parse_policy
from idp.journeys.steps import STEP_TYPES
from idp.security.password_rules import PasswordRules

COMMITTED = PROJECT_ROOT / "docs" / "policies.md"
SHIPPED = PROJECT_ROOT / "policies"


@pytest.fixture(scope="module")
def reference() -> str:
    return policy_reference()


def section(reference: str, heading: str) -> str:
    """The text under one heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = reference.index(f"\n{heading}\n")
    ends = [reference.find(f"\n{'#' * n} ", start + 1) for n in range(1, len(level) + 1)]
    ends = [e for e in ends if e != -1]
    return reference[start : min(ends) if ends else len(reference)]


# -- generated and committed --------------------------------------------------------------


def test_the_committed_docs_match_the_generated_reference(reference: str) -> None:
    assert COMMITTED.exists(), f"docs/policies.md is missing: run `{REGENERATE}`"
    assert COMMITTED.read_text() == reference, (
        f"docs/policies.md is out of date with the code: run `{REGENERATE}`"
    )


def test_idp_policies_docs_prints_the_reference_without_a_config_or_a_secret(
    reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.delenv("IDP_SERVER_SECRET_KEY", raising=False)

    result = CliRunner().invoke(main, ["policies", "docs"])

    assert result.exit_code == 0, result.output
    assert result.output == reference


def test_the_reference_is_the_same_every_time(reference: str) -> None:
    assert policy_reference() == reference


# -- complete -----------------------------------------------------------------------------


def test_every_step_type_has_its_own_section_in_alphabetical_order(reference: str) -> None:
    headings = [
        line[4:]
        for line in section(reference, "## Step types").splitlines()
        if line.startswith("### ")
    ]
    assert headings == sorted(STEP_TYPES)


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_every_setting_of_a_step_type_is_documented_with_its_default(
    reference: str, name: str
) -> None:
    text = section(reference, f"### {name}")
    for setting, spec in STEP_TYPES[name].settings_schema.items():
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{setting}` |")]
        assert spec.doc in row
    if not STEP_TYPES[name].settings_schema:
        assert "no settings" in text


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_every_step_type_says_whether_it_shows_a_page_and_what_it_provides(
    reference: str, name: str
) -> None:
    text = section(reference, f"### {name}")
    assert "**Runs:**" in text
    assert "**Provides" in text
    for key in STEP_TYPES[name].provides:
        assert f"`{key}`" in text


def test_every_provided_context_key_has_plain_words() -> None:
    provided = {key for t in STEP_TYPES.values() for key in t.provides}
    unexplained = sorted(
        k for k in provided if k not in CONTEXT_WORDS and not k.startswith(keys.CLAIMS)
    )
    assert not unexplained, f"add these to CONTEXT_WORDS in idp/journeys/docs.py: {unexplained}"


def test_every_condition_is_documented_with_its_docstring(reference: str) -> None:
    text = section(reference, "## Skip conditions")
    for name, condition in CONDITIONS.items():
        assert f"| `{name}` |" in text
        assert " ".join((condition.__doc__ or "").split()).replace("``", "`") in text
    assert "`not:`" in text


def test_every_form_field_is_documented_with_its_label_and_kind(reference: str) -> None:
    text = section(reference, "## Form fields")
    for field in FIELDS.values():
        assert f"| `{field.name}` | {field.label} | `{field.kind}` |" in text


def test_every_policy_and_step_field_the_loader_knows_is_documented(reference: str) -> None:
    assert set(POLICY_FIELDS) == policy_module._POLICY_FIELDS
    assert set(STEP_FIELDS) == policy_module._STEP_FIELDS
    for name in POLICY_FIELDS:
        assert f"| `{name}` |" in section(reference, "## Policy fields")
    for name in STEP_FIELDS:
        assert f"| `{name}` |" in section(reference, "## Step fields")


def test_every_token_session_and_password_setting_is_documented(reference: str) -> None:
    for name in TOKEN_SETTINGS:
        assert SETTINGS[f"tokens.{name}"].doc in section(reference, "## [tokens]")
    for name in SESSION_SETTINGS:
        assert f"| `{name}` |" in section(reference, "## [session]")
    rule_docs = password_rule_docs()
    text = section(reference, "## [password]")
    for rule in fields(PasswordRules):
        assert rule_docs.get(rule.name), f"PasswordRules.{rule.name} needs a docstring"
        assert f"| `{rule.name}` |" in text and rule_docs[rule.name] in text


def test_every_shipped_policy_is_listed_with_its_steps(reference: str) -> None:
    text = section(reference, "## Shipped policies")
    for path in SHIPPED.glob("*.toml"):
        data = tomllib.loads(path.read_text())
        policy = section(text, f"### {data['id']}")
        assert f"`policies/{path.name}`" in policy
        for step in data["steps"]:
            assert f"| `{step['id']}` | [`{step['type']}`]" in policy


# -- examples that are right ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_every_step_type_docstring_has_an_example(name: str) -> None:
    example = step_example(STEP_TYPES[name])
    assert example, (
        f"step type {name} needs an example in its docstring: a line ending in '::' "
        "followed by an indented [[steps]] table"
    )
    steps = tomllib.loads(example).get("steps")
    assert isinstance(steps, list) and [s.get("type") for s in steps] == [name]


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_every_step_type_example_loads_as_a_policy_step(name: str) -> None:
    steps = tomllib.loads(step_example(STEP_TYPES[name]) or "")["steps"]
    signs_in = keys.USER_OBJECT_ID in STEP_TYPES[name].provides
    extra = [] if signs_in else [{"id": "docs-signin", "order": 1, "type": "signin_page"}]

    parse_policy({"id": "B2C_1_docs", "steps": extra + steps}, f"{name} example")


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_every_step_type_example_is_shown_as_a_toml_block(reference: str, name: str) -> None:
    example = step_example(STEP_TYPES[name])
    assert f"```toml\n{example}\n```" in section(reference, f"### {name}")


def test_the_example_policy_and_skip_example_load() -> None:
    parse_policy(tomllib.loads(EXAMPLE_POLICY), "example")
    for rule in tomllib.loads(SKIP_EXAMPLE)["skip_if"]:
        for condition in rule if isinstance(rule, list) else [rule]:
            assert problem(condition) is None


def test_a_docstring_example_becomes_a_fenced_toml_block_and_inline_code_single_ticks() -> None:
    doc = """Does a thing with ``x``.

    More about it. Example::

        [[steps]]
        id = "a"

    After.
    """

    assert render_docstring(doc) == (
        "Does a thing with `x`.\n\nMore about it. Example:\n\n"
        '```toml\n[[steps]]\nid = "a"\n```\n\nAfter.'
    )
