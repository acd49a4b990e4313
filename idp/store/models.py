"""SQLAlchemy 2 models. Every table a deployment keeps; nothing is kept in process memory.

Secrets that we issue (client secrets, codes, tokens) are stored as SHA-256 digests:
they are long random strings, so a plain digest resists guessing and lets us look them
up by value. Passwords, which people choose, are argon2id hashes (security/passwords.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    registry = registry(
        type_annotation_map={datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}
    )


class User(Base):
    """A person. ``object_id`` is their subject (``sub``/``oid``), a UUID as in B2C."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(400))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    claims: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Too many wrong or requested second-factor codes: no MFA until then (a timed block).
    mfa_blocked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    password: Mapped[PasswordCredential | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )

    def get_user_id(self) -> str:
        return self.object_id

    @property
    def name(self) -> str | None:
        if self.display_name:
            return self.display_name
        parts = [p for p in (self.given_name, self.family_name) if p]
        return " ".join(parts) or None


class Identity(Base):
    """A way into an account: its route plus its subject (DESIGN.md, principle 1).

    Local identities: ``issuer = "local"``, ``subject`` = the verified email, lower-cased.
    Federated identities: the provider's issuer and its ``sub`` — never the email it returns.
    """

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_identity_route_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    route: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="identities")


class PasswordCredential(Base):
    __tablename__ = "password_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    hash: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="password")


class Client(Base):
    """A relying portal. ``metadata_`` holds its registration (RFC 7591 names)."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    client_type: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    source: Mapped[str] = mapped_column(String(20), default="cli")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: RFC 7592: the digest of the registration access token that manages this client,
    #: for clients made through dynamic registration.
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    issuer: Mapped[str] = mapped_column(String(300))
    policy_id: Mapped[str] = mapped_column(String(100))
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]] = mapped_column(default=list)
    sid: Mapped[str | None] = mapped_column(String(64))
    new_user: Mapped[bool] = mapped_column(Boolean, default=False)
    route: Mapped[str] = mapped_column(String(32), default="local")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    family_id: Mapped[str | None] = mapped_column(String(36))

    # authlib reads a code through these accessors (AuthorizationCodeMixin in
    # authlib.oauth2.rfc6749 and authlib.oidc.core); duck-typed, so no authlib import here.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return list(self.amr or [])


class TokenFamily(Base):
    """Everything issued from one grant: revoking the family revokes all of it.

    A reused authorization code or refresh token revokes its family (RFC 9700 §2.2.2,
    §4.14.2).
    """

    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    grant_type: Mapped[str] = mapped_column(String(60))
    scope: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(String(300))
    policy_id: Mapped[str | None] = mapped_column(String(100))
    auth_time: Mapped[datetime | None]
    amr: Mapped[list[str]] = mapped_column(default=list)
    route: Mapped[str] = mapped_column(String(32), default="local")
    sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(60))


class Token(Base):
    """One access or refresh token; ``rotated_at`` marks a refresh token already exchanged."""

    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_family_kind", "family_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    family_id: Mapped[str] = mapped_column(ForeignKey("token_families.id", ondelete="CASCADE"))
    jti: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    family: Mapped[TokenFamily] = relationship(lazy="joined")


class Consent(Base):
    """Agreement to a versioned privacy policy: a journey step's record, not an OAuth grant."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(40))
    agreed_at: Mapped[datetime]


class SigningKey(Base):
    """A signing key; the private half is encrypted at rest (security/keys.py)."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[dict[str, Any]]
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    # Published in JWKS from created_at; signs from active_from until retired_at;
    # stays published until every token it signed has expired (publish_until).
    active_from: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    publish_until: Mapped[datetime | None]


class BrowserSession(Base):
    """A signed-in browser. The cookie carries only ``sid``; a new one is made at sign-in."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    route: Mapped[str] = mapped_column(String(32))
    amr: Mapped[list[str]] = mapped_column(default=list)
    auth_time: Mapped[datetime]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    #: When the session was last used to sign in somewhere, for the idle timeout.
    last_seen_at: Mapped[datetime | None]
    #: Seconds it may go unused; None for none ("Keep me signed in").
    idle_timeout: Mapped[int | None] = mapped_column(Integer)
    #: "Keep me signed in": its cookie outlives the browser.
    persistent: Mapped[bool] = mapped_column(Boolean, default=False)


class JourneyState(Base):
    """A journey in progress: the authorization request it serves and its context keys."""

    __tablename__ = "journey_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(64), unique=True)
    policy_id: Mapped[str] = mapped_column(String(100))
    authorization_request: Mapped[dict[str, Any]]
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class MfaMethod(Base):
    """A second factor a person has proven: a phone (texts or calls) or an authenticator
    app, whose secret is encrypted at rest like the signing keys."""

    __tablename__ = "mfa_methods"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_mfa_user_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "phone" or "app"
    phone_number: Mapped[str | None] = mapped_column(String(32))
    phone_type: Mapped[str | None] = mapped_column(String(10))  # "mobile", "landline"
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The last TOTP time step accepted, so no app code is accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """A one-time recovery code for when the authenticator app is lost; a digest only."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PendingSignup(Base):
    """A sign-up waiting for its activation link: not an account yet.

    Nothing about an unproven address becomes an account, so signing up with someone
    else's address gains nothing, and a pending sign-up never blocks the address. The
    link's token is kept as a digest; following it (and, in another browser, giving the
    password chosen at sign-up) creates the account. ``journey_id`` lets it carry on the
    journey that sent it when it is followed in the same browser. "Resend" makes a new
    row with a new token and retires the old one.
    """

    __tablename__ = "pending_signups"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    password_hash: Mapped[str] = mapped_column(Text)
    claims: Mapped[dict[str, Any]] = mapped_column(default=dict)
    journey_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: When it was followed or replaced by a resend; a token works once.
    used_at: Mapped[datetime | None]
    #: The account it made, once followed.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The first row of this sign-up; resends share it, so the journey can find the account.
    first_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Wrong passwords given with this link in another browser; it stops working after 5.
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class UsedAssertion(Base):
    """A client assertion's jti, kept until the assertion expires (RFC 7523 §3, item 7)."""

    __tablename__ = "used_assertions"
    __table_args__ = (UniqueConstraint("client_id", "jti", name="uq_assertion_client_jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    jti: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class PasswordLockout(Base):
    """Wrong passwords for one email address and the lock they led to (security/lockout.py).

    Keyed by a digest of the address, account or not, so a lockout reveals nothing."""

    __tablename__ = "password_lockouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    #: Keyed digests of the wrong passwords of this round, so a repeat is not counted.
    recent: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(index=True)


class AdminRole(Base):
    """A person allowed into the admin pages: ``admin`` (everything) or ``support``
    (people only). Granted with ``idp admins grant``."""

    __tablename__ = "admin_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    role: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime]
    granted_by: Mapped[str | None] = mapped_column(String(200))


class B2cImport(Base):
    """Where an account imported from Azure AD B2C came from, and whether its password
    has followed yet (idp/migrate/).

    B2C cannot export password hashes, so an imported local account has no
    PasswordCredential until its first sign-in: the password is then checked with the
    old tenant (``sign_in_name`` is what that tenant knows the person by) and, when it
    is right, stored here as Gatehouse's own argon2id hash. ``record_digest`` is a digest
    of the source record, so importing the same export again changes nothing.
    """

    __tablename__ = "b2c_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    sign_in_name: Mapped[str | None] = mapped_column(String(320))
    password_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The person used an authenticator app at B2C; apps cannot move, so they enrol again.
    had_app: Mapped[bool] = mapped_column(Boolean, default=False)
    record_digest: Mapped[str] = mapped_column(String(64))
    #: What the last import wrote (enabled, email, phone, MFA phone, local sign-ins), so a
    #: re-import changes a field only while Gatehouse still holds what B2C last said: an
    #: admin's disable, a new MFA phone or a changed email made here are not undone.
    written: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imported_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    password_migrated_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class PasswordLink(Base):
    """An emailed link to set a new password, for an imported account whose old password
    could not be checked (idp/migrate/passwords.py). The token is kept as a digest, works
    once, and stops working when the account gets a password some other way."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The journey that asked for it, carried on when the link is used in that browser.
    journey_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only record of a security event. Nothing updates or deletes these rows."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    event_type: Mapped[str] = mapped_column(String(60), index=True)
    user_object_id: Mapped[str | None] = mapped_column(String(36), index=True)
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)
    actor: Mapped[str | None] = mapped_column(String(200))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
