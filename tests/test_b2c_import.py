"""`idp migrate b2c import`: a two-page Graph export with local, user-name and federated
identities, custom attributes, a disabled account, duplicates and records that must be
refused, imported twice (on SQLite and PostgreSQL) with the same result both times."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from idp.cli import main
from idp.extensions import db
from idp.migrate.b2c import ExportError, Mapping, MappingError, import_users, read_records
from idp.store.models import AuditEvent, B2cImport, Identity, MfaMethod, User

DATA = Path(__file__).parent / "data" / "b2c"
PAGES = [DATA / "users-page-1.json", DATA / "users-page-2.json"]
METHODS = [DATA / "methods.jsonl"]
JENNY = "5b1e3c2a-9f4d-4e6b-8a7c-1d2e3f4a5b6c"
SAM = "7c2d4e6f-0a1b-4c3d-9e5f-6a7b8c9d0e1f"
PRIYA = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
TOM = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"
ALEX = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
CHRIS = "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9"
ATTRIBUTES = {"migration.b2c_attributes": "CouncilTaxReference=council_tax_reference"}


def run_import(app: Any, dry_run: bool = False, **settings: Any) -> dict[str, Any]:
    with app.app_context():
        rt = app.extensions["idp"]
        report = import_users(PAGES, METHODS, {**rt.settings, **ATTRIBUTES, **settings},
                              rt.clock.now(), dry_run=dry_run)
        return report.as_dict()


def snapshot(app: Any) -> dict[str, Any]:
    """Everything an import writes, without row ids or times."""
    with app.app_context():
        users = {}
        for user in db.session.scalars(select(User).order_by(User.object_id)):
            imported = db.session.scalar(select(B2cImport).where(B2cImport.user_id == user.id))
            users[user.object_id] = {
                "email": user.email, "email_verified": user.email_verified,
                "names": (user.given_name, user.family_name, user.display_name),
                "phone": user.phone_number, "claims": user.claims, "enabled": user.enabled,
                "identities": sorted((i.route, i.issuer, i.subject) for i in user.identities),
                "password": user.password is not None,
                "mfa": sorted(
                    (m.kind, m.phone_number, m.phone_type)
                    for m in db.session.scalars(
                        select(MfaMethod).where(MfaMethod.user_id == user.id))
                ),
                "import": imported and (imported.sign_in_name, imported.password_pending,
                                        imported.had_app, imported.record_digest),
            }
        return users


def test_a_two_page_export_imports_the_same_way_twice(app: Any) -> None:
    first = run_import(app)
    assert (first["created"], first["updated"], first["unchanged"]) == (6, 0, 0), first
    reasons = {(s["object_id"], s["reason"]) for s in first["skipped"]}
    assert reasons == {
        ("5B1E3C2A-9F4D-4E6B-8A7C-1D2E3F4A5B6C",
         f"appears again in this import (first at {PAGES[0]} value[1])"),
        ("c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f",
         f"sign-in jenny.b2c@example.com already belongs to account {JENNY}"),
        ("d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a",
         "federated identity from 'twitter.com' has no provider in migration.b2c_issuers"),
        ("not-a-guid", "id 'not-a-guid' is not an objectId (a GUID)"),
    }
    assert first["ignored_attributes"] == {"FavouriteColour": 1}
    assert first["awaiting_password"] == 4  # Jenny, Sam, Alex, Chris: local accounts
    assert first["mfa_phones"] == 2 and first["authenticator_app_users"] == 1
    after_first = snapshot(app)

    second = run_import(app)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 6)
    assert second["skipped"] == first["skipped"]
    assert snapshot(app) == after_first

    jenny = after_first[JENNY]
    assert jenny["email"] == "jenny.b2c@example.com" and jenny["email_verified"] is True
    assert jenny["identities"] == [("local", "local", "jenny.b2c@example.com")]
    assert jenny["claims"] == {"council_tax_reference": "LC-1234", "phone_number_verified": True}
    assert jenny["mfa"] == [("phone", "+447400123456", "mobile")]
    assert jenny["phone"] == "+447400123456" and jenny["password"] is False
    assert jenny["import"][:3] == ("Jenny.B2C@example.com", True, False)
    assert after_first[SAM]["identities"] == [("local", "local:username", "spatel42")]
    assert after_first[SAM]["email"] == "sam.patel@example.com"
    assert after_first[SAM]["email_verified"] is False  # `mail` was never proven by B2C
    assert after_first[PRIYA]["identities"] == [
        ("google", "https://accounts.google.com", "104857320000000000001")]
    assert after_first[PRIYA]["import"][:2] == (None, False)  # no password to follow
    assert after_first[TOM]["identities"] == [("facebook", "facebook.com", "10158000000000042")]
    assert after_first[TOM]["claims"] == {"council_tax_reference": "LC-9876"}
    assert after_first[ALEX]["enabled"] is False
    assert after_first[CHRIS]["import"][2] is True  # used an app: will enrol again
    assert after_first[CHRIS]["mfa"] == [("phone", "+441164960000", "landline")]
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "migration.b2c_imported")
        ).all()
        assert [e.details["created"] for e in events] == [6, 0]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_imports_the_same_way_twice(app: Any) -> None:
    first = run_import(app)
    after_first = snapshot(app)
    second = run_import(app)
    assert (first["created"], second["unchanged"], len(second["skipped"])) == (6, 6, 4)
    assert snapshot(app) == after_first


def test_a_dry_run_reports_and_writes_nothing(app: Any) -> None:
    report = run_import(app, dry_run=True)
    assert report["dry_run"] is True and report["created"] == 6 and len(report["skipped"]) == 4
    assert snapshot(app) == {}


def test_a_changed_record_updates_the_account_and_keeps_its_password(
    app: Any, tmp_path: Path
) -> None:
    run_import(app)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.object_id == JENNY))
        rt = app.extensions["idp"]
        from idp.store.models import PasswordCredential

        user.password = PasswordCredential(hash=rt.hasher.hash("x"), changed_at=rt.clock.now())
        db.session.commit()
    page = json.loads(PAGES[0].read_text())
    jenny = page["value"][0]
    jenny["identities"][0]["issuerAssignedId"] = "jenny.new@example.com"
    jenny["surname"] = "Hinsen-Smith"
    jenny["accountEnabled"] = False
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({"value": [jenny]}))
    with app.app_context():
        rt = app.extensions["idp"]
        report = import_users([changed], METHODS, {**rt.settings, **ATTRIBUTES},
                              rt.clock.now()).as_dict()
    assert report["updated"] == 1
    after = snapshot(app)[JENNY]
    assert after["identities"] == [("local", "local", "jenny.new@example.com")]
    assert after["names"][1] == "Hinsen-Smith" and after["enabled"] is False
    assert after["password"] is True and after["import"][1] is False


def test_the_cli_imports_reports_and_refuses_a_file_that_is_not_an_export(
    tmp_path: Path, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[server]\ndevelopment = true\nsecret_key = "k"\n'
        f'[database]\nurl = "{settings["database.url"]}"\n'
        '[migration]\nb2c_attributes = "CouncilTaxReference=council_tax_reference"\n'
    )
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    dry = runner.invoke(main, ["--config", str(config), "migrate", "b2c", "import", "--dry-run",
                               "--methods", str(METHODS[0]), *map(str, PAGES)])
    assert dry.exit_code == 0, dry.output
    assert "created would be: 6" in dry.output and "dry run: nothing was written" in dry.output
    done = runner.invoke(main, ["--config", str(config), "migrate", "b2c", "import", "--json",
                                "--methods", str(METHODS[0]), *map(str, PAGES)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["created"] == 6
    status = runner.invoke(main, ["--config", str(config), "migrate", "b2c", "status"])
    assert "imported accounts: 6" in status.output and "awaiting: 4" in status.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n')
    refused = runner.invoke(main, ["--config", str(config), "migrate", "b2c", "import", str(bad)])
    assert refused.exit_code == 1
    assert f"{bad}:2: not JSON" in refused.output


def test_mappings_that_cannot_be_read_are_refused_naming_the_setting() -> None:
    base = {"migration.b2c_issuers": "google.com=google", "migration.b2c_attributes": ""}
    with pytest.raises(MappingError, match="'twitter' is not a provider"):
        Mapping.from_settings({**base, "migration.b2c_issuers": "twitter.com=twitter"})
    with pytest.raises(MappingError, match="say which issuer the oidc provider"):
        Mapping.from_settings({**base, "migration.b2c_issuers": "login.example.org=oidc"})
    with pytest.raises(MappingError, match="not a NAME=VALUE pair"):
        Mapping.from_settings({**base, "migration.b2c_attributes": "CouncilTaxReference"})
    mapping = Mapping.from_settings(
        {**base, "migration.b2c_issuers": "Login.Example.org=oidc@https://login.example.org/"}
    )
    assert mapping.issuers == {"login.example.org": ("oidc", "https://login.example.org/")}


def test_json_lines_and_arrays_are_read_as_well_as_pages(tmp_path: Path) -> None:
    lines = tmp_path / "users.jsonl"
    lines.write_text('{"id": "a"}\n\n{"value": [{"id": "b"}, {"id": "c"}]}\n')
    array = tmp_path / "users.json"
    array.write_text('[{"id": "d"}]')
    assert [r["id"] for _, r in read_records([lines, array])] == ["a", "b", "c", "d"]
    with pytest.raises(ExportError, match="expected a user object"):
        (tmp_path / "odd.json").write_text('{"value": [1]}')
        list(read_records([tmp_path / "odd.json"]))


def test_an_imported_identity_is_found_by_its_sign_in_names(app: Any) -> None:
    run_import(app)
    with app.app_context():
        from idp.store.users import find_sign_in_identity

        assert find_sign_in_identity("JENNY.B2C@example.com").user.object_id == JENNY
        assert find_sign_in_identity("spatel42").user.object_id == SAM
        assert find_sign_in_identity("SPatel42 ").user.object_id == SAM
        assert find_sign_in_identity("nobody") is None
        assert db.session.scalar(select(Identity).where(Identity.subject == "spatel42"))


def test_support_sees_that_a_password_is_still_to_follow(app: Any) -> None:
    run_import(app)
    with app.test_request_context():
        from idp.admin.operations import person_detail
        from idp.admin.roles import Actor

        person = person_detail(Actor("cli:test@host", "support"), JENNY)
        assert person["has_password"] is False and person["password_awaited_from_b2c"] is True
        federated = person_detail(Actor("cli:test@host", "support"), PRIYA)
        assert federated["password_awaited_from_b2c"] is False


def _import(app: Any, tmp_path: Path, records: list[dict[str, Any]], name: str = "x.json",
            methods: list[Path] | None = None) -> dict[str, Any]:
    export = tmp_path / name
    export.write_text(json.dumps({"value": records}))
    with app.app_context():
        rt = app.extensions["idp"]
        return import_users([export], methods or [], {**rt.settings, **ATTRIBUTES},
                            rt.clock.now()).as_dict()


def _record(object_id: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"id": object_id, "displayName": "Someone", "accountEnabled": True,
            "identities": [{"signInType": "emailAddress", "issuer": "t.onmicrosoft.com",
                            "issuerAssignedId": email}], **extra}


def test_a_reimport_does_not_undo_what_was_changed_in_gatehouse(
    app: Any, tmp_path: Path
) -> None:
    run_import(app)
    with app.test_request_context():
        from idp.admin.operations import disable_person
        from idp.admin.roles import Actor
        from idp.journeys.services import SqlJourneyServices

        disable_person(Actor("cli:test@host", "admin"), JENNY)
        services = SqlJourneyServices(app.extensions["idp"], None, None)
        services.save_phone(JENNY, "+447400999888", "mobile", changed=True)
        services.change_email(JENNY, "jenny.new@example.com")
    page = json.loads(PAGES[0].read_text())
    page["value"][0]["displayName"] = "Jenny Hinsen-Smith"
    report = _import(app, tmp_path, [page["value"][0]], methods=METHODS)
    assert report["updated"] == 1
    after = snapshot(app)[JENNY]
    assert after["names"][2] == "Jenny Hinsen-Smith"  # B2C's change came through
    assert after["enabled"] is False  # the admin's disable stands
    assert after["mfa"] == [("phone", "+447400999888", "mobile")]
    assert after["identities"] == [("local", "local", "jenny.new@example.com")]
    assert after["email"] == "jenny.new@example.com"


def test_an_objectid_of_an_account_made_here_is_refused(app: Any, tmp_path: Path) -> None:
    from tests.conftest import add_user

    native = add_user(app, email="victim@example.com")
    report = _import(app, tmp_path, [_record(native, "attacker@evil.example")])
    assert report["skipped"][0]["reason"] == (
        f"objectId {native} belongs to an account that was not imported from B2C")
    with app.app_context():
        from idp.store.users import find_local_identity

        assert find_local_identity("victim@example.com") is not None
        assert find_local_identity("attacker@evil.example") is None


def test_a_typed_profile_phone_is_not_claimed_as_verified(app: Any, tmp_path: Path) -> None:
    methods = tmp_path / "m.jsonl"
    methods.write_text(json.dumps({"userId": ALEX, "value": [
        {"phoneNumber": "+44 7400 333444", "phoneType": "mobile"}]}) + "\n")
    _import(app, tmp_path, [_record(ALEX, "a@example.com", mobilePhone="+44 7400 111222")],
            methods=[methods])
    after = snapshot(app)[ALEX]
    assert after["phone"] == "+447400111222"
    assert "phone_number_verified" not in after["claims"]
    assert after["mfa"] == [("phone", "+447400333444", "mobile")]


def test_a_sign_in_name_that_moved_between_two_people_imports_in_any_order(
    app: Any, tmp_path: Path
) -> None:
    _import(app, tmp_path, [_record(SAM, "shared@example.com")], "first.json")
    # At B2C the address moved from Sam to Alex, and Alex comes first in the export.
    moved = [_record(ALEX, "shared@example.com"), _record(SAM, "sam.new@example.com")]
    report = _import(app, tmp_path, moved, "second.json")
    assert report["skipped"] == [] and report["created"] == 1 and report["updated"] == 1
    after = snapshot(app)
    assert after[ALEX]["identities"] == [("local", "local", "shared@example.com")]
    assert after[SAM]["identities"] == [("local", "local", "sam.new@example.com")]


def test_a_value_too_long_for_the_database_refuses_that_record_only(
    app: Any, tmp_path: Path
) -> None:
    long_name = {"id": SAM, "accountEnabled": True, "identities": [
        {"signInType": "userName", "issuer": "t", "issuerAssignedId": "u" * 400}]}
    report = _import(app, tmp_path, [long_name, _record(ALEX, "a@example.com")])
    assert report["created"] == 1 and len(report["skipped"]) == 1
    assert report["skipped"][0]["reason"] == (
        "the userName identity 'uuuuuuuuuuuuuuuuuuuu'... is longer than 320 characters")
