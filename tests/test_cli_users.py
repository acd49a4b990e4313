"""`idp users find|show|disable|enable|reset-mfa|unlock|resend-activation|delete`,
`idp admins` and `idp audit`: what an operator
on the box uses to answer "which way did I sign up?" and to look after an account."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from idp.extensions import db
from idp.store.models import MfaMethod, TokenFamily, User
from tests.test_cli import Gatehouse, _add_user, gatehouse, upgraded  # noqa: F401
from tests.test_messaging import start_smtp_server  # noqa: F401

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
    assert "user.disabled" in events and "user.enabled" in events
    # Who did it, from where: the operator's login and host.
    assert re.search(r"\tuser\.disabled\t.*\tcli:[^@\t]+@[^\t]+\t", events)


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
    assert "\"methods_removed\": 1" in upgraded.ok("audit", "--type", "mfa.reset")


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
    assert "No account has the object id or email 'nobody@example.com'" in result.output


def test_unlock_lifts_the_block_on_second_factors(upgraded: Gatehouse) -> None:  # noqa: F811
    added(upgraded)
    with upgraded.app():
        db.session.query(User).one().mfa_blocked_until = datetime(2099, 1, 1, tzinfo=UTC)
        db.session.commit()
    assert "second factors blocked until" in upgraded.ok("users", "show", EMAIL)
    upgraded.ok("users", "unlock", EMAIL)
    with upgraded.app():
        assert db.session.query(User).one().mfa_blocked_until is None
    assert "2099-01-01" in upgraded.ok("audit", "--type", "user.unlocked")


def test_resend_activation_sends_a_new_link_and_retires_the_old(
    upgraded: Gatehouse, start_smtp_server: Any  # noqa: F811
) -> None:
    from idp.store.models import PendingSignup

    smtp = start_smtp_server()
    with upgraded.config.open("a") as config:
        config.write(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n')
    now = datetime.now(UTC)
    with upgraded.app():
        row = PendingSignup(digest="old", email="new.parent@example.com", password_hash="x",
                            claims={}, created_at=now, expires_at=now)
        db.session.add(row)
        db.session.flush()
        row.first_id = row.id
        db.session.commit()
    assert "activation email sent to new.parent@example.com" in upgraded.ok(
        "users", "resend-activation", "New.Parent@example.com"
    )
    [delivery] = smtp.deliveries
    assert delivery.rcpt_tos == ["new.parent@example.com"]
    assert "/activate/" in delivery.message.get_body(("plain",)).get_content()
    with upgraded.app():
        rows = db.session.query(PendingSignup).order_by(PendingSignup.id).all()
        assert len(rows) == 2 and rows[0].used_at is not None and rows[1].used_at is None
    result = upgraded.run("users", "resend-activation", "nobody@example.com")
    assert result.exit_code != 0
    assert "Nobody is waiting to activate an account for nobody@example.com" in result.output


def test_admins_grant_list_and_revoke_roles(upgraded: Gatehouse) -> None:  # noqa: F811
    object_id = added(upgraded)
    upgraded.ok("admins", "grant", EMAIL, "--role", "support")
    assert f"{object_id}\t{EMAIL}\tsupport" in upgraded.ok("admins", "list")
    upgraded.ok("admins", "grant", EMAIL, "--role", "admin")
    assert f"{object_id}\t{EMAIL}\tadmin" in upgraded.ok("admins", "list")
    assert "role removed" in upgraded.ok("admins", "revoke", EMAIL)
    assert EMAIL not in upgraded.ok("admins", "list")
    events = upgraded.ok("audit", "--type", "admin.")
    assert "admin.role_granted" in events and "admin.role_revoked" in events
    bad = upgraded.run("admins", "grant", EMAIL, "--role", "superuser")
    assert bad.exit_code != 0 and "superuser" in bad.output
