"""The storage layer, passed by every database backend: SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.protocol import keys, tokens
from idp.protocol.clients import OAuthClient
from idp.security.digests import digest
from idp.store.clients import get_client, rotate_secret
from idp.store.migrate import alembic_config
from idp.store.models import AuditEvent, Base, Identity, TokenFamily, User
from idp.store.users import AccountExists, create_local_user, find_local_identity
from tests.conftest import add_user

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_migrations_build_exactly_the_models_schema(database_url):
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert {"users", "identities", "password_credentials", "clients", "authorization_codes",
            "token_families", "tokens", "consents", "signing_keys", "journey_states",
            "audit_events", "browser_sessions"} <= tables


def test_a_local_account_is_keyed_by_its_verified_email(app):
    object_id = add_user(app, email="Jenny.Hinsen@Example.com")
    with app.app_context():
        identity = find_local_identity("jenny.hinsen@example.COM")
        assert identity is not None and identity.user.object_id == object_id
        assert identity.route == "local" and identity.subject == "jenny.hinsen@example.com"
        assert identity.user.email_verified is True
        assert identity.user.password.hash.startswith("$argon2id$")


def test_one_email_cannot_make_two_local_accounts(app, clock):
    add_user(app)
    with app.app_context(), pytest.raises(AccountExists):
        create_local_user(email="JENNY.hinsen@example.com", password_hash="x", now=clock.now())


def test_the_database_refuses_a_second_identity_with_the_same_route_and_subject(app, clock):
    add_user(app)
    with app.app_context():
        user = User(email="other@example.com", claims={}, created_at=clock.now(),
                    updated_at=clock.now())
        user.identities.append(Identity(route="local", issuer="local",
                                        subject="jenny.hinsen@example.com",
                                        created_at=clock.now()))
        db.session.add(user)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(User).where(User.email == "other@example.com")) is None


def test_times_come_back_in_utc(app, clock):
    object_id = add_user(app)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.object_id == object_id))
        assert user.created_at == clock.now()
        assert user.created_at.utcoffset() == timedelta(0)


def test_a_refresh_token_can_be_exchanged_only_once(app, clock):
    object_id = add_user(app)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.object_id == object_id))
        family = TokenFamily(id=tokens.new_family_id(), client_id="portal", user_id=user.id,
                             grant_type="authorization_code", scope="openid",
                             issuer="http://127.0.0.1:5000", created_at=clock.now())
        db.session.add(family)
        client = OAuthClient(get_client("portal"), clock.now())
        issued = tokens.issue(app.extensions["idp"], client, family, user, "openid offline_access",
                              include_refresh_token=True)
        db.session.commit()
        row = tokens.find_token(issued["refresh_token"], "refresh")
        assert tokens.claim_refresh_token(row, clock.now()) is True
        assert tokens.claim_refresh_token(row, clock.now()) is False
        tokens.revoke_family(family.id, clock.now(), "test")
        db.session.commit()
        access = tokens.find_token(issued["access_token"], "access")
        assert tokens.IssuedToken(access, clock.now()).is_revoked()


def test_a_rotated_key_is_published_before_it_signs_and_kept_until_tokens_expire(app, clock):
    with app.app_context():
        rt = app.extensions["idp"]
        first = keys.signing_key(rt.encryptor, clock.now()).kid
        new = keys.rotate(rt.encryptor, "ES256", clock.now(), timedelta(hours=1),
                          timedelta(minutes=60))
        db.session.commit()
        published = {k["kid"] for k in keys.jwks(clock.now())["keys"]}
        assert published == {first, new.kid}
        assert keys.signing_key(rt.encryptor, clock.now()).kid == first
        clock.advance(hours=1, seconds=1)
        assert keys.signing_key(rt.encryptor, clock.now()).kid == new.kid
        assert {k["kid"] for k in keys.jwks(clock.now())["keys"]} == {first, new.kid}
        clock.advance(hours=1)
        assert {k["kid"] for k in keys.jwks(clock.now())["keys"]} == {new.kid}


def test_private_keys_are_encrypted_at_rest(app):
    with app.app_context():
        row = keys.published_keys(app.extensions["idp"].clock.now())[0]
        assert b"PRIVATE KEY" not in row.private_key_encrypted
        assert "d" not in row.public_jwk


def test_client_secrets_are_stored_as_digests_and_rotate_with_overlap(app, clock):
    with app.app_context():
        row = get_client("portal")
        assert row.secret_hash == digest("confidential-secret-0123456789abcdef")
        new_secret = rotate_secret(row, clock.now(), overlap_seconds=300)
        client = OAuthClient(row, clock.now())
        assert client.check_client_secret(new_secret)
        assert client.check_client_secret("confidential-secret-0123456789abcdef")
        later = OAuthClient(row, clock.now() + timedelta(seconds=301))
        assert not later.check_client_secret("confidential-secret-0123456789abcdef")


def test_the_audit_log_records_sign_ins(app, client, user):
    from tests.flows import get_code

    get_code(client)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
        assert [e.event_type for e in events] == ["signin.succeeded"]
        assert events[0].user_object_id == user and events[0].ip_address == "127.0.0.1"


def test_the_full_code_flow_works_on_this_backend(client, user):
    from tests.flows import exchange, get_code

    code, _, verifier = get_code(client)
    first = exchange(client, code, verifier)
    assert first.status_code == 200
    assert exchange(client, code, verifier).get_json()["error"] == "invalid_grant"


def test_commit_keeping_loaded_commits_and_leaves_what_was_loaded_in_hand(app):
    from sqlalchemy import event

    from idp.extensions import commit_keeping_loaded

    add_user(app)
    with app.app_context():
        user = db.session.scalar(select(User))
        user.given_name = "Jen"
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            commit_keeping_loaded()
            assert (user.given_name, user.email) == ("Jen", "jenny.hinsen@example.com")
            read_again = list(statements)
            db.session.commit()  # an ordinary commit still expires what was loaded
            assert user.given_name == "Jen"
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert not any("SELECT" in s for s in read_again)
        assert any("SELECT" in s for s in statements)
        assert db.session().expire_on_commit is True
    with app.app_context():
        assert db.session.scalar(select(User.given_name)) == "Jen"
