"""The authorization server: authlib's Flask server with Gatehouse's grants and endpoints."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import Flask
from flask import request as flask_request

from idp.extensions import db
from idp.protocol import keys, tokens
from idp.protocol.authorize import GatehouseAuthorizationChecks
from idp.protocol.claims import user_claims
from idp.protocol.client_auth import PrivateKeyJWT
from idp.protocol.clients import OAuthClient
from idp.protocol.grants import (
    SECRET_METHODS,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from idp.protocol.openid import GatehouseIDToken, GatehouseRefreshedIDToken
from idp.protocol.pkce import S256CodeChallenge
from idp.runtime import runtime
from idp.security import audit
from idp.store.clients import get_client

SCOPES_SUPPORTED = ["openid", "profile", "email", "phone", "address", "offline_access"]


def query_client(client_id: str) -> OAuthClient | None:
    row = get_client(client_id)
    if row is None or not row.enabled:
        return None
    if row.source == "internal" and (flask_request.endpoint or "").startswith(
        ("protocol.token", "protocol.revoke", "protocol.introspect")
    ):
        # Gatehouse's own admin pages redeem their codes in-process (admin/signin.py):
        # their client starts sign-ins and nothing else, so no endpoint issues it tokens.
        return None
    return OAuthClient(row, runtime().clock.now())


def client_secret_basic(query_client: Any, request: Any) -> Any:
    """authlib's client_secret_basic, with a malformed header read as no credentials.

    authlib's parser raises ValueError on some headers a client can send (a Basic token
    that is not ASCII, or not UTF-8 once decoded; "Basic" with only spaces after it),
    which would be a 500; RFC 6749 §5.2 wants invalid_client, which authlib answers
    (401, WWW-Authenticate) once no method has found a client.
    """
    try:
        extract_basic_authorization(request.headers)
    except ValueError:
        return None
    return authenticate_client_secret_basic(query_client, request)


def save_token(token: dict[str, Any], request: Any) -> None:
    """Tokens are recorded as they are made (protocol/tokens.py), in the request's
    transaction; the token view commits it once the whole answer, ID token and all, is made
    (committing here would expire the rows the ID token is then made from, and read them
    again in a second transaction)."""


class BearerToken(BearerTokenValidator):
    """RFC 6750 bearer tokens, found by digest; the header or, for POST, the form body."""

    def authenticate_token(self, token_string: str) -> tokens.IssuedToken | None:
        row = tokens.find_token(token_string, "access")
        return tokens.IssuedToken(row, runtime().clock.now()) if row else None


class GatehouseResourceProtector(ResourceProtector):
    def parse_request_authorization(self, request: Any) -> Any:
        # RFC 6750 §2.2: the token may come as the form-encoded body parameter
        # access_token; a request may use one method only (§2).
        body_token = None
        if flask_request.method == "POST" and flask_request.mimetype == (
            "application/x-www-form-urlencoded"
        ):
            body_token = flask_request.form.get("access_token")
        if body_token:
            if request.headers.get("Authorization"):
                raise InvalidRequestError("Send the access token in one place only.")
            return self.get_token_validator("bearer"), body_token
        return super().parse_request_authorization(request)


class FindsIssuedTokens:
    """Revocation and introspection find a token the same way: by digest, any kind."""

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        row = tokens.find_token(token_string)
        return tokens.IssuedToken(row, runtime().clock.now()) if row else None


class Revocation(FindsIssuedTokens, RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*SECRET_METHODS, "none"]

    def revoke_token(self, token: tokens.IssuedToken, request: Any) -> None:
        now = runtime().clock.now()
        if token.row.kind == "refresh":
            # RFC 7009 §2.1: revoking a refresh token also revokes the access tokens
            # of the same grant.
            tokens.revoke_family(token.row.family_id, now, "revoked by client")
        else:
            token.row.revoked_at = now
        audit.record(
            "token.revoked", client_id=token.family.client_id, details={"kind": token.row.kind}
        )
        db.session.commit()


class Introspection(FindsIssuedTokens, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = SECRET_METHODS

    def check_permission(self, token: tokens.IssuedToken, client: Any, request: Any) -> bool:
        # A client may introspect the tokens issued to it; others see active=false.
        return token.check_client(client)

    def introspect_token(self, token: tokens.IssuedToken) -> dict[str, Any]:
        return token.introspection()


class UserInfo(UserInfoEndpoint):
    def generate_user_info(self, user: Any, scope: str) -> Any:
        return user_claims(user, scope)

    def __call__(self, req: Any) -> Any:
        token = self.resource_protector.acquire_token("openid")
        user = token.get_user()
        return (
            200,
            self.generate_user_info(user, token.scope),
            [
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
            ],
        )


class EndSession(EndSessionEndpoint):
    def get_server_jwks(self) -> Any:
        from joserfc.jwk import KeySet

        return KeySet.import_key_set(keys.jwks(runtime().clock.now()))

    def end_session(self, end_session_request: Any) -> None:
        from idp.protocol.sessions import end_browser_session

        end_browser_session(end_session_request)


def create_server(app: Flask) -> AuthorizationServer:
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.scopes_supported = SCOPES_SUPPORTED
    server.register_client_auth_method("client_secret_basic", client_secret_basic)
    assertion = PrivateKeyJWT()
    server.register_client_auth_method(assertion.CLIENT_AUTH_METHOD, assertion)
    # Gatehouse's own authorization checks run first, then PKCE, then OpenID's.
    server.register_grant(
        AuthorizationCodeGrant,
        [GatehouseAuthorizationChecks(), S256CodeChallenge(), GatehouseIDToken()],
    )
    server.register_grant(RefreshTokenGrant, [GatehouseRefreshedIDToken()])
    server.register_grant(ClientCredentialsGrant)
    protector = GatehouseResourceProtector()
    protector.register_token_validator(BearerToken())
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(UserInfo(resource_protector=protector))
    server.register_endpoint(EndSession)
    app.extensions["idp.resource_protector"] = protector
    return server
