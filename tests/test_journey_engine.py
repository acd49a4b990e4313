"""The journey engine without HTTP: policies load or are refused, the executor runs steps."""

from __future__ import annotations

import pytest

from idp.journeys import context as keys
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.policy import PolicyError, parse_policy
from idp.journeys.results import Completed, Page
from tests.fakes import FakeServices


class Directory(FakeServices):
    """One account, a@example.com with the password "right", whose object id is object-1."""

    def __init__(self) -> None:
        super().__init__()
        self.add("a@example.com", "right").object_id = "object-1"


def policy(**overrides):
    data = {
        "id": "B2C_1_test",
        "steps": [{"id": "signin", "type": "signin_page", "order": 100}],
    }
    data.update(overrides)
    return parse_policy(data, "policies/test.toml")


def test_a_policy_runs_its_steps_to_a_finished_authentication():
    executor = Executor(policy(), Directory())
    progress = JourneyProgress(0, {})
    page = executor.show(progress, auth_time=1000)
    assert isinstance(page, Page) and page.template == "steps/signin.html"
    done = executor.submit(progress, "signin", {"email": "a@example.com", "password": "right"},
                           auth_time=1000)
    assert isinstance(done, Completed)
    assert done.authentication.user_object_id == "object-1"
    signed_in_at = int(executor.services.now().timestamp())  # the sign-in, not the finish
    assert done.authentication.amr == ["pwd"] and done.authentication.auth_time == signed_in_at


def test_a_refused_submission_keeps_what_was_typed_and_names_the_field():
    executor = Executor(policy(), Directory())
    progress = JourneyProgress(0, {})
    page = executor.submit(progress, "signin", {"email": "a@example.com", "password": "wrong"},
                           auth_time=1)
    assert isinstance(page, Page) and set(page.errors) == {"email"}
    assert page.values["email"] == "a@example.com" and progress.step_index == 0


@pytest.mark.parametrize(("form", "field"), [
    ({"email": "", "password": "x"}, "email"),
    ({"email": "not-an-email", "password": "x"}, "email"),
    ({"email": "a@example.com", "password": ""}, "password"),
])
def test_missing_or_malformed_fields_are_named(form, field):
    page = Executor(policy(), Directory()).submit(JourneyProgress(0, {}), "signin", form, 1)
    assert field in page.errors


def test_a_stale_step_submission_shows_the_current_step():
    executor = Executor(policy(), Directory())
    page = executor.submit(JourneyProgress(0, {}), "some-old-step", {}, 1)
    assert isinstance(page, Page) and page.step_id == "signin" and not page.errors


def test_steps_whose_skip_condition_holds_are_skipped():
    skipping = policy(steps=[{"id": "signin", "type": "signin_page", "skip_if": ["signed_in"]}])
    progress = JourneyProgress(0, {keys.USER_OBJECT_ID: "object-9"})
    done = Executor(skipping, Directory()).show(progress, 5)
    assert isinstance(done, Completed) and done.authentication.user_object_id == "object-9"


def test_steps_run_in_order_of_their_order_field():
    loaded = policy(steps=[
        {"id": "second", "type": "signin_page", "order": 200},
        {"id": "first", "type": "signin_page", "order": 100},
    ])
    assert [s.id for s in loaded.steps] == ["first", "second"]


@pytest.mark.parametrize(("data", "message"), [
    ({"steps": []}, "steps must list at least one step"),
    ({"steps": [{"id": "x", "type": "telepathy"}]}, "step x: type 'telepathy' is not a step type"),
    ({"steps": [{"id": "x", "type": "signin_page", "settings": {"colour": "red"}}]},
     "step x: settings.colour is not a setting of signin_page"),
    ({"steps": [{"id": "x", "type": "signin_page", "settings": {"heading": 3}}]},
     "step x: settings.heading must be text, not a whole number"),
    ({"steps": [{"id": "x", "type": "signin_page", "skip_if": ["full_moon"]}]},
     "step x: skip_if condition 'full_moon' is unknown"),
    ({"steps": [{"id": "x", "type": "signin_page"}, {"id": "x", "type": "signin_page"}]},
     "step x: id is used twice"),
    ({"steps": [{"id": "x", "type": "signin_page", "when": "always"}]},
     "step x: when is not a step field"),
    ({"tokens": {"id_token_lifetime": -5}}, "tokens.id_token_lifetime must be a positive"),
    ({"id": "has spaces"}, "id must be letters"),
])
def test_a_wrong_policy_is_refused_naming_the_file_step_and_field(data, message):
    with pytest.raises(PolicyError) as refused:
        policy(**data)
    assert str(refused.value).startswith("policies/test.toml")
    assert message in str(refused.value)


def test_the_shipped_policies_load():
    from idp.config import PROJECT_ROOT
    from idp.journeys.policy import load_policies

    loaded = load_policies(PROJECT_ROOT / "policies")
    assert {p.id for p in loaded} >= {"B2C_1_signin", "B2C_1_parent_signup_signin",
                                       "B2C_1_bluebadge_signup_signin"}


def test_the_journey_engine_imports_nothing_from_flask():
    import ast
    from pathlib import Path

    from idp.config import PROJECT_ROOT

    engine = PROJECT_ROOT / "idp" / "journeys"
    pure = [engine / "executor.py", engine / "policy.py", engine / "conditions.py",
            engine / "results.py", engine / "context.py", *Path(engine / "steps").glob("*.py")]
    for path in pure:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [
                    a.name for a in node.names]
                assert not any(n and n.split(".")[0] == "flask" for n in names), path
