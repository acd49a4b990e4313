"""docs/policies.md, generated from the code so the reference and the language never drift.

Every step type, setting, skip condition, form field and password rule is read from its
registry (with its docstring, default and type); only the words about the policy file's own
fields live here, in tables a test checks against the loader. Print it with
``idp policies docs``; tests/test_policy_docs.py checks the committed file matches::

    idp policies docs > docs/policies.md
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import json
import re
import textwrap
import tomllib
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from idp.config import PROJECT_ROOT, SETTINGS
from idp.journeys import context as keys
from idp.journeys.conditions import ARGUMENTS, CONDITIONS
from idp.journeys.fields import FIELDS, NOT_CLAIMS, Field
from idp.journeys.policy import (
    POLICY_ID,
    SESSION_SETTINGS,
    STEP_ID,
    TOKEN_SETTINGS,
    PolicyError,
    load_policy_file,
    parse_policy,
)
from idp.journeys.steps import STEP_TYPES, StepType
from idp.journeys.steps.forms import FormStep
from idp.security.password_rules import PasswordRules

SHIPPED_POLICIES = PROJECT_ROOT / "policies"
REGENERATE = "idp policies docs > docs/policies.md"

#: The top-level fields of a policy file: (type, required or default, what it does).
POLICY_FIELDS: dict[str, tuple[str, str, str]] = {
    "id": (
        "text",
        "required",
        "The policy's name, as portals write it in their authority URL "
        "(`/{tenant}/{policy}/v2.0/...`) or as `?p={policy}`. Letters, digits and _ "
        f"(`{POLICY_ID.pattern}`). Matched without regard to case, so no two files may "
        "use ids that differ only in case.",
    ),
    "display_name": (
        "text",
        "the id",
        "A name for people, shown by `idp policies list`.",
    ),
    "steps": (
        "list of tables",
        "required",
        "The journey's steps (see Step fields). At least one, and one of them must sign "
        "the person in.",
    ),
    "tokens": ("table", "none", "Token lifetimes for this policy (see `[tokens]`)."),
    "claims": (
        "list of text",
        "`[]`",
        "Claims this policy puts in its ID tokens whatever scopes the portal asks for, "
        "as a B2C user flow's application claims do (`given_name`, `emails`, "
        "`phone_number`). A claim the person has no value for is left out.",
    ),
    "session": ("table", "none", "Single sign-on for this policy (see `[session]`)."),
    "password": ("table", "none", "The rules new passwords must meet (see `[password]`)."),
}

#: The fields of one ``[[steps]]`` table: (type, required or default, what it does).
STEP_FIELDS: dict[str, tuple[str, str, str]] = {
    "id": (
        "text",
        "required",
        "The step's name, unique within the policy; errors and pages use it. Lower-case "
        f"letters, digits, - and _ (`{STEP_ID.pattern}`).",
    ),
    "order": (
        "whole number",
        "100 times the step's place in the file",
        "Steps run lowest first. Leave gaps (100, 200, ...) so a step can go in between "
        "without renumbering the others.",
    ),
    "type": ("text", "required", "One of the step types below."),
    "settings": (
        "table",
        "`{}`",
        "The step type's settings; any left out take their defaults, and an unknown one "
        "is an error.",
    ),
    "skip_if": (
        "list",
        "`[]`",
        "Conditions that skip the step (see Skip conditions).",
    ),
}

#: What a step puts into the journey for later steps, in plain words, by context key.
CONTEXT_WORDS: dict[str, str] = {
    keys.USER_OBJECT_ID: "who the person is (this step signs them in)",
    keys.ROUTE: "how they signed in (`local` or a provider; see `route:`)",
    keys.AMR: "the authentication methods used, for the `amr` claim",
    keys.NEW_USER: "that the account was made in this journey (`new_user`, `newUser`)",
    keys.ACTIVATION_REF: "the sign-up waiting for its activation link",
    keys.EMAIL_VERIFIED: "the email address proven by code (`email_verified`)",
    keys.PASSWORD_HASH: "a new password, kept only as a hash until a later step saves it",
    keys.PRIVACY_CONSENT: "agreement to the privacy policy: its version and when",
}

EXAMPLE_FILE = "policies/B2C_1_example.toml"
EXAMPLE_POLICY = """\
id = "B2C_1_example"
display_name = "Sign up or sign in"
claims = ["given_name", "family_name", "emails"]

[tokens]
id_token_lifetime = 3600

[session]
single_sign_on = true

[password]
min_length = 10

[[steps]]
id = "signin"
order = 100
type = "signin_page"
[steps.settings]
heading = "Sign in to the example portal"
sign_up = true

[[steps]]
id = "verify_email"
order = 200
type = "verify_email_code"
skip_if = ["not:chose:sign_up"]
[steps.settings]
purpose = "sign_up"

[[steps]]
id = "details"
order = 300
type = "collect_claims"
skip_if = ["not:chose:sign_up"]
[steps.settings]
fields = ["password", "given_name", "family_name"]
button = "Create"

[[steps]]
id = "create"
order = 400
type = "create_local_account"
skip_if = ["not:chose:sign_up"]
"""

SKIP_EXAMPLE = 'skip_if = ["signed_in", ["not:new_user", "claim_exists:given_name,family_name"]]'

#: Wrong versions of the example policy, to show real error messages.
_MISTAKES: tuple[tuple[str, str | None, Any], ...] = (
    ("settings", "colour", "blue"),
    ("settings", "heading", 5),
    ("skip_if", None, ["is_raining"]),
)


def policy_reference(shipped: Path | None = None) -> str:
    """The Markdown of docs/policies.md; ``shipped`` is the folder of shipped policies."""
    sections = [
        _title(),
        _introduction(),
        _policy_fields(),
        _step_fields(),
        _tokens(),
        _session(),
        _password(),
        _conditions(),
        _form_fields(),
        _step_types(),
        _shipped_policies(SHIPPED_POLICIES if shipped is None else shipped),
    ]
    return "\n\n".join(s.strip("\n") for s in sections) + "\n"


# -- the sections ---------------------------------------------------------------------


def _title() -> str:
    contents = [
        "What a policy is",
        "An example",
        "Checking and listing policies",
        "Policy fields",
        "Step fields",
        "[tokens]",
        "[session]",
        "[password]",
        "Skip conditions",
        "Form fields",
        "Step types",
        "Shipped policies",
    ]
    return "\n".join(
        [
            "# Policy reference",
            "",
            "<!-- Generated from the code by `idp policies docs`. Do not edit this file: change",
            f"     the code and run `{REGENERATE}`. -->",
            "",
            *[f"- [{name}](#{_anchor(name)})" for name in contents],
        ]
    )


def _introduction() -> str:
    folder = SETTINGS["paths.policies"].default
    signers = ", ".join(f"`{name}`" for name in _signing_step_types())
    example = parse_policy(tomllib.loads(EXAMPLE_POLICY), EXAMPLE_FILE)
    first = example.steps[0]
    return f"""\
## What a policy is

A policy is one journey a person can take: sign in, sign up, reset a password, edit a
profile. A portal names the policy in its authority URL (`/{{tenant}}/{{policy}}/v2.0/...`)
or as `?p={{policy}}`, as it would an Azure AD B2C user flow.

Each policy is one TOML file in the `{folder}/` folder (the setting `paths.policies` can
name another). A policy file is data, never code: it lists steps from a fixed set of step
types, their settings, and the conditions that skip them. Gatehouse reads every `*.toml`
file in the folder when it starts. A wrong file stops it starting, with a message that
names the file, the step and the field.

A journey runs its steps in `order`, lowest first. Just before each step, Gatehouse checks
the step's `skip_if` conditions, and skips the step if one holds. Some steps show a page
and wait for the person; others run by themselves. By the last step someone must be
signed in, and then the portal gets its code. So every policy needs at least one step
that signs the person in; these step types do: {signers}.

## An example

```toml
{EXAMPLE_POLICY.rstrip()}
```

Everyone starts at the sign-in page (`{first.id}`). A person who selects "Sign up now"
proves their email address by code, chooses a password and gives their name, and the
account is made. Anyone who signs in with a password skips the sign-up steps.

## Checking and listing policies

```sh
idp policies check                         # check every file in {folder}/
idp policies check {folder}/B2C_1_new.toml  # check only the files named
idp policies list                          # each policy's id, display name and steps
{REGENERATE}       # write this page again
```

`idp policies check` prints `ok: FILE (ID)` for each good file and `error: MESSAGE` for each
wrong one, and fails (exit status 1) if any file is wrong. `idp policies list` prints one
line a policy: its id, display name and steps as `id(type)`. Neither starts Gatehouse or
needs its database, so both suit a pre-commit hook or CI.

Every error names the file, then the step, then the field. For example:

```text
{_error_examples()}
```"""


def _policy_fields() -> str:
    rows = [[f"`{n}`", t, d, words] for n, (t, d, words) in POLICY_FIELDS.items()]
    return "## Policy fields\n\n" + _table(["field", "type", "default", "what it does"], rows)


def _step_fields() -> str:
    rows = [[f"`{n}`", t, d, words] for n, (t, d, words) in STEP_FIELDS.items()]
    return "## Step fields\n\nEach `[[steps]]` table has these fields.\n\n" + _table(
        ["field", "type", "default", "what it does"], rows
    )


def _tokens() -> str:
    rows = []
    for name in TOKEN_SETTINGS:
        setting = SETTINGS[f"tokens.{name}"]
        rows.append([f"`{name}`", f"`tokens.{name}` ({setting.default})", setting.doc])
    return "\n".join(
        [
            "## [tokens]",
            "",
            "Token lifetimes in seconds, each a whole number above 0. A lifetime set in a",
            "client's registration wins over the policy's; one left out here takes the",
            "deployment's setting.",
            "",
            "```toml",
            "[tokens]",
            f"{TOKEN_SETTINGS[0]} = 1800",
            "```",
            "",
            _table(["setting", "default (deployment setting)", "what it does"], rows),
        ]
    )


def _session() -> str:
    rows = [
        [f"`{name}`", _type_word(kind), f"`{_toml(default)}`", doc]
        for name, (kind, default, doc) in sorted(SESSION_SETTINGS.items())
    ]
    return "\n".join(
        [
            "## [session]",
            "",
            "How the policy treats a browser that is already signed in.",
            "",
            "```toml",
            "[session]",
            "single_sign_on = false",
            "idle_timeout = 900",
            "```",
            "",
            _table(["setting", "type", "default", "what it does"], rows),
        ]
    )


def _password() -> str:
    docs = password_rule_docs()
    rows = [
        [f"`{f.name}`", _type_word(type(f.default)), f"`{_toml(f.default)}`", docs[f.name]]
        for f in dataclass_fields(PasswordRules)
    ]
    return "\n".join(
        [
            "## [password]",
            "",
            "The rules a new password must meet, on every page of this policy that asks for",
            "one. Rules left out keep their defaults.",
            "",
            "```toml",
            "[password]",
            "min_length = 10",
            "min_strength = 3",
            "```",
            "",
            _table(["rule", "type", "default", "what it does"], rows),
        ]
    )


def _conditions() -> str:
    rows = []
    for name in sorted(CONDITIONS):
        argument = ARGUMENTS.get(name)
        written = f"`{name}:` then {argument}" if argument else f"`{name}`"
        rows.append([f"`{name}`", written, _one_line(CONDITIONS[name].__doc__ or "")])
    return f"""\
## Skip conditions

A step's `skip_if` is a list of conditions. The step is skipped when any entry holds.

- A condition is a name from the table below, like `signed_in`.
- Some take one argument after a colon, like `chose:sign_up`.
- `not:` in front turns a condition round: `not:chose:sign_up` holds unless the person
  chose to sign up.
- An entry that is itself a list holds only when all of its conditions hold.

```toml
{SKIP_EXAMPLE}
```

This skips the step when the person is already signed in, or when the account is not new
and already has both a given name and a family name.

{_table(["condition", "how to write it", "holds when"], rows)}"""


def _form_fields() -> str:
    rows = [
        [
            f"`{f.name}`",
            f.label,
            f"`{f.kind}`",
            "none" if f.name in NOT_CLAIMS else f"`{f.name}`",
        ]
        for f in FIELDS.values()
    ]
    return f"""\
## Form fields

Form steps ({", ".join(f"`{n}`" for n in _form_step_types())}) ask questions from this
fixed list. A step names them in its `fields` setting, in the order the page shows them.
Every field must be answered unless the step lists it in `optional`. The `labels` setting
gives a field other words on that step's page:

```toml
fields = ["given_name", "family_name", "phone_number"]
optional = ["phone_number"]
labels = {{ given_name = "First name", family_name = "Last name" }}
```

{_one_line(Field.__doc__ or "")}

{_table(["field", "standard label", "kind", "claim it fills"], rows)}"""


def _step_types() -> str:
    overview = [
        [f"[`{name}`](#{_anchor(name)})", _summary(STEP_TYPES[name]), _runs(STEP_TYPES[name])[0]]
        for name in sorted(STEP_TYPES)
    ]
    parts = [
        "## Step types",
        _table(["type", "what it does", "page"], overview),
        *[_step_type(name, STEP_TYPES[name]) for name in sorted(STEP_TYPES)],
    ]
    return "\n\n".join(parts)


def _step_type(name: str, step_type: type[StepType]) -> str:
    rows = [
        [f"`{setting}`", _type_word(spec.type), f"`{_toml(spec.default)}`", spec.doc]
        for setting, spec in step_type.settings_schema.items()
    ]
    settings = (
        _table(["setting", "type", "default", "what it does"], rows)
        if rows
        else "This step type has no settings."
    )
    provided = [f"- `{key}`: {_context_words(key)}" for key in step_type.provides]
    if issubclass(step_type, FormStep):
        provided.append("- `claims.<field>`: the answer to each field that fills a claim")
    lines = [
        f"### {name}",
        "",
        render_docstring(step_type.__doc__ or ""),
        "",
        f"**Runs:** {_runs(step_type)[1]}",
        "",
        *_provides(provided),
        "",
        "**Settings:**",
        "",
        settings,
    ]
    return "\n".join(lines)


def _provides(items: list[str]) -> list[str]:
    if not items:
        return ["**Provides:** nothing."]
    return ["**Provides** (for later steps and conditions):", "", *items]


def _shipped_policies(folder: Path) -> str:
    files = sorted(folder.glob("*.toml"))
    if not files:
        return "## Shipped policies\n\nNo policies are shipped in this installation."
    policies = sorted((load_policy_file(path) for path in files), key=lambda p: p.id.lower())
    names = {policy.source: Path(policy.source).name for policy in policies}
    parts = [
        "## Shipped policies",
        f"Gatehouse comes with these policies in `{folder.name}/`. Copy one to start a new one.",
    ]
    for policy in policies:
        rows = [
            [
                str(step.order),
                f"`{step.id}`",
                f"[`{step.type}`](#{_anchor(step.type)})",
                _skip_words(step.skip_if),
            ]
            for step in policy.steps
        ]
        parts.append(
            f"### {policy.id}\n\n"
            f"{policy.display_name}, in `{folder.name}/{names[policy.source]}`.\n\n"
            + _table(["order", "step", "type", "skipped when"], rows)
        )
    return "\n\n".join(parts)


# -- reading the code -----------------------------------------------------------------


def password_rule_docs() -> dict[str, str]:
    """Each PasswordRules field's attribute docstring (the string under it), as one line."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(PasswordRules)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = _one_line(following.value.value)
    return docs


def docstring_parts(doc: str) -> list[tuple[str, str]]:
    """A reST-style docstring as ("text", line) and ("example", block) parts, in order.

    A line ending in ``::`` introduces the indented block after it, as in every step
    type's docstring: ``Example::`` then the ``[[steps]]`` table.
    """
    lines = inspect.cleandoc(doc).splitlines()
    parts: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::"):
            parts.append(("text", line))
            continue
        lead = line.rstrip()[:-2].rstrip()
        if lead:
            parts.append(("text", lead + ":"))
        block: list[str] = []
        while index < len(lines) and (not lines[index].strip() or lines[index][0].isspace()):
            block.append(lines[index])
            index += 1
        parts.append(("example", textwrap.dedent("\n".join(block)).strip("\n")))
    return parts


def step_example(step_type: type[StepType]) -> str | None:
    """The TOML example in a step type's docstring, or None when it has none."""
    examples = [
        text for kind, text in docstring_parts(step_type.__doc__ or "") if kind == "example"
    ]
    return examples[0] if examples else None


def render_docstring(doc: str) -> str:
    """A docstring as Markdown: ``code`` as `code`, example blocks fenced as TOML."""
    out: list[str] = []
    text: list[str] = []
    for kind, part in docstring_parts(doc):
        if kind == "text":
            text.append(part)
            continue
        # Inline code may run over a line break, so convert the lines together.
        out += _inline("\n".join(text)).split("\n") if text else []
        text = []
        if out and out[-1]:
            out.append("")
        out += ["```toml", part, "```", ""]
    out += _inline("\n".join(text)).split("\n") if text else []
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# -- small helpers --------------------------------------------------------------------


def _error_examples() -> str:
    base = tomllib.loads(EXAMPLE_POLICY)
    messages = []
    for where, name, value in _MISTAKES:
        data = copy.deepcopy(base)
        step = data["steps"][0]
        if name is None:
            step[where] = value
        else:
            step.setdefault(where, {})[name] = value
        try:
            parse_policy(data, EXAMPLE_FILE)
        except PolicyError as error:
            messages.append(str(error))
        else:  # pragma: no cover - a mistake the loader accepts is a bug in this list
            raise AssertionError(f"the loader accepted a wrong policy: {where} {name}")
    return "\n".join(messages)


def _signing_step_types() -> list[str]:
    return [n for n in sorted(STEP_TYPES) if keys.USER_OBJECT_ID in STEP_TYPES[n].provides]


def _form_step_types() -> list[str]:
    return [n for n in sorted(STEP_TYPES) if issubclass(STEP_TYPES[n], FormStep)]


def _runs(step_type: type[StepType]) -> tuple[str, str]:
    """Short and long words for how a step type runs."""
    if step_type.automatic:
        return (
            "only when needed",
            "by itself, as soon as the journey reaches it. It shows a page only when it "
            "has something to tell or ask the person.",
        )
    return ("yes", "shows a page and waits for the person to submit it.")


def _context_words(key: str) -> str:
    if key in CONTEXT_WORDS:
        return CONTEXT_WORDS[key]
    if key.startswith(keys.CLAIMS):
        return f"the `{key[len(keys.CLAIMS) :]}` claim"
    return "see the step's code"


def _skip_words(rules: tuple[str | list[str], ...]) -> str:
    if not rules:
        return "never"
    words = [
        f"`{rule}`" if isinstance(rule, str) else " and ".join(f"`{c}`" for c in rule)
        for rule in rules
    ]
    return " or ".join(words)


def _summary(step_type: type[StepType]) -> str:
    """The first paragraph of a docstring, on one line."""
    first = inspect.cleandoc(step_type.__doc__ or "").split("\n\n")[0]
    return _inline(_one_line(first))


def _one_line(text: str) -> str:
    return _inline(" ".join(inspect.cleandoc(text).split()))


def _inline(text: str) -> str:
    return re.sub(r"``(.+?)``", r"`\1`", text, flags=re.DOTALL)


def _type_word(kind: type) -> str:
    return {
        bool: "true or false",
        int: "whole number",
        str: "text",
        list: "list",
        dict: "table",
    }.get(kind, kind.__name__)


def _toml(value: Any) -> str:
    """A value as a policy file would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, - for spaces."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
