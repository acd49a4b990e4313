"""`idp users find|show|disable|enable|reset-mfa|delete` and `idp audit`: what an operator
on the box uses to answer "which way did I sign up?" and to look after an account."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from idp.extensions import db
from idp.store.models import MfaMethod, TokenFamily, User
from tests.test_cli import Gatehouse, _add_user, gatehouse, upgraded  # noqa: F401

EMAIL = "jenny.hinsen@example.com"


def added(gatehouse: Gatehouse, email: str = EMAIL) -> str:  # noqa: F811
    result = _add_user(gatehouse, email)
    assert result.exit_code == 0, result.output
    found = re.search(r"^object_id: (\S+)$", result.output, re.M)
    assert found is not None
    return found.group(1)


def test_find_answers_which_way_each_person_signs_in(upgraded: Gatehouse) -> None:  # noqa: F811
    object_id = added(upgraded)
    with upgraded.app():
        user = db.session.query(User).one()
        user.phone_number = "+447759140004"
        db.session.commit()
    for term in ("jenny.hinsen", "Jenny Hinsen", "07759 140004", object_id):
        output = upgraded.ok("users", "find", term)
        assert f"{object_id}\t{EMAIL}\tJenny Hinsen\tsigns in with: local\tenabled" in output
    assert "nobody matches" in upgraded.ok("users", "find", "nobody@example.com")


def test_show_lists_routes_second_factors_and_sign_ins(upgraded: Gatehouse) -> None:  # noqa: F811
    object_id = added(upgraded)
    with upgraded.app():
        user = db.session.query(User).one()
        db.session.add(MfaMethod(user_id=user.id, kind="phone", phone_number="+447759140004",
                                 phone_type="mobile", created_at=datetime.now(UTC)))
        db.session.commit()
    output = upgraded.ok("users", "show", EMAIL)
    assert f"object_id: {object_id}" in output
    assert "signs in with: local (local)" in output
    assert "second factor: phone +447759140004 (mobile)" in output


def test_disable_stops_sign_in_and_revokes_refresh_tokens_and_enable_undoes_it(
    upgraded: Gatehouse,  # noqa: F811
) -> None:
    object_id = added(upgraded)
    with upgraded.app():
        user = db.session.query(User).one()
        db.session.add(TokenFamily(client_id="portal", user_id=user.id,
                                   grant_type="authorization_code", issuer="x",
                                   created_at=datetime.now(UTC)))
        db.session.commit()
    assert f"user.disabled: {object_id}" in upgraded.ok("users", "disable", object_id)
    with upgraded.app():
        assert db.session.query(User).one().enabled is False
        assert db.session.query(TokenFamily).one().revoked_at is not None
    assert "disabled" in upgraded.ok("users", "find", EMAIL)
    upgraded.ok("users", "enable", EMAIL)
    with upgraded.app():
        assert db.session.query(User).one().enabled is True
    events = upgraded.ok("audit", "--user", EMAIL)
    assert "user.disabled" in events and "user.enabled" in events and "\tcli\t" in events


def test_reset_mfa_forgets_the_phone_and_lifts_a_block(upgraded: Gatehouse) -> None:  # noqa: F811
    added(upgraded)
    with upgraded.app():
        user = db.session.query(User).one()
        user.mfa_blocked_until = datetime(2099, 1, 1, tzinfo=UTC)
        db.session.add(MfaMethod(user_id=user.id, kind="phone", phone_number="+447759140004",
                                 phone_type="mobile", created_at=datetime.now(UTC)))
        db.session.commit()
    upgraded.ok("users", "reset-mfa", EMAIL)
    with upgraded.app():
        assert db.session.query(MfaMethod).count() == 0
        assert db.session.query(User).one().mfa_blocked_until is None
    assert '{"methods_removed": 1}' in upgraded.ok("audit", "--type", "mfa.reset")


def test_delete_removes_the_account_and_keeps_its_audit_record(
    upgraded: Gatehouse,  # noqa: F811
) -> None:
    object_id = added(upgraded)
    upgraded.ok("users", "delete", EMAIL, "--yes")
    with upgraded.app():
        assert db.session.query(User).count() == 0
    assert f"user.deleted\t{object_id}" in upgraded.ok("audit", "--user", object_id)


def test_an_unknown_person_is_named_in_the_error(upgraded: Gatehouse) -> None:  # noqa: F811
    result = upgraded.run("users", "disable", "nobody@example.com")
    assert result.exit_code != 0
    assert "no account has the object id or email 'nobody@example.com'" in result.output
