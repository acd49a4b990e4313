"""Issuing, finding and revoking tokens.

Access tokens are JWTs (RFC 9068, ``typ: at+jwt``) signed with the current key, and also
recorded by digest so revocation and introspection answer for them. Refresh tokens are
opaque random strings, recorded by digest, rotated at every use; presenting one already
exchanged revokes its whole family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import TokenMixin
from joserfc import jwt
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from idp.clock import timestamp
from idp.extensions import db
from idp.metrics import TOKENS_ISSUED
from idp.protocol import keys
from idp.protocol.claims import route_claims
from idp.protocol.clients import OAuthClient
from idp.runtime import Runtime
from idp.security.digests import digest, new_secret
from idp.store.clients import get_client
from idp.store.models import Token, TokenFamily, User


def lifetime(rt: Runtime, client: OAuthClient, name: str, policy_id: str | None) -> int:
    """A lifetime in seconds: the client's, else the policy's, else the deployment's."""
    from_client = client.lifetime(name)
    if from_client:
        return from_client
    policy = rt.policies.get(policy_id)
    if policy is not None and f"{name}_lifetime" in policy.tokens:
        return policy.tokens[f"{name}_lifetime"]
    return int(rt.settings[f"tokens.{name}_lifetime"])


def sign(rt: Runtime, claims: dict[str, Any], typ: str) -> str:
    key = keys.signing_key(rt.encryptor, rt.clock.now())
    header = {"alg": key.algorithm, "kid": key.kid, "typ": typ}
    return jwt.encode(header, claims, key.key, algorithms=[key.algorithm])


def issue(
    rt: Runtime,
    client: OAuthClient,
    family: TokenFamily,
    user: User | None,
    scope: str,
    include_refresh_token: bool,
) -> dict[str, Any]:
    now = rt.clock.now()
    access_seconds = lifetime(rt, client, "access_token", family.policy_id)
    jti = new_secret(16)
    claims: dict[str, Any] = {
        "iss": family.issuer,
        "sub": user.object_id if user else client.client_id,
        "aud": client.client_id,
        "client_id": client.client_id,
        "iat": timestamp(now),
        "nbf": timestamp(now),
        "exp": timestamp(now) + access_seconds,
        "jti": jti,
        "scope": scope,
    }
    if user is not None:
        claims["oid"] = user.object_id
        if family.auth_time:
            claims["auth_time"] = timestamp(family.auth_time)
        if family.amr:
            claims["amr"] = list(family.amr)
        if family.sid:
            claims["sid"] = family.sid
        claims.update(route_claims(family.route, family.policy_id))
    access_token = sign(rt, claims, "at+jwt")
    rows = [_row(family, "access", access_token, scope, now, access_seconds, jti)]
    TOKENS_ISSUED.labels(kind="access").inc()
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": access_token,
        "expires_in": access_seconds,
        "scope": scope,
    }
    if include_refresh_token:
        refresh_seconds = lifetime(rt, client, "refresh_token", family.policy_id)
        refresh_token = new_secret(32)
        rows.append(_row(family, "refresh", refresh_token, scope, now, refresh_seconds, None))
        TOKENS_ISSUED.labels(kind="refresh").inc()
        token["refresh_token"] = refresh_token
        token["refresh_token_expires_in"] = refresh_seconds
    _record(rows)
    return token


# The token endpoint's statements, built once: building and cache-keying a statement per
# request was a tenth of a token's CPU (docs/performance.md).
_INSERT_TOKENS = insert(Token.__table__)
_FIND_TOKEN = select(Token).where(Token.token_hash == bindparam("token_hash"))
_FIND_TOKEN_OF_KIND = _FIND_TOKEN.where(Token.kind == bindparam("kind"))
_CLAIM_REFRESH_TOKEN = (
    update(Token)
    .where(Token.id == bindparam("token_id"), Token.rotated_at.is_(None),
           Token.revoked_at.is_(None))
    .values(rotated_at=bindparam("now"))
)


def _row(
    family: TokenFamily,
    kind: str,
    value: str,
    scope: str,
    now: datetime,
    seconds: int,
    jti: str | None,
) -> dict[str, Any]:
    return {
        "token_hash": digest(value),
        "kind": kind,
        "family_id": family.id,
        "jti": jti,
        "scope": scope,
        "issued_at": now,
        "expires_at": now + timedelta(seconds=seconds),
        "rotated_at": None,
        "revoked_at": None,
    }


_INSERT_FAMILY = insert(TokenFamily.__table__)


def record_family(family: TokenFamily) -> None:
    """Write a new family at once, by one statement; the object stays outside the session
    (the unit of work's flush was a sixth of a client_credentials grant's CPU).

    Columns left unset get their model defaults, here and on the object, so what the
    request reads from it afterwards is what was written.
    """
    values: dict[str, Any] = {}
    for column in TokenFamily.__table__.columns:
        if column.key in family.__dict__:
            values[column.key] = family.__dict__[column.key]
            continue
        default: Any = column.default
        if default is None:
            value = None
        elif default.is_callable:
            value = default.arg(None)  # SQLAlchemy's wrapper takes the execution context
        else:
            value = default.arg
        values[column.key] = value
        setattr(family, column.key, value)
    db.session.execute(_INSERT_FAMILY, values)


def _record(rows: list[dict[str, Any]]) -> None:
    """Record the tokens just made, by digest, in the request's transaction (one statement).

    Changes pending in the session (an authorization code now naming its family) are
    written first.
    """
    db.session.flush()
    db.session.execute(_INSERT_TOKENS, rows)


def revoke_family(family_id: str, now: datetime, reason: str) -> None:
    db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    db.session.execute(
        update(Token)
        .where(Token.family_id == family_id, Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def find_token(value: str, kind: str | None = None) -> Token | None:
    if kind:
        return db.session.scalar(_FIND_TOKEN_OF_KIND,
                                 {"token_hash": digest(value), "kind": kind})
    return db.session.scalar(_FIND_TOKEN, {"token_hash": digest(value)})


def claim_refresh_token(row: Token, now: datetime) -> bool:
    """Mark a refresh token exchanged; False if another request exchanged it first."""
    result = db.session.execute(
        _CLAIM_REFRESH_TOKEN, {"token_id": row.id, "now": now},
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # The row in hand says what the statement wrote, without a read or another write.
    set_committed_value(row, "rotated_at", now)
    return True


_UNREAD = object()


class IssuedToken(TokenMixin):
    """A recorded token as authlib's resource protector, revocation and introspection see it."""

    def __init__(self, row: Token, now: datetime) -> None:
        self.row = row
        self.family = row.family
        self.scope = row.scope
        self._now = now
        self._user: Any = _UNREAD

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.family.client_id)

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.row.expires_at <= self._now

    def is_revoked(self) -> bool:
        if self.row.revoked_at is not None or self.family.revoked_at is not None:
            return True
        user = self.get_user()
        return self.family.user_id is not None and (user is None or not user.enabled)

    def get_user(self) -> User | None:
        # Kept: the session's identity map holds rows weakly, so a second get would read
        # the row again (the refresh grant asks once to check, once to issue).
        if self._user is _UNREAD:
            self._user = (None if self.family.user_id is None
                          else db.session.get(User, self.family.user_id))
        return self._user

    def get_client(self) -> Any:
        row = get_client(self.family.client_id)
        return OAuthClient(row, self._now) if row else None

    def introspection(self) -> dict[str, Any]:
        """RFC 7662 §2.2 members for an active token."""
        user = self.get_user()
        payload: dict[str, Any] = {
            "active": True,
            "scope": self.row.scope,
            "client_id": self.family.client_id,
            "token_type": "Bearer" if self.row.kind == "access" else "refresh_token",
            "exp": timestamp(self.row.expires_at),
            "iat": timestamp(self.row.issued_at),
            "iss": self.family.issuer,
            "sub": user.object_id if user else self.family.client_id,
            "aud": self.family.client_id,
        }
        if self.row.jti:
            payload["jti"] = self.row.jti
        if self.family.policy_id:
            payload["tfp"] = self.family.policy_id
        return payload


def new_family_id() -> str:
    import uuid

    return str(uuid.uuid4())
