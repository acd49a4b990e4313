"""The policy language: skip conditions, the tables a policy may have, and the refusals a
wrong policy gets (naming the file, the step and the field), at load time and from
``idp policies check``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.config import PROJECT_ROOT
from idp.journeys import context as keys
from idp.journeys.conditions import CONDITIONS, holds, skips
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.policy import PolicyError, load_policies, parse_policy
from idp.journeys.results import Page
from tests.fakes import FakeServices

WHERE = "policies/test.toml"
SHIPPED = PROJECT_ROOT / "policies"
SIGNIN = {"id": "signin", "order": 900, "type": "signin_page"}


def policy_with(step: dict[str, Any] | None = None, **tables: Any) -> dict[str, Any]:
    """A policy's data: ``step`` (if any) first, then a sign-in step, then ``tables``."""
    steps = [step, SIGNIN] if step else [SIGNIN]
    return {"id": "B2C_1_test", "steps": steps, **tables}


def step(step_type: str, settings: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": "x", "order": 100, "type": step_type, "settings": settings or {}, **fields}


# -- each skip condition -----------------------------------------------------------------

CONDITION_CASES = [
    ("signed_in", {keys.USER_OBJECT_ID: "object-1"}, True),
    ("signed_in", {}, False),
    ("new_user", {keys.NEW_USER: True}, True),
    ("new_user", {keys.NEW_USER: False}, False),
    ("claim_exists:given_name", {keys.claim("given_name"): "Jenny"}, True),
    ("claim_exists:given_name", {keys.claim("given_name"): ""}, False),
    ("claim_exists:given_name", {}, False),
    (
        "claim_exists:given_name,family_name",
        {keys.claim("given_name"): "Jenny", keys.claim("family_name"): "Hinsen"},
        True,
    ),
    ("claim_exists:given_name, family_name", {keys.claim("given_name"): "Jenny"}, False),
    ("claim_equals:country=GB", {keys.claim("country"): "GB"}, True),
    ("claim_equals:country=GB", {keys.claim("country"): "FR"}, False),
    ("claim_equals:country=GB", {}, False),
    ("claim_equals:age=42", {keys.claim("age"): 42}, True),
    ("route:local", {keys.ROUTE: "local"}, True),
    ("route:local", {keys.ROUTE: "google"}, False),
    ("route:local", {}, False),
    ("route:social", {keys.ROUTE: "google"}, True),
    ("route:social", {keys.ROUTE: "local"}, False),
    ("route:social", {}, False),
    ("route:google", {keys.ROUTE: "google"}, True),
    ("route:google", {keys.ROUTE: "facebook"}, False),
    ("mfa_done", {keys.AMR: ["pwd", "mfa"]}, True),
    ("mfa_done", {keys.AMR: ["pwd", "sms"]}, True),
    ("mfa_done", {keys.AMR: ["pwd", "tel"]}, True),
    ("mfa_done", {keys.AMR: ["pwd", "otp"]}, True),
    ("mfa_done", {keys.AMR: ["pwd", "email"]}, True),
    ("mfa_done", {keys.AMR: ["pwd"]}, False),
    ("mfa_done", {}, False),
    ("chose:sign_up", {keys.CHOICE: "sign_up"}, True),
    ("chose:sign_up", {keys.CHOICE: "password_reset"}, False),
    ("chose:password_reset", {keys.CHOICE: "password_reset"}, True),
    ("chose:sign_up", {}, False),
    ("email_verified", {keys.EMAIL_VERIFIED: "jenny@example.com"}, True),
    ("email_verified", {}, False),
    # "not:" turns any of them round.
    ("not:signed_in", {}, True),
    ("not:signed_in", {keys.USER_OBJECT_ID: "object-1"}, False),
    ("not:chose:sign_up", {keys.CHOICE: "sign_up"}, False),
    ("not:chose:sign_up", {keys.CHOICE: "password_reset"}, True),
    ("not:claim_equals:country=GB", {keys.claim("country"): "FR"}, True),
]


@pytest.mark.parametrize(("condition", "context", "expected"), CONDITION_CASES)
def test_each_condition_holds_only_when_the_context_says_so(condition, context, expected):
    assert holds(condition, context) is expected


def test_every_registered_condition_is_in_the_table():
    tested = {c.removeprefix("not:").partition(":")[0] for c, _, _ in CONDITION_CASES}
    assert tested == set(CONDITIONS)


def test_a_skip_list_skips_when_any_one_entry_holds():
    rules = ("signed_in", "email_verified")
    assert skips(rules, {keys.EMAIL_VERIFIED: "jenny@example.com"})
    assert skips(rules, {keys.USER_OBJECT_ID: "object-1"})
    assert not skips(rules, {})
    assert not skips((), {keys.USER_OBJECT_ID: "object-1"})


@pytest.mark.parametrize(("context", "skipped"), [
    ({keys.claim("title"): "Mrs", keys.claim("given_name"): "Jenny"}, True),
    ({keys.claim("title"): "Mrs", keys.claim("given_name"): "Jenny", keys.NEW_USER: True}, False),
    ({keys.claim("given_name"): "Jenny"}, False),
    ({keys.NEW_USER: True}, False),
])
def test_a_list_entry_holds_only_when_all_of_its_conditions_hold(context, skipped):
    rule = ["not:new_user", "claim_exists:title,given_name"]
    assert skips((rule,), context) is skipped


def test_a_step_whose_all_of_entry_holds_is_skipped_by_the_executor():
    review = step(
        "review_details",
        {"fields": ["title", "given_name"]},
        skip_if=["mfa_done", ["not:new_user", "claim_exists:title,given_name"]],
    )
    loaded = parse_policy(policy_with(review), WHERE)
    known = {keys.claim("title"): "Mrs", keys.claim("given_name"): "Jenny"}

    returning = Executor(loaded, FakeServices()).show(JourneyProgress(0, dict(known)), 1)
    newcomer = Executor(loaded, FakeServices()).show(
        JourneyProgress(0, {**known, keys.NEW_USER: True}), 1
    )

    assert isinstance(returning, Page) and returning.step_id == "signin"
    assert isinstance(newcomer, Page) and newcomer.step_id == "x"


def test_a_policy_keeps_a_list_entry_as_a_list_and_a_name_as_a_name():
    loaded = parse_policy(
        policy_with(step("signin_page", skip_if=["signed_in", ["not:new_user", "mfa_done"]])),
        WHERE,
    )
    assert loaded.steps[0].skip_if == ("signed_in", ["not:new_user", "mfa_done"])


# -- wrong policies ----------------------------------------------------------------------

WRONG_POLICIES = [
    pytest.param(
        policy_with(step("signin_page", skip_if=["not:raining"])), "x", "skip_if",
        "condition 'not:raining' is unknown", id="unknown-condition",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=["claim_exists"])), "x", "skip_if",
        "condition claim_exists needs an argument", id="condition-missing-its-argument",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=["chose:"])), "x", "skip_if",
        "condition chose needs an argument", id="condition-with-an-empty-argument",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=["signed_in:yes"])), "x", "skip_if",
        "condition signed_in takes no argument", id="argument-to-a-condition-that-takes-none",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=["claim_equals:country"])), "x", "skip_if",
        "needs name=value", id="claim-equals-without-equals",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=[["signed_in", "claim_equals:country"]])),
        "x", "skip_if", "needs name=value", id="a-bad-condition-inside-a-list-entry",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if="signed_in")), "x", "skip_if",
        "skip_if must be a list", id="skip-if-not-a-list",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=[["signed_in", 3]])), "x", "skip_if",
        "skip_if entries must be condition names or lists of them", id="nested-entry-not-strings",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=[["signed_in", ["new_user"]]])), "x", "skip_if",
        "skip_if entries must be", id="nested-entry-nested-again",
    ),
    pytest.param(
        policy_with(step("signin_page", skip_if=[[]])), "x", "skip_if",
        "skip_if entries must be", id="empty-nested-entry",
    ),
    pytest.param(
        policy_with(session={"remember_me": True}), None, "session.remember_me",
        "is not a session setting; known: idle_timeout, keep_me_signed_in, lifetime, "
        "single_sign_on", id="unknown-session-key",
    ),
    pytest.param(
        policy_with(session={"single_sign_on": "yes"}), None, "session.single_sign_on",
        "must be true or false", id="wrong-type-in-session",
    ),
    pytest.param(
        policy_with(session=["single_sign_on"]), None, "session",
        "session must be a table", id="session-not-a-table",
    ),
    pytest.param(
        policy_with(password={"min_symbols": 2}), None, "password.min_symbols",
        "is not a password rule", id="unknown-password-key",
    ),
    pytest.param(
        policy_with(password={"min_length": 20, "max_length": 10}), None, "password.max_length",
        "must not be less than password.min_length", id="password-min-above-max",
    ),
    pytest.param(
        policy_with(password={"min_length": "8"}), None, "password.min_length",
        "must be a whole number", id="password-rule-of-the-wrong-type",
    ),
    pytest.param(
        policy_with(step("verify_email_code", {"purpose": "telepathy"})), "x",
        "settings.purpose", "must be one of sign_up, password_reset, change_email",
        id="verify-email-code-purpose-telepathy",
    ),
    pytest.param(
        policy_with(step("verify_email_code", {"code_lifetime": 0})), "x",
        "settings.code_lifetime", "must be more than 0", id="code-lifetime-zero",
    ),
    pytest.param(
        policy_with(step("verify_email_code", {"max_attempts": -1})), "x",
        "settings.max_attempts", "must be more than 0", id="max-attempts-negative",
    ),
    pytest.param(
        policy_with(step("create_local_account", {"activation": "carrier-pigeon"})), "x",
        "settings.activation", "must be one of none, link", id="activation-carrier-pigeon",
    ),
    pytest.param(
        policy_with(step("collect_claims", {"fields": ["given_name", "shoe_size"]})), "x",
        "settings.fields", "has unknown field 'shoe_size'", id="collect-claims-unknown-field",
    ),
    pytest.param(
        policy_with(step("collect_claims", {"fields": []})), "x",
        "settings.fields", "must list at least one field", id="collect-claims-no-fields",
    ),
    pytest.param(
        policy_with(step("collect_claims", {"fields": ["given_name"], "optional": ["title"]})),
        "x", "settings.optional", "names 'title', which is not in settings.fields",
        id="optional-names-a-field-not-asked",
    ),
    pytest.param(
        policy_with(step("collect_claims", {"fields": ["email", "privacy_consent"]})), "x",
        "settings.privacy_version", "is needed with the privacy_consent field",
        id="privacy-consent-without-a-version",
    ),
    pytest.param(
        policy_with(step("privacy_consent")), "x", "settings.privacy_version",
        "is needed with the privacy_consent field", id="privacy-consent-step-without-a-version",
    ),
    pytest.param(
        policy_with(step("review_details", {"labels": {"shoe_size": "Shoe size"}})), "x",
        "settings.labels", "has unknown field 'shoe_size'", id="labels-with-an-unknown-field",
    ),
    pytest.param(
        policy_with(step("review_details", {"labels": {"given_name": 5}})), "x",
        "settings.labels", "values must be text", id="labels-that-are-not-text",
    ),
    pytest.param(
        policy_with(step("collect_claims", {"fields": "given_name"})), "x",
        "settings.fields", "must be a list, not text", id="text-where-a-list-belongs",
    ),
    pytest.param(
        policy_with(step("collect_claims", {"button": ["Create"]})), "x",
        "settings.button", "must be text, not a list", id="list-where-text-belongs",
    ),
    pytest.param(
        policy_with(step("verify_email_code", {"resend_cooldown": True})), "x",
        "settings.resend_cooldown", "must be a whole number, not true or false",
        id="true-where-a-number-belongs",
    ),
    pytest.param(
        policy_with(step("edit_profile", {"labels": ["given_name"]})), "x",
        "settings.labels", "must be a table, not a list", id="list-where-a-table-belongs",
    ),
    pytest.param(
        policy_with(step("mfa", {"methods": ["sms", "pigeon"]})), "x",
        "settings.methods", "has unknown method 'pigeon'; known: sms, call, email, app",
        id="mfa-method-pigeon",
    ),
    pytest.param(
        policy_with(step("mfa", {"methods": []})), "x",
        "settings.methods", "must list at least one method", id="mfa-without-methods",
    ),
    pytest.param(
        policy_with(step("mfa", {"methods": "sms"})), "x",
        "settings.methods", "must be a list, not text", id="mfa-methods-as-text",
    ),
    pytest.param(
        policy_with(step("mfa", {"code_lifetime": 0})), "x",
        "settings.code_lifetime", "must be more than 0", id="mfa-code-lifetime-zero",
    ),
    pytest.param(
        policy_with(step("mfa", {"max_sends": -3})), "x",
        "settings.max_sends", "must be more than 0", id="mfa-max-sends-negative",
    ),
    pytest.param(
        policy_with(step("mfa", {"block_seconds": 0})), "x",
        "settings.block_seconds", "must be more than 0", id="mfa-block-zero",
    ),
    pytest.param(
        policy_with(step("mfa", {"every_sign_in": "yes"})), "x",
        "settings.every_sign_in", "must be true or false, not text", id="mfa-every-sign-in-text",
    ),
    pytest.param(
        policy_with(step("mfa", {"voice": True})), "x",
        "settings.voice", "is not a setting of mfa", id="mfa-unknown-setting",
    ),
    pytest.param(
        policy_with(step("phone_change", {"methods": ["carrier-pigeon"]})), "x",
        "settings.methods", "has unknown method", id="phone-change-unknown-method",
    ),
    pytest.param(
        policy_with(step("authenticator_app", {"recovery_codes": 0})), "x",
        "settings.recovery_codes", "must be more than 0", id="no-recovery-codes",
    ),
]


@pytest.mark.parametrize(("data", "step_id", "field", "message"), WRONG_POLICIES)
def test_a_wrong_policy_is_refused_naming_the_file_the_step_and_the_field(
    data, step_id, field, message
):
    with pytest.raises(PolicyError) as refused:
        parse_policy(data, WHERE)

    text = str(refused.value)
    assert text.startswith(WHERE + ": ")
    if step_id is not None:
        assert f"step {step_id}: " in text
    assert field in text
    assert message in text


@pytest.mark.parametrize("condition", [
    "claim_exists:,", "claim_exists: ", "claim_equals:=GB", "chose:sign-up", "not:chose:signup",
])
def test_a_condition_that_could_never_hold_is_refused(condition):
    with pytest.raises(PolicyError, match="skip_if"):
        parse_policy(policy_with(step("signin_page", skip_if=[condition])), WHERE)


def test_a_policy_with_every_table_right_loads_them():
    loaded = parse_policy(
        policy_with(
            step("collect_claims", {"fields": ["given_name", "middle_name"],
                                    "optional": ["middle_name"], "button": "Create"},
                 skip_if=["not:chose:sign_up"]),
            session={"single_sign_on": False},
            password={"min_length": 10, "max_length": 64, "min_character_classes": 2},
        ),
        WHERE,
    )
    assert loaded.single_sign_on is False
    assert (loaded.password.min_length, loaded.password.min_character_classes) == (10, 2)
    details = loaded.steps[0]
    assert details.settings["button"] == "Create"
    assert details.settings["optional"] == ["middle_name"]
    assert details.settings["heading"] == "Your details"  # the default fills what is unset


# -- the shipped policies ----------------------------------------------------------------


def test_every_shipped_policy_file_loads():
    files = sorted(SHIPPED.glob("*.toml"))
    loaded = load_policies(SHIPPED)
    assert files and len(loaded) == len(files)
    assert {p.source for p in loaded} == {str(f) for f in files}


def test_the_parent_portal_policy_uses_the_guides_words():
    parent = load_policies(SHIPPED).get("B2C_1_parent_signup_signin")
    assert parent is not None
    by_id = {s.id: s for s in parent.steps}
    assert by_id["signin"].settings["sign_up"] is True
    assert by_id["signup_email"].settings["heading"] == "User Details"
    assert by_id["signup_details"].settings["button"] == "Create"
    assert by_id["signup_details"].settings["labels"]["family_name"] == "Surname"
    assert by_id["review"].settings["heading"] == "Review Account"
    assert by_id["review"].settings["button"] == "Confirm Details"
    assert by_id["review"].settings["labels"]["given_name"] == "Forename"
    # "between 8 and 64 characters long and must have at least 3 of the following"
    rules = parent.password
    assert (rules.min_length, rules.max_length, rules.min_character_classes) == (8, 64, 3)


def test_the_blue_badge_policy_uses_the_guides_words():
    blue_badge = load_policies(SHIPPED).get("b2c_1_bluebadge_signup_signin")
    assert blue_badge is not None
    by_id = {s.id: s for s in blue_badge.steps}
    assert by_id["signup_account"].settings["button"] == "Continue"
    assert by_id["signup_account"].settings["labels"] == {
        "given_name": "First name", "family_name": "Last name"
    }
    assert "privacy_consent" in by_id["signup_account"].settings["fields"]
    assert by_id["signup_contact"].settings["button"] == "Continue"
    assert by_id["signup_contact"].settings["fields"] == ["phone_number", "address"]
    assert by_id["create_account"].settings["activation"] == "link"


def steps_by_id(policy_id: str) -> dict[str, Any]:
    loaded = load_policies(SHIPPED).get(policy_id)
    assert loaded is not None
    return {s.id: s for s in loaded.steps}


def order_of(policy_id: str) -> list[str]:
    loaded = load_policies(SHIPPED).get(policy_id)
    assert loaded is not None
    return [s.id for s in loaded.steps]


def test_the_parent_portal_asks_for_a_phone_after_create_and_before_the_review():
    mfa = steps_by_id("B2C_1_parent_signup_signin")["mfa"]
    # No skip_if: the step itself passes a session that used a text or a call already.
    # Signing in with a social account skips it, as the guide says its steps then do not
    # apply.
    assert mfa.type == "mfa" and mfa.skip_if == ("route:social",)
    assert mfa.settings["every_sign_in"] is False
    assert mfa.settings["methods"] == ["sms", "call"] and mfa.settings["enrol_phone"] is True
    steps = order_of("B2C_1_parent_signup_signin")
    assert steps.index("create_account") < steps.index("mfa") < steps.index("review")


def test_the_blue_badge_asks_at_every_sign_in_for_a_30_second_code_by_text_call_or_email():
    mfa = steps_by_id("B2C_1_bluebadge_signup_signin")["mfa"]
    # Only a password reset, which has just asked (reset_mfa), passes it by; MFA cannot
    # be skipped otherwise, whatever the session.
    assert mfa.skip_if == ("chose:password_reset",)
    assert mfa.settings["methods"] == ["sms", "call", "email"]
    assert mfa.settings["every_sign_in"] is True and mfa.settings["code_lifetime"] == 30
    steps = order_of("B2C_1_bluebadge_signup_signin")
    assert steps.index("activate") < steps.index("mfa") < steps.index("privacy")


@pytest.mark.parametrize(("policy_id", "methods", "change"), [
    ("B2C_1_profile_edit", ["sms", "call", "email", "app"], "edit"),
    ("B2C_1_change_email", ["sms", "call", "app"], "new_email"),
    ("B2C_1_phone_change", ["email", "sms", "call", "app"], "new_phone"),
    ("B2C_1_authenticator_setup", ["sms", "call", "email"], "app"),
])
def test_a_policy_that_changes_an_account_passes_a_second_factor_before_the_change(
    policy_id, methods, change
):
    # B2C_1_password_reset is the exception: see test_steps.py, which xfails it.
    steps = order_of(policy_id)
    assert steps_by_id(policy_id)["mfa"].settings["methods"] == methods
    assert steps.index("signin") < steps.index("mfa") < steps.index(change)


def test_the_password_reset_policy_takes_the_phone_or_app_as_its_second_factor():
    assert steps_by_id("B2C_1_password_reset")["mfa"].settings["methods"] == [
        "sms", "call", "app"
    ]


def test_the_phone_change_policy_proves_the_new_number_after_any_second_factor():
    by_id = steps_by_id("B2C_1_phone_change")
    assert by_id["mfa"].skip_if == () and by_id["mfa"].settings["every_sign_in"] is True
    assert by_id["new_phone"].type == "phone_change"
    assert by_id["new_phone"].settings["methods"] == ["sms", "call"]


def test_mfa_settings_default_to_b2c_like_limits():
    loaded = parse_policy(policy_with(step("mfa")), WHERE)
    settings = loaded.steps[0].settings
    assert (settings["code_lifetime"], settings["max_attempts"], settings["max_sends"]) == (
        600, 5, 10
    )
    assert settings["methods"] == ["sms", "call"] and settings["enrol_phone"] is True
    assert settings["every_sign_in"] is False and settings["block_seconds"] > 0


def test_an_mfa_step_asked_at_every_sign_in_cannot_also_skip_when_mfa_is_done():
    with pytest.raises(PolicyError, match="every_sign_in"):
        parse_policy(
            policy_with(step("mfa", {"every_sign_in": True}, skip_if=["mfa_done"])), WHERE
        )


# -- idp policies check ------------------------------------------------------------------

GOOD_FILE = """\
id = "B2C_1_test"

[[steps]]
id = "details"
order = 100
type = "collect_claims"
skip_if = ["not:chose:sign_up"]
[steps.settings]
fields = ["given_name", "middle_name"]
optional = ["middle_name"]

[[steps]]
id = "signin"
order = 200
type = "signin_page"
"""


def check(path: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["policies", "check", str(path)])


@pytest.mark.parametrize(("broken", "field"), [
    (GOOD_FILE.replace('["middle_name"]\n', '["title"]\n'), "settings.optional"),
    (GOOD_FILE.replace('"not:chose:sign_up"', '"chose"'), "skip_if"),
    (GOOD_FILE.replace('fields = ["given_name", "middle_name"]', 'fields = "given_name"'),
     "settings.fields"),
])
def test_policies_check_refuses_a_broken_file_naming_the_file_the_step_and_the_field(
    tmp_path, broken, field
):
    path = tmp_path / "broken.toml"
    path.write_text(broken)

    result = check(path)

    assert result.exit_code != 0
    [error] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert str(path) in error and "step details" in error and field in error


def test_policies_check_passes_a_good_file(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD_FILE)

    result = check(path)

    assert result.exit_code == 0, result.output
    assert f"ok: {path} (B2C_1_test)" in result.output
