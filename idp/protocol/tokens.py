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
from sqlalchemy import select, update

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
    _record(family, "access", access_token, scope, now, access_seconds, jti)
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
        _record(family, "refresh", refresh_token, scope, now, refresh_seconds, None)
        TOKENS_ISSUED.labels(kind="refresh").inc()
        token["refresh_token"] = refresh_token
        token["refresh_token_expires_in"] = refresh_seconds
    return token


def _record(
    family: TokenFamily,
    kind: str,
    value: str,
    scope: str,
    now: datetime,
    seconds: int,
    jti: str | None,
) -> None:
    db.session.add(
        Token(
            token_hash=digest(value),
            kind=kind,
            family_id=family.id,
            jti=jti,
            scope=scope,
            issued_at=now,
            expires_at=now + timedelta(seconds=seconds),
        )
    )


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
    query = select(Token).where(Token.token_hash == digest(value))
    if kind:
        query = query.where(Token.kind == kind)
    return db.session.scalar(query)


def claim_refresh_token(row: Token, now: datetime) -> bool:
    """Mark a refresh token exchanged; False if another request exchanged it first."""
    result = db.session.execute(
        update(Token)
        .where(Token.id == row.id, Token.rotated_at.is_(None), Token.revoked_at.is_(None))
        .values(rotated_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


class IssuedToken(TokenMixin):
    """A recorded token as authlib's resource protector, revocation and introspection see it."""

    def __init__(self, row: Token, now: datetime) -> None:
        self.row = row
        self.family = row.family
        self.scope = row.scope
        self._now = now

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
        if self.family.user_id is None:
            return None
        return db.session.get(User, self.family.user_id)

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
