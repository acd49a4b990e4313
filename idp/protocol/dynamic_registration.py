"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592), on authlib's
endpoints, behind an initial access token and off by default.

    POST   /register                 Authorization: Bearer <initial access token>
    GET    /register/<client_id>     Authorization: Bearer <registration access token>
    PUT    /register/<client_id>
    DELETE /register/<client_id>

Registered portals are first-party, as in B2C, so this stays off unless
``registration.enabled`` is set and the initial access token's environment variable holds
a value. Metadata goes through authlib's claim checks and then Gatehouse's own client
rules (exact https redirect URIs, known scopes, policies that exist); admin scopes are
never given this way. A portal may name the policies it will use in the non-standard
``policies`` member; otherwise it gets ``registration.default_policies``.
"""

from __future__ import annotations

import hmac
import os
import uuid
from typing import Any

from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oauth2.rfc7591 import (
    ClientMetadataClaims,
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint
from flask import Blueprint, Flask, Response, abort, current_app, request

from idp.clock import timestamp
from idp.extensions import csrf, db
from idp.runtime import runtime
from idp.security import audit
from idp.security.digests import digest, matches, new_secret
from idp.store.clients import (
    SCOPES,
    ClientFileError,
    get_client,
    save_registration,
    uri_problem,
    validate_registration,
)
from idp.store.models import Client, TokenFamily

bp = Blueprint("registration", __name__)
csrf.exempt(bp)
SOURCE = "dynamic"
#: RFC 7591 §2 members Gatehouse keeps, and the one extension it reads (policies).
_KEPT = (
    "redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types",
    "client_name", "scope", "post_logout_redirect_uris", "jwks", "jwks_uri",
    "backchannel_logout_uri", "frontchannel_logout_uri", "policies",
)


class Credential:
    """The token a registration request carries: the initial access token, or a client's
    registration access token (RFC 7592 §1)."""

    def __init__(self, client_id: str | None) -> None:
        self.client_id = client_id

    def check_client(self, client: Any) -> bool:
        return self.client_id is not None and self.client_id == client.client_id


class RegisteredClient:
    """A dynamic client as authlib's configuration endpoint sees it."""

    def __init__(self, row: Client) -> None:
        self.row = row
        self.client_id = row.client_id
        self.client_metadata = _metadata_view(row)
        self.client_info = {
            "client_id": row.client_id,
            "client_id_issued_at": timestamp(row.created_at),
            "client_secret_expires_at": 0,
        }

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, secret: str) -> bool:
        return matches(self.row.secret_hash, secret)


def _metadata_view(row: Client) -> dict[str, Any]:
    """The client's registration in RFC 7591 names (no secrets)."""
    metadata = dict(row.metadata_ or {})
    view: dict[str, Any] = {
        "client_name": row.name,
        "redirect_uris": metadata.get("redirect_uris", []),
        "token_endpoint_auth_method": metadata.get("token_endpoint_auth_method"),
        "grant_types": metadata.get("grant_types", []),
        "response_types": metadata.get("response_types", ["code"]),
        "scope": metadata.get("scope", ""),
        "post_logout_redirect_uris": metadata.get("post_logout_redirect_uris", []),
        "policies": metadata.get("policies", []),
    }
    for optional in ("jwks", "jwks_uri", "backchannel_logout_uri", "frontchannel_logout_uri"):
        if metadata.get(optional):
            view[optional] = metadata[optional]
    return view


def _server_metadata() -> dict[str, Any]:
    # What authlib's ClientMetadataClaims checks a request against (RFC 7591 §2).
    return {
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    }


class ClaimsWithPolicies(ClientMetadataClaims):  # type: ignore[misc]
    """RFC 7591's claims plus Gatehouse's ``policies`` extension, kept through the checks."""

    REGISTERED_CLAIMS = [*ClientMetadataClaims.REGISTERED_CLAIMS, "policies",
                         "post_logout_redirect_uris", "backchannel_logout_uri",
                         "frontchannel_logout_uri"]


def _registration(metadata: dict[str, Any], client_id: str) -> Any:
    """Gatehouse's own rules over authlib-checked metadata; errors are RFC 7591 §3.2.2's."""
    settings = runtime().settings
    policies = metadata.get("policies")
    if policies is None:
        policies = [p.strip() for p in settings["registration.default_policies"].split(",")
                    if p.strip()]
    if not isinstance(policies, list) or not policies:
        raise InvalidClientMetadataError(
            "policies must name the policies this client will use (none are given by default).")
    for policy in policies:
        if not isinstance(policy, str) or runtime().policies.get(policy) is None:
            raise InvalidClientMetadataError(
                _described(f"policies names {policy!r}, which is not a policy.")
            )
    method = metadata.get("token_endpoint_auth_method") or "client_secret_basic"
    scope = metadata.get("scope") or "openid"
    data: dict[str, Any] = {
        "client_id": client_id,
        "name": str(metadata.get("client_name") or f"Registered client {client_id[:8]}")[:200],
        "type": "public" if method == "none" else "confidential",
        "token_endpoint_auth_method": method,
        "redirect_uris": metadata.get("redirect_uris") or [],
        "post_logout_redirect_uris": metadata.get("post_logout_redirect_uris") or [],
        "policies": policies,
        "scopes": str(scope).split(),
        "grant_types": metadata.get("grant_types") or ["authorization_code"],
    }
    for optional in ("jwks", "jwks_uri", "backchannel_logout_uri", "frontchannel_logout_uri"):
        if metadata.get(optional):
            data[optional] = metadata[optional]
    if any(s not in SCOPES for s in data["scopes"]):
        # Admin scopes (gatehouse.*) are given by an admin, never by registration.
        raise InvalidClientMetadataError("scope may name only " + ", ".join(SCOPES) + ".")
    if set(metadata.get("response_types") or ["code"]) != {"code"}:
        raise InvalidClientMetadataError("response_types must be [code]: code flow only.")
    try:
        return validate_registration(data, "registration", generated_secret=True)
    except ClientFileError as error:
        message = str(error).removeprefix("registration: ")
        if error.field in ("redirect_uris", "post_logout_redirect_uris"):
            raise InvalidRedirectURIError(_described(message)) from None
        raise InvalidClientMetadataError(_described(message)) from None


def _described(text: str) -> str:
    """RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E only."""
    text = text.replace("\u00a7", "section ")
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)


def _check_redirect_uris(data: dict[str, Any]) -> None:
    """RFC 7591 §3.2.2: a bad redirect URI is invalid_redirect_uri, before anything else."""
    for name in ("redirect_uris", "post_logout_redirect_uris"):
        uris = data.get(name)
        if uris is None:
            continue
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise InvalidRedirectURIError(_described(f"{name} must be a list of URIs."))
        for uri in uris:
            problem = uri_problem(uri)
            if problem:
                raise InvalidRedirectURIError(_described(f"{name} entry {uri!r} {problem}."))


def _registration_info(row: Client, token: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "registration_client_uri": f"{runtime().settings['server.base_url']}/register/"
        f"{row.client_id}",
    }
    if token:
        info["registration_access_token"] = token
    return info


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    """RFC 7591 §3."""

    def authenticate_token(self, oauth_request: Any) -> Credential | None:
        expected = os.environ.get(runtime().settings["registration.initial_access_token_env"])
        given = _bearer()
        if not expected or not given:
            return None
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return Credential(None)

    def get_server_metadata(self) -> dict[str, Any]:
        return _server_metadata()

    def generate_client_id(self, oauth_request: Any) -> str:
        return str(uuid.uuid4())

    def generate_client_secret(self, oauth_request: Any) -> str | None:
        # A public client (token_endpoint_auth_method none) has no secret to be given.
        data = oauth_request.payload.data or {}
        return None if data.get("token_endpoint_auth_method") == "none" else new_secret()

    def extract_client_metadata(self, oauth_request: Any) -> dict[str, Any]:
        _check_redirect_uris(oauth_request.payload.data or {})
        return dict(super().extract_client_metadata(oauth_request))

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any],
                    oauth_request: Any) -> Client:
        registration = _registration(client_metadata, client_info["client_id"])
        public = registration.client_type == "public"
        secret = None if public else client_info["client_secret"]
        if public:
            client_info["client_secret"] = None
        row = save_registration(registration, runtime().clock.now(), SOURCE, secret)
        token = new_secret()
        row.registration_token_hash = digest(token)
        oauth_request.registration_token = token
        audit.record("client.registered", client_id=row.client_id, actor="registration",
                     details={"type": row.client_type})
        db.session.commit()
        return row

    def generate_client_registration_info(self, client: Client, oauth_request: Any) -> Any:
        return _registration_info(client, oauth_request.registration_token)


class Configuration(ClientConfigurationEndpoint):  # type: ignore[misc]
    """RFC 7592 §2: read, update and delete with the registration access token."""

    def authenticate_token(self, oauth_request: Any) -> Credential | None:
        given = _bearer()
        if not given:
            return None
        row = db.session.scalar(
            db.select(Client).where(Client.registration_token_hash == digest(given))
        )
        return Credential(row.client_id if row is not None and row.source == SOURCE else None)

    def authenticate_client(self, oauth_request: Any) -> RegisteredClient | None:
        client_id = request.view_args.get("client_id") if request.view_args else None
        row = get_client(client_id) if client_id else None
        return RegisteredClient(row) if row is not None and row.source == SOURCE else None

    def revoke_access_token(self, oauth_request: Any, token: Credential) -> None:
        # §2: an unknown client's request revokes the token it used.
        if token.client_id:
            row = get_client(token.client_id)
            if row is not None:
                row.registration_token_hash = None
                db.session.commit()

    def check_permission(self, client: RegisteredClient, oauth_request: Any) -> bool:
        return client.row.enabled

    def get_server_metadata(self) -> dict[str, Any]:
        return _server_metadata()

    def introspect_client(self, client: RegisteredClient) -> dict[str, Any]:
        return {**client.client_info, **client.client_metadata}

    def generate_client_registration_info(self, client: Any, oauth_request: Any) -> Any:
        row = client.row if isinstance(client, RegisteredClient) else client
        return _registration_info(row, None)

    def extract_client_metadata(self, oauth_request: Any) -> dict[str, Any]:
        _check_redirect_uris(oauth_request.payload.data or {})
        return dict(super().extract_client_metadata(oauth_request))

    def update_client(self, client: RegisteredClient, client_metadata: dict[str, Any],
                      oauth_request: Any) -> RegisteredClient:
        # §2.2: the request replaces the registration; omitted members are dropped.
        registration = _registration(client_metadata, client.client_id)
        if registration.client_type != client.row.client_type:
            raise InvalidClientMetadataError(_described(
                "token_endpoint_auth_method cannot change between none and a secret."))
        save_registration(registration, runtime().clock.now(), SOURCE, None)
        audit.record("client.updated", client_id=client.client_id, actor="registration")
        db.session.commit()
        return RegisteredClient(client.row)

    def delete_client(self, client: RegisteredClient, oauth_request: Any) -> None:
        from idp.protocol.tokens import revoke_family

        now = runtime().clock.now()
        for family in db.session.scalars(
            db.select(TokenFamily.id).where(TokenFamily.client_id == client.client_id,
                                            TokenFamily.revoked_at.is_(None))
        ).all():
            revoke_family(family, now, "client deleted")
        audit.record("client.deleted", client_id=client.client_id, actor="registration")
        db.session.delete(client.row)
        db.session.commit()


def _enabled() -> None:
    if not runtime().settings["registration.enabled"]:
        abort(404)


def _answer(name: str) -> Response:
    server = current_app.extensions["idp.server"]
    response: Response = server.create_endpoint_response(name)
    body = response.get_json(silent=True) or {}
    if response.status_code == 401 or body.get("error") == AccessDeniedError.error:
        # RFC 6750 §3 and RFC 7592 §2: a missing or wrong token, or one for another
        # client, is 401 with a challenge, and says nothing of whether the client exists.
        response = Response(
            '{"error": "invalid_token", "error_description": "The access token is not '
            'valid for this request."}',
            401,
            {"Content-Type": "application/json",
             "WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    db.session.rollback()
    return response


@bp.post("/register")
def register() -> Response:
    _enabled()
    return _answer(Registration.ENDPOINT_NAME)


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
def configure(client_id: str) -> Response:
    _enabled()
    return _answer(Configuration.ENDPOINT_NAME)


def init_app(app: Flask) -> None:
    server = app.extensions["idp.server"]
    server.register_endpoint(Registration(claims_classes=[ClaimsWithPolicies]))
    server.register_endpoint(Configuration(claims_classes=[ClaimsWithPolicies]))
    app.register_blueprint(bp)

