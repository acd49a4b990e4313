"""private_key_jwt client authentication (OIDC Core §9, RFC 7523 §2.2) on authlib's
JWTBearerClientAssertion. Keys come from the client's registered ``jwks`` or ``jwks_uri``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import g
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.runtime import runtime
from idp.store.models import UsedAssertion


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self) -> list[str]:
        # RFC 7523 §3: the audience is the token endpoint or the issuer; with several
        # authorities, any of this request's.
        return sorted(g.authority.token_endpoint_urls())

    def resolve_client_public_key(self, client: Any) -> KeySet:
        metadata = client.client_metadata
        if metadata.get("jwks"):
            return KeySet.import_key_set(metadata["jwks"])
        uri = metadata.get("jwks_uri")
        if not uri:
            raise InvalidClientError(description="The client has no registered keys.")
        try:
            response = requests.get(uri, timeout=5)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError) as error:
            raise InvalidClientError(description="The client's jwks_uri failed.") from error

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        """Refuse an assertion whose jti this client has used before."""
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        db.session.add(UsedAssertion(client_id=claims["sub"], jti=jti, expires_at=expires))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return False
        return expires > runtime().clock.now()
