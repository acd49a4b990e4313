"""ID tokens on authlib's OpenIDCode/OpenIDToken extensions, with B2C's claims.

The same extension serves the code grant (first ID token, with nonce and ``newUser``) and
the refresh grant (a fresh ID token with the original ``auth_time``, OIDC Core §12.2).
"""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import OpenIDCode
from sqlalchemy import select

from idp.clock import timestamp
from idp.extensions import db
from idp.protocol import keys
from idp.protocol.claims import policy_claims, route_claims, user_claims
from idp.protocol.tokens import lifetime
from idp.runtime import runtime
from idp.store.models import AuthorizationCode


class GatehouseIDToken(OpenIDCode):
    def __init__(self) -> None:
        super().__init__(require_nonce=False)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # OIDC Core §3.1.2.1: a nonce seen before for this client is a replay.
        return (
            db.session.scalar(
                select(AuthorizationCode.id)
                .where(
                    AuthorizationCode.client_id == request.payload.client_id,
                    AuthorizationCode.nonce == nonce,
                )
                .limit(1)
            )
            is not None
        )

    def _key(self) -> keys.ActiveKey:
        rt = runtime()
        return keys.signing_key(rt.encryptor, rt.clock.now())

    def resolve_client_private_key(self, client: Any) -> Any:
        return self._key().key

    def get_client_algorithm(self, client: Any) -> str:
        return self._key().algorithm

    def get_encode_header(self, client: Any) -> dict[str, str]:
        key = self._key()
        return {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        """The claims every ID token carries, from the token family of this grant."""
        rt = runtime()
        now = timestamp(rt.clock.now())
        family = request.family
        code = request.authorization_code
        seconds = lifetime(rt, request.client, "id_token", family.policy_id)
        claims: dict[str, Any] = {
            "iss": family.issuer,
            "aud": request.client.get_client_id(),
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
        }
        if family.auth_time:
            claims["auth_time"] = timestamp(family.auth_time)
        if family.amr:
            claims["amr"] = list(family.amr)
        if family.sid:
            claims["sid"] = family.sid
        claims.update(route_claims(family.route, family.policy_id, bool(code and code.new_user)))
        # The tenant, as Entra ID and B2C tokens carry it (a relying party on the
        # multi-tenant form checks the issuer against it).
        claims["tid"] = rt.settings["tenant.id"]
        policy = rt.policies.get(family.policy_id)
        if policy is not None and request.user is not None:
            claims.update(policy_claims(request.user, policy.claims))
        return claims

    def get_authorization_code_claims(self, authorization_code: Any) -> dict[str, Any]:
        claims = super().get_authorization_code_claims(authorization_code)
        claims.pop("acr", None)
        return claims

    def generate_user_info(self, user: Any, scope: str) -> dict[str, Any]:
        return user_claims(user, scope)


class GatehouseRefreshedIDToken(GatehouseIDToken):
    """On the refresh grant only the token hook applies (no authorization request)."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
