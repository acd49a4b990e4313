"""Passwords follow people from B2C at their first sign-in, checked against a loopback fake
of the old tenant's ROPC token endpoint: success stores Gatehouse's own hash, a wrong
password is a wrong password, and "interaction required" or a timeout emails a link to set
one that carries the sign-in on. A portal sees the B2C objectId as `sub` and `oid`."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from idp.cli import main
from idp.extensions import db
from idp.messaging.outbox import read_outbox
from idp.store.models import AuditEvent, B2cImport, PasswordLink, User
from tests.conftest import build_app
from tests.fakes_http import Answer, FakeHttpService
from tests.pages import Visitor
from tests.test_b2c_import import ALEX, JENNY, METHODS, PAGES, SAM, run_import
from tests.test_seed_journeys import NEW_PASSWORD, latest_email, start, tokens_from

OLD_PASSWORD = "Old-B2C-password-1"
SIGN_IN = "B2C_1_signin"
TENANT_PATH = "/leicsb2c.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token"


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'b2c'})}.{part(claims)}.c2lnbmF0dXJl"


class FakeB2cRopc(FakeHttpService):
    """B2C's ROPC user flow token endpoint: knows some people's passwords."""

    def __init__(self) -> None:
        super().__init__()
        self.people: dict[str, tuple[str, str]] = {}
        self.mode = "normal"

    def parse_body(self, content_type: str, body: bytes) -> dict[str, Any]:
        return {"form": {k: v[0] for k, v in parse_qs(body.decode()).items()}}

    def answer(self, request: dict[str, Any]) -> Answer:
        form = request["form"]
        if request["path"] != TENANT_PATH or form.get("grant_type") != "password":
            return 400, {"error": "unsupported_grant_type"}
        if self.mode == "interaction_required":
            return 400, {"error": "interaction_required",
                         "error_description": "AADB2C90080: The provided grant has expired."}
        known = self.people.get(form.get("username", "").lower())
        if known is None or known[0] != form.get("password"):
            return 400, {"error": "invalid_grant", "error_description":
                         "AADB2C90225: The username or password provided in the request are "
                         "invalid."}
        claims = {"sub": known[1], "oid": known[1], "tfp": "B2C_1_ROPC"}
        return 200, {"access_token": _unsigned_jwt(claims), "id_token": _unsigned_jwt(claims),
                     "token_type": "Bearer", "expires_in": 3600}

    def failure(self, status: int, message: str | None, request: dict[str, Any]) -> Answer:
        return status, {"error": "server_error"}


@pytest.fixture
def b2c() -> Iterator[FakeB2cRopc]:
    with FakeB2cRopc() as fake:
        fake.people["jenny.b2c@example.com"] = (OLD_PASSWORD, JENNY)
        fake.people["spatel42"] = (OLD_PASSWORD, SAM)
        yield fake


def moved_app(settings: dict[str, Any], clock: Any, b2c: FakeB2cRopc | None, **extra: Any) -> Any:
    app = build_app(
        {
            **settings,
            "migration.verifier_url": f"{b2c.url}{TENANT_PATH}" if b2c else "",
            "migration.verifier_client_id": "3c5d1f7e-ropc-app",
            "migration.verifier_timeout": 2,
            "migration.b2c_attributes": "CouncilTaxReference=council_tax_reference",
            **extra,
        },
        clock,
    )
    run_import(app)
    return app


@pytest.fixture
def moved(settings: dict[str, Any], clock: Any, b2c: FakeB2cRopc) -> Any:
    return moved_app(settings, clock, b2c)


def sign_in(client: Any, email: str, password: str) -> tuple[Visitor, str]:
    visitor, verifier = start(client, SIGN_IN)
    visitor.press("Sign in", {"Email address": email, "Password": password})
    return visitor, verifier


def events(app: Any, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == kind)))


def awaiting(app: Any, object_id: str) -> bool:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.object_id == object_id))
        imported = db.session.scalar(select(B2cImport).where(B2cImport.user_id == user.id))
        return user.password is None and imported.password_pending


def test_the_first_sign_in_checks_the_old_tenant_once_and_the_portal_sees_the_same_sub(
    moved: Any, b2c: FakeB2cRopc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = moved.test_client()
    visitor, verifier = sign_in(client, "jenny.b2c@example.com", OLD_PASSWORD)
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["sub"] == JENNY and claims["oid"] == JENNY
    sent = b2c.requests[-1]["form"]
    assert sent["username"] == "Jenny.B2C@example.com"  # as the old tenant knows it
    assert sent["client_id"] == "3c5d1f7e-ropc-app"
    assert sent["scope"] == "openid 3c5d1f7e-ropc-app offline_access"
    assert sent["response_type"] == "token id_token"
    assert not awaiting(moved, JENNY)
    assert [e.user_object_id for e in events(moved, "password.migrated")] == [JENNY]
    # From now on Gatehouse checks the password itself; the old tenant is not asked again.
    asked = len(b2c.requests)
    again, verifier = sign_in(moved.test_client(), "jenny.b2c@example.com", OLD_PASSWORD)
    assert tokens_from(client, again, verifier)["claims"]["sub"] == JENNY
    assert len(b2c.requests) == asked
    assert OLD_PASSWORD not in caplog.text


def test_a_wrong_password_is_wrong_and_counts_towards_the_lockout(
    moved: Any, b2c: FakeB2cRopc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    visitor, _ = sign_in(moved.test_client(), "jenny.b2c@example.com", "Not-her-password-9")
    assert visitor.heading() == "Sign in"
    assert visitor.errors() == [
        "Enter the email address and password for your account. If you have forgotten your "
        "password, you can reset it."
    ]
    assert b2c.requests[-1]["form"]["password"] == "Not-her-password-9"
    assert awaiting(moved, JENNY)
    failed = events(moved, "signin.failed")
    assert [(e.user_object_id, e.details["reason"]) for e in failed] == [(JENNY, "wrong password")]
    with moved.app_context():
        from idp.store import lockouts

        assert lockouts.current("jenny.b2c@example.com").failures == 1
    assert "Not-her-password-9" not in caplog.text
    # The right password still follows afterwards.
    client = moved.test_client()
    visitor, verifier = sign_in(client, "jenny.b2c@example.com", OLD_PASSWORD)
    assert tokens_from(client, visitor, verifier)["claims"]["sub"] == JENNY


def test_interaction_required_emails_a_link_that_sets_a_password_and_carries_on(
    moved: Any, b2c: FakeB2cRopc, outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    b2c.mode = "interaction_required"
    client = moved.test_client()
    visitor, verifier = sign_in(client, "jenny.b2c@example.com", OLD_PASSWORD)
    assert visitor.heading() == "Check your email", visitor.text[:400]
    assert "j***@example.com" in visitor.text or "jenny.b2c@example.com" in visitor.text
    email = latest_email(outbox, "jenny.b2c@example.com", "password_link")
    link = urlsplit(email["data"]["link"]).path
    assert events(moved, "password.link_sent")[0].details["why"] == "interaction_required"
    # The link: a form first (a mail scanner fetching it changes nothing).
    visitor.open(link)
    assert visitor.heading() == "Set a new password"
    visitor.press("Set password", {"New password": NEW_PASSWORD,
                                   "Confirm new password": "something else"})
    assert visitor.errors() == ["The passwords do not match. Enter the same password twice"]
    visitor.press("Set password", {"New password": NEW_PASSWORD,
                                   "Confirm new password": NEW_PASSWORD})
    # Back in the same sign-in, address filled in, told the password is set.
    assert visitor.heading() == "Sign in", visitor.text[:400]
    assert "Your new password is set. Sign in with it." in visitor.text
    assert visitor.field_value("Email address") == "jenny.b2c@example.com"
    asked = len(b2c.requests)
    visitor.press("Sign in", {"Password": NEW_PASSWORD})
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["sub"] == JENNY and len(b2c.requests) == asked
    assert not awaiting(moved, JENNY)
    # Used once; never again.
    visitor.open(link)
    assert visitor.heading() == "This link has already been used"
    assert OLD_PASSWORD not in caplog.text and NEW_PASSWORD not in caplog.text


def test_a_timeout_emails_a_link_and_back_to_sign_in_leads_back(
    moved: Any, b2c: FakeB2cRopc, outbox: Path
) -> None:
    b2c.stall_next(5)  # the verifier waits 2 seconds
    visitor, _ = sign_in(moved.test_client(), "jenny.b2c@example.com", OLD_PASSWORD)
    assert visitor.heading() == "Check your email", visitor.text[:400]
    assert events(moved, "password.link_sent")[0].details["why"] == "timeout"
    assert latest_email(outbox, "jenny.b2c@example.com", "password_link")
    visitor.press("Back to sign in")
    assert visitor.heading() == "Sign in"
    assert visitor.field_value("Email address") == "jenny.b2c@example.com"
    # A second try within 15 minutes does not flood the inbox, and still says where to look.
    b2c.stall_next(5)
    visitor.press("Sign in", {"Password": OLD_PASSWORD})
    assert visitor.heading() == "Check your email"
    assert len([m for m in _outbox(outbox) if m["kind"] == "password_link"]) == 1


def _outbox(outbox: Path) -> list[dict[str, Any]]:
    return read_outbox(outbox)


def test_without_a_verifier_the_first_sign_in_sends_a_link(
    settings: dict[str, Any], clock: Any, outbox: Path
) -> None:
    app = moved_app(settings, clock, None)
    visitor, _ = sign_in(app.test_client(), "jenny.b2c@example.com", OLD_PASSWORD)
    assert visitor.heading() == "Check your email"
    assert events(app, "password.link_sent")[0].details["why"] == "no_verifier"


def test_an_expired_or_unknown_link_says_what_to_do(moved: Any, b2c: FakeB2cRopc,
                                                   outbox: Path, clock: Any) -> None:
    b2c.mode = "interaction_required"
    sign_in(moved.test_client(), "jenny.b2c@example.com", OLD_PASSWORD)
    link = urlsplit(latest_email(outbox, "jenny.b2c@example.com", "password_link")["data"]["link"])
    clock.advance(days=2)
    visitor = Visitor(moved.test_client())
    visitor.open(link.path)
    assert visitor.heading() == "This link has expired"
    assert "Forgot your password?" in visitor.text
    visitor.open("/password/not-a-token")
    assert visitor.heading() == "This link does not work"


def test_a_disabled_account_is_not_checked_with_the_old_tenant(
    moved: Any, b2c: FakeB2cRopc
) -> None:
    b2c.people["alex.moore@example.com"] = (OLD_PASSWORD, ALEX)
    visitor, _ = sign_in(moved.test_client(), "alex.moore@example.com", OLD_PASSWORD)
    assert visitor.heading() == "Sign in" and visitor.errors()
    assert b2c.requests == []


def test_forgot_your_password_gives_an_imported_account_its_first_password(
    moved: Any, b2c: FakeB2cRopc
) -> None:
    with moved.test_request_context():
        from idp.journeys.services import SqlJourneyServices

        rt = moved.extensions["idp"]
        services = SqlJourneyServices(rt, rt.policies.get(SIGN_IN), "journey")
        assert services.set_password("jenny.b2c@example.com", rt.hasher.hash(NEW_PASSWORD)) == JENNY
        assert services.check_local_password("jenny.b2c@example.com", NEW_PASSWORD) == ("ok", JENNY)
    assert not awaiting(moved, JENNY) and b2c.requests == []


def test_a_user_name_account_is_checked_by_its_user_name(moved: Any, b2c: FakeB2cRopc) -> None:
    with moved.test_request_context():
        from idp.journeys.services import SqlJourneyServices

        rt = moved.extensions["idp"]
        services = SqlJourneyServices(rt, rt.policies.get(SIGN_IN), "journey")
        assert services.check_local_password("spatel42", OLD_PASSWORD) == ("ok", SAM)
    assert b2c.requests[-1]["form"]["username"] == "SPatel42"
    assert not awaiting(moved, SAM)


def test_remind_emails_everyone_still_awaiting_after_the_cut_off(
    tmp_path: Path, settings: dict[str, Any], outbox: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[server]\ndevelopment = true\nsecret_key = "k"\n'
        f'[database]\nurl = "{settings["database.url"]}"\n'
        f'[email]\nsender = "outbox"\noutbox_path = "{outbox}"\n'
        '[migration]\npassword_cutoff = "2099-01-01"\n'
    )
    runner = CliRunner()
    idp = ["--config", str(config)]
    assert runner.invoke(main, [*idp, "db", "upgrade"]).exit_code == 0
    imported = runner.invoke(main, [*idp, "migrate", "b2c", "import", "--methods",
                                    str(METHODS[0]), *map(str, PAGES)])
    assert imported.exit_code == 0, imported.output
    early = runner.invoke(main, [*idp, "migrate", "b2c", "remind"])
    assert early.exit_code == 1 and "the cut-off date is 2099-01-01" in early.output
    config.write_text(config.read_text().replace("2099-01-01", "2026-01-01"))
    dry = runner.invoke(main, [*idp, "migrate", "b2c", "remind", "--dry-run"])
    # Jenny, Sam and Chris are awaiting; Alex's account is disabled.
    assert dry.exit_code == 0 and "would be emailed: 3" in dry.output, dry.output
    assert not outbox.exists() or not _outbox(outbox)
    sent = runner.invoke(main, [*idp, "migrate", "b2c", "remind"])
    assert "emailed: 3" in sent.output, sent.output
    reminders = [m for m in _outbox(outbox) if m["kind"] == "password_link"]
    assert sorted(m["to"] for m in reminders) == [
        "chris.app@example.com", "jenny.b2c@example.com", "sam.patel@example.com"]
    assert "14 days" in reminders[0]["text"]
    assert "emailed: 0" in runner.invoke(main, [*idp, "migrate", "b2c", "remind"]).output
    app = build_app({**settings, "email.outbox_path": str(outbox)}, _clock())
    with app.app_context():
        links = db.session.scalars(select(PasswordLink)).all()
        assert {link.reason for link in links} == {"reminder"} and len(links) == 3


def _clock() -> Any:
    from datetime import UTC, datetime

    from idp.clock import FrozenClock

    return FrozenClock(datetime.now(UTC))


def test_someone_who_used_an_app_at_b2c_is_told_to_set_it_up_again(
    moved: Any, b2c: FakeB2cRopc
) -> None:
    from tests.test_b2c_import import CHRIS
    from tests.test_seed_journeys import BLUE_BADGE

    b2c.people["chris.app@example.com"] = (OLD_PASSWORD, CHRIS)
    visitor, _ = start(moved.test_client(), BLUE_BADGE)
    visitor.press("Sign in", {"Email address": "chris.app@example.com", "Password": OLD_PASSWORD})
    assert visitor.heading() == "Multi-factor authentication", visitor.text[:400]
    assert "Apps cannot move to the new one" in visitor.text
    # The phone carried over from B2C is offered (a landline: by phone call).
    assert "01164*** ***000" in visitor.text or "*** ***000" in visitor.text


def test_a_sign_in_page_that_takes_user_names_accepts_one_and_still_checks_emails() -> None:
    from idp.journeys.policy import parse_policy
    from idp.journeys.results import Completed
    from tests.fakes import FakeServices
    from tests.test_steps import Journey

    def policy(user_names: bool) -> Any:
        return parse_policy({"id": "B2C_1_moved", "steps": [
            {"id": "signin", "order": 1, "type": "signin_page",
             "settings": {"user_names": user_names}}]}, "policies/moved.toml")

    services = FakeServices()
    services.add("spatel42", password=OLD_PASSWORD)
    journey = Journey(policy(True), services)
    journey.press(email="not@an@address", password=OLD_PASSWORD)
    assert journey.page.errors == {
        "email": "Enter an email address in the correct format, like name@example.com"}
    journey.press(email="", password=OLD_PASSWORD)
    assert journey.page.errors["email"] == "Enter your email address or user name"
    assert isinstance(journey.press(email="spatel42", password=OLD_PASSWORD), Completed)
    # Without the setting, a user name is not an email address.
    plain = Journey(policy(False), services)
    plain.press(email="spatel42", password=OLD_PASSWORD)
    assert plain.page.errors == {
        "email": "Enter an email address in the correct format, like name@example.com"}


def test_a_custom_attribute_reaches_the_id_token_under_b2cs_claim_name(
    settings: dict[str, Any], clock: Any, b2c: FakeB2cRopc, tmp_path: Path
) -> None:
    import shutil

    from idp.config import PROJECT_ROOT

    policies = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", policies)
    signin = policies / "B2C_1_signin.toml"
    signin.write_text(signin.read_text().replace(
        'display_name = "Sign in"',
        'display_name = "Sign in"\nclaims = ["emails", "extension_CouncilTaxReference"]'))
    app = moved_app(settings, clock, b2c, **{
        "paths.policies": str(policies),
        "migration.b2c_attributes": "CouncilTaxReference=extension_CouncilTaxReference"})
    with app.app_context():
        rt = app.extensions["idp"]
        from idp.migrate.b2c import import_users

        import_users(PAGES, METHODS, {**rt.settings}, rt.clock.now())
    client = app.test_client()
    visitor, verifier = sign_in(client, "jenny.b2c@example.com", OLD_PASSWORD)
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["extension_CouncilTaxReference"] == "LC-1234"
    assert claims["emails"] == ["jenny.b2c@example.com"] and claims["sub"] == JENNY


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (400, {"error": "invalid_grant", "error_description": "AADSTS50126: Error validating "
               "credentials due to invalid username or password."}, "invalid"),
        (400, {"error": "invalid_grant", "error_description": "AADSTS50076: Due to a "
               "configuration change made by your administrator, you must use multi-factor "
               "authentication.", "error_codes": [50076], "suberror": "basic_action"},
         "unavailable"),
        (400, {"error": "invalid_grant", "error_codes": [50055],
               "error_description": "AADSTS50055: The password is expired."}, "unavailable"),
        (400, {"error": "access_denied", "error_description": "AADB2C90225: The username or "
               "password provided in the request are invalid."}, "invalid"),
        (401, {"error": "invalid_client", "error_description": "AADSTS7000218"}, "unavailable"),
        (503, {}, "unavailable"),
        (429, {"error": "temporarily_unavailable"}, "unavailable"),
    ],
)
def test_the_old_tenants_answers_are_judged_as_microsoft_words_them(
    status: int, body: dict[str, Any], outcome: str
) -> None:
    from idp.migrate.verifier import _judge_error

    assert _judge_error(status, body).outcome == outcome


def test_tokens_for_someone_else_are_not_a_yes() -> None:
    from idp.migrate.verifier import _judge_tokens

    theirs = _unsigned_jwt({"sub": SAM, "oid": SAM})
    assert _judge_tokens({"id_token": theirs}, JENNY).outcome == "unavailable"
    assert _judge_tokens({"id_token": theirs}, SAM).outcome == "valid"
    assert _judge_tokens({"token_type": "Bearer"}, SAM).outcome == "unavailable"


def test_a_trace_id_that_looks_like_a_code_does_not_change_the_verdict() -> None:
    from idp.migrate.verifier import _judge_error, _judge_tokens

    wrong = {"error": "invalid_grant", "error_description": "AADSTS50126: Invalid username "
             "or password. Trace ID: 50076a1b-0000 Correlation ID: 9c50079e Timestamp: x"}
    assert _judge_error(400, wrong).outcome == "invalid"
    # Tokens that name nobody are no proof of whose password it was.
    assert _judge_tokens({"access_token": "opaque"}, JENNY).outcome == "unavailable"
    jwt_access = _unsigned_jwt({"oid": JENNY})
    assert _judge_tokens({"access_token": jwt_access}, JENNY).outcome == "valid"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_first_sign_ins_at_once_both_get_in(moved: Any, b2c: FakeB2cRopc) -> None:
    import threading

    from idp.journeys.services import SqlJourneyServices

    b2c.stall_next(0.5)
    b2c.stall_next(0.5)
    answers: list[Any] = []

    def sign_in_once() -> None:
        with moved.test_request_context():
            rt = moved.extensions["idp"]
            services = SqlJourneyServices(rt, rt.policies.get(SIGN_IN), "journey")
            answers.append(services.check_local_password("jenny.b2c@example.com",
                                                          OLD_PASSWORD))

    threads = [threading.Thread(target=sign_in_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [("ok", JENNY), ("ok", JENNY)]
    assert not awaiting(moved, JENNY)


def test_an_account_no_email_can_reach_is_told_to_ask_for_help(
    settings: dict[str, Any], clock: Any, tmp_path: Path
) -> None:
    app = moved_app(settings, clock, None)
    export = tmp_path / "u.json"
    export.write_text(json.dumps({"value": [{
        "id": "11111111-2222-4333-8444-555555555555", "accountEnabled": True,
        "identities": [{"signInType": "userName", "issuer": "t", "issuerAssignedId": "nomail"}],
    }]}))
    with app.app_context():
        from idp.migrate.b2c import import_users

        rt = app.extensions["idp"]
        report = import_users([export], [], rt.settings, rt.clock.now())
        assert report.no_email == 1
        assert any("no email address" in line for line in report.lines())
    with app.test_request_context():
        from idp.journeys.services import SqlJourneyServices

        services = SqlJourneyServices(rt, rt.policies.get(SIGN_IN), "journey")
        assert services.check_local_password("nomail", OLD_PASSWORD) == ("no_link", None)


def test_the_link_lifts_a_lockout_and_stops_working_for_a_disabled_account(
    moved: Any, b2c: FakeB2cRopc, outbox: Path
) -> None:
    b2c.mode = "interaction_required"
    sign_in(moved.test_client(), "jenny.b2c@example.com", OLD_PASSWORD)
    link = urlsplit(latest_email(outbox, "jenny.b2c@example.com", "password_link")["data"]
                    ["link"]).path
    with moved.test_request_context():
        from idp.admin.operations import disable_person, enable_person
        from idp.admin.roles import Actor
        from idp.store import lockouts

        rt = moved.extensions["idp"]
        from idp.security.lockout import LockoutPolicy

        policy = LockoutPolicy(threshold=1, duration=600, max_duration=600)
        lockouts.failed("jenny.b2c@example.com", "x", rt.clock.now(), policy)
        db.session.commit()
        assert lockouts.current("jenny.b2c@example.com").locked_until is not None
        disable_person(Actor("cli:t@h", "admin"), JENNY)
    visitor = Visitor(moved.test_client())
    visitor.open(link)
    assert visitor.heading() == "This link does not work"
    with moved.test_request_context():
        enable_person(Actor("cli:t@h", "admin"), JENNY)
    visitor.open(link)
    visitor.press("Set password", {"New password": NEW_PASSWORD,
                                   "Confirm new password": NEW_PASSWORD})
    assert visitor.heading() == "Your new password is set"
    with moved.app_context():
        assert lockouts.current("jenny.b2c@example.com").locked_until is None
