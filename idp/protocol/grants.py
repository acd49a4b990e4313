"""authlib's grants, with Gatehouse's storage hooks.

Each grant hands token creation to ``issue_for_grant`` so one place decides lifetimes,
families and claims; authlib keeps every check the RFCs make.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, grants
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import g
from sqlalchemy import select, update

from idp.extensions import db
from idp.protocol import tokens
from idp.runtime import runtime
from idp.security import audit
from idp.security.digests import digest
from idp.store.models import AuthorizationCode, TokenFamily, User

SECRET_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _wants_refresh_token(client: Any, scope: str) -> bool:
    # OIDC Core §11: a refresh token is issued for offline_access (as B2C does).
    return client.check_grant_type("refresh_token") and "offline_access" in (
        scope_to_list(scope) or []
    )


class IssuesGatehouseTokens:
    """Replaces authlib's token generator call so that tokens belong to a family."""

    request: Any

    def new_family(self, user: User | None) -> TokenFamily:
        raise NotImplementedError

    def generate_token(  # type: ignore[override]
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        rt = runtime()
        family = self.new_family(user)
        self.request.family = family
        if scope is None or family.grant_type == "client_credentials":
            scope = family.scope
        include = include_refresh_token and _wants_refresh_token(self.request.client, scope)
        return tokens.issue(rt, self.request.client, family, user, scope, include)


class AuthorizationCodeGrant(IssuesGatehouseTokens, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "none"]

    def save_authorization_code(self, code: str, request: Any) -> None:
        rt = runtime()
        now = rt.clock.now()
        data = request.payload.data
        authentication = request.authentication
        row = AuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.client_id,
            user_id=request.user.id,
            redirect_uri=data.get("redirect_uri") or "",
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            issuer=g.authority.issuer,
            policy_id=g.authority.policy_id,
            auth_time=datetime.fromtimestamp(authentication.auth_time, UTC),
            amr=list(authentication.amr),
            sid=request.sid,
            new_user=authentication.new_user,
            route=authentication.route,
            created_at=now,
            expires_at=now + timedelta(seconds=rt.settings["tokens.code_lifetime"]),
        )
        db.session.add(row)
        db.session.commit()

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        rt = runtime()
        now = rt.clock.now()
        row = db.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
        )
        if row is None or row.client_id != client.client_id:
            return None
        authority = getattr(g, "authority", None)
        if (
            authority is not None
            and authority.per_policy
            and (authority.policy_id.lower() != (row.policy_id or "").lower())
        ):
            # A code answers the policy it was issued for: redeeming it at another
            # policy's token endpoint would dress a password-only sign-in up as one that
            # passed that policy's MFA (RFC 6749 §4.1.3: the code was not issued here).
            return None
        if row.used_at is not None:
            # RFC 6749 §4.1.2 / RFC 9700 §4.5: a reused code is refused and the tokens it
            # issued are revoked.
            if row.family_id:
                tokens.revoke_family(row.family_id, now, "authorization code reused")
            audit.record(
                "token.code_reused", client_id=client.client_id, details={"family": row.family_id}
            )
            db.session.commit()
            return None
        claimed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # a concurrent request took it first
        # The claim is committed with the tokens, by the token view: a concurrent
        # redemption waits on the row (PostgreSQL) or the write lock (SQLite) and finds it
        # used; one that comes later finds the family to revoke as well.
        if row.expires_at <= now:
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Kept, marked used, so that a replay can be recognised and its tokens revoked.
        pass

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        user = db.session.get(User, authorization_code.user_id)
        return user if user is not None and user.enabled else None

    def new_family(self, user: User | None) -> TokenFamily:
        code: AuthorizationCode = self.request.authorization_code
        family = TokenFamily(
            client_id=code.client_id,
            user_id=code.user_id,
            grant_type="authorization_code",
            scope=code.scope,
            issuer=code.issuer,
            policy_id=code.policy_id,
            auth_time=code.auth_time,
            amr=list(code.amr or []),
            route=code.route,
            sid=code.sid,
            created_at=runtime().clock.now(),
        )
        family.id = tokens.new_family_id()
        tokens.record_family(family)
        code.family_id = family.id
        return family


class RefreshTokenGrant(IssuesGatehouseTokens, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> tokens.IssuedToken | None:
        now = runtime().clock.now()
        row = tokens.find_token(refresh_token, "refresh")
        if row is None or row.expires_at <= now:
            return None
        if row.rotated_at is not None and row.family.revoked_at is None:
            # RFC 9700 §4.14.2: a refresh token used twice revokes the whole family.
            tokens.revoke_family(row.family_id, now, "refresh token reused")
            audit.record(
                "token.refresh_reused",
                client_id=row.family.client_id,
                details={"family": row.family_id},
            )
            db.session.commit()
            return None
        if row.revoked_at is not None or row.family.revoked_at is not None:
            return None
        issued = tokens.IssuedToken(row, now)
        if issued.is_revoked():  # the person was disabled or deleted
            return None
        return issued

    def authenticate_user(self, refresh_token: tokens.IssuedToken) -> User | None:
        return refresh_token.get_user()

    def new_family(self, user: User | None) -> TokenFamily:
        # Rotation keeps the family: the new tokens answer for the same grant.
        token: tokens.IssuedToken = self.request.refresh_token
        now = runtime().clock.now()
        if not tokens.claim_refresh_token(token.row, now):
            # Presented twice at once: the other request won the race. The reuse rule
            # holds all the same (RFC 9700 §4.14.2): one token, used twice, revokes its
            # family — an attacker racing the real portal gains nothing.
            tokens.revoke_family(token.family.id, now, "refresh token reused")
            audit.record("token.refresh_reused", client_id=token.family.client_id,
                         details={"family": token.family.id, "concurrent": True})
            db.session.commit()
            raise InvalidGrantError("The refresh token has already been used.")
        return token.family

    def revoke_old_credential(self, refresh_token: tokens.IssuedToken) -> None:
        pass  # claim_refresh_token marked it exchanged before the new tokens were made


class ClientCredentialsGrant(IssuesGatehouseTokens, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_METHODS

    def new_family(self, user: User | None) -> TokenFamily:
        client = self.request.client
        family = TokenFamily(
            client_id=client.client_id,
            user_id=None,
            grant_type="client_credentials",
            scope=self.request.client.get_allowed_scope(self.request.payload.scope),
            issuer=g.authority.issuer,
            policy_id=None,
            created_at=runtime().clock.now(),
        )
        family.id = tokens.new_family_id()
        tokens.record_family(family)
        return family
