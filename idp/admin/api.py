"""The admin API: JSON under /admin/api, described by /admin/api/openapi.json.

Who may call it (roles.py): a client_credentials access token whose scope includes
``gatehouse.admin`` or ``gatehouse.support``, or an admin signed in to the admin pages
(then a change needs the ``X-CSRFToken`` header, as a form would need its token). Bodies
and queries are checked against the same schemas the document publishes; every answer
that is not a success is ``{"error", "message", "field"}``.

    curl -H "Authorization: Bearer $TOKEN" \\
        'https://login.example.gov.uk/admin/api/users?q=07759140004'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from werkzeug.exceptions import HTTPException

from idp.admin import openapi, operations
from idp.admin.operations import AdminError
from idp.admin.roles import Actor, role_for_scopes
from idp.extensions import csrf, db
from idp.runtime import runtime

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
csrf.exempt(bp)  # a bearer token is not a browser form; sessions are checked in _actor
PREFIX = "/admin/api"
_SAFE = ("GET", "HEAD", "OPTIONS")


class Unauthorized(AdminError):
    status = 401
    code = "invalid_token"


class NoCredentials(Unauthorized):
    code = "authentication_required"  # RFC 6750 §3.1: no error code when none were sent


class InsufficientScope(AdminError):
    status = 403
    code = "insufficient_scope"


class UnsupportedMediaType(AdminError):
    status = 415
    code = "unsupported_media_type"


def _error_response(error: AdminError) -> Response:
    response = jsonify({"error": error.code, "message": error.message, "field": error.field})
    response.status_code = error.status
    if error.status == 401:
        # RFC 6750 §3: say how to authenticate, and why the token failed when one came.
        challenge = 'Bearer realm="gatehouse-admin"'
        if request.headers.get("Authorization"):
            challenge += f', error="invalid_token", error_description="{error.message}"'
        response.headers["WWW-Authenticate"] = challenge
    elif isinstance(error, InsufficientScope):
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="gatehouse-admin", error="insufficient_scope", '
            'scope="gatehouse.admin gatehouse.support"'
        )
    return response


# -- who is calling --------------------------------------------------------------------


def _token_actor(value: str) -> Actor:
    from idp.protocol.tokens import IssuedToken, find_token
    from idp.store.clients import get_client

    row = find_token(value, "access")
    now = runtime().clock.now()
    if row is None:
        raise Unauthorized("The access token is not one Gatehouse issued.")
    issued = IssuedToken(row, now)
    if issued.is_expired() or issued.is_revoked():
        raise Unauthorized("The access token has expired or been revoked.")
    family = row.family
    client = get_client(family.client_id)
    if client is None or not client.enabled:
        raise Unauthorized("The client this token was issued to is not enabled.")
    role = role_for_scopes((row.scope or "").split())
    # Admin scopes belong to machines (client_credentials); a person's token never
    # carries their admin role here: people use the pages, with MFA.
    if role is None or family.grant_type != "client_credentials":
        raise InsufficientScope(
            "The token needs the scope gatehouse.admin or gatehouse.support, from the "
            "client_credentials grant."
        )
    return Actor(
        name=f"client:{family.client_id}",
        role=role,
        ip=request.remote_addr,
        client_id=family.client_id,
    )


def _actor() -> Actor:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Send the access token as: Authorization: Bearer <token>.")
        return _token_actor(value.strip())
    from idp.admin.signin import current_admin

    admin = current_admin()
    if admin is None:
        raise NoCredentials(
            "Authenticate with a bearer access token that has an admin scope, or sign in "
            "to the admin pages."
        )
    if request.method not in _SAFE:
        from flask_wtf.csrf import CSRFError

        try:
            csrf.protect()
        except CSRFError as error:
            raise AdminError(
                "A change made with an admin's session needs the X-CSRFToken header.",
                "X-CSRFToken",
            ) from error
    return admin


# -- checking input against the published schemas --------------------------------------

_FRIENDLY = {
    "pattern": {
        "redirect_uris": "must be https URIs (http only for localhost or 127.0.0.1), with "
        "no fragment",
        "post_logout_redirect_uris": "must be https URIs (http only for localhost or "
        "127.0.0.1), with no fragment",
        "backchannel_logout_uri": "must be an https URI with no fragment",
        "frontchannel_logout_uri": "must be an https URI with no fragment",
        "client_id": "must be 1 to 100 letters, digits, '.', '_', '~' or '-'",
        "object_id": "must be an object id (a UUID in lower case)",
        "name": "must not be blank",
        "q": "must not be blank",
        "email": "must be an email address, like name@example.com",
    }
}


def _field_of(error: ValidationError) -> str | None:
    path = [str(p) for p in error.absolute_path if not isinstance(p, int)]
    if error.validator == "required":
        missing = str(error.message).split("'")
        return missing[1] if len(missing) > 2 else (path[-1] if path else None)
    if error.validator == "additionalProperties":
        extra = str(error.message).split("'")
        return extra[1] if len(extra) > 2 else None
    return path[-1] if path else None


def _invalid(error: ValidationError) -> AdminError:
    field = _field_of(error)
    friendly = _FRIENDLY.get(str(error.validator), {}).get(field or "")
    if error.validator == "required":
        message = f"{field} is required."
    elif error.validator == "additionalProperties":
        message = f"{field} is not a field here."
    elif friendly:
        message = f"{field} {friendly}."
    elif field:
        message = f"{field}: {error.message}."
    else:
        message = f"The body is not valid: {error.message}."
    return AdminError(message, field)


def _check(schema: dict[str, Any], value: Any) -> None:
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        raise _invalid(error)


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    if not request.get_data():
        if required:
            raise AdminError("Send a JSON object as the body.")
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("The body must be JSON, sent as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AdminError("The body must be a JSON object.")
    _check(schema, data)
    return data


def _query(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """The query parameters, typed and checked against their schemas."""
    known = {p["name"]: p for p in parameters}
    values: dict[str, Any] = {}
    for name in request.args:
        if name not in known:
            continue  # unknown query parameters are ignored, as HTTP APIs do
        raw = request.args.get(name, "")
        schema = known[name]["schema"]
        value: Any = raw
        if schema.get("type") == "integer":
            try:
                value = int(raw)
            except ValueError:
                raise AdminError(f"{name} must be a whole number.", name) from None
        _check({"type": "object", "properties": {name: schema}}, {name: value})
        if schema.get("format") == "date-time":
            value = _datetime(name, raw)
        values[name] = value
    for name, parameter in known.items():
        if parameter.get("required") and name not in values:
            raise AdminError(f"{name} is required.", name)
    return values


def _datetime(name: str, raw: str) -> datetime:
    """An RFC 3339 date-time (OpenAPI's date-time format)."""
    text = raw.strip().upper()
    if len(text) >= 19 and text[17:19] == "60":
        text = text[:17] + "59" + text[19:]  # a leap second reads as the second before
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise AdminError(
            f"{name} must be a date and time like 2026-11-23T09:00:00Z.", name
        ) from None
    if value.tzinfo is None:
        raise AdminError(f"{name} needs a time zone, like 2026-11-23T09:00:00Z.", name)
    return value.astimezone(UTC)


def _policies() -> list[str]:
    return sorted(policy.id for policy in runtime().policies)


# -- routes ----------------------------------------------------------------------------

View = Callable[..., Any]


def endpoint(rule: str, methods: list[str], status: int = 200) -> Callable[[View], View]:
    """An API route: works out who is calling, runs the view with them, answers JSON."""

    def decorate(view: View) -> View:
        @wraps(view)
        def run(**kwargs: Any) -> Response:
            try:
                actor = _actor()
                _check_path(kwargs)
                result = view(actor, **kwargs)
            except AdminError as error:
                db.session.rollback()
                return _error_response(error)
            if result is None:
                return Response(status=204)
            response = jsonify(result)
            response.status_code = status
            return response

        bp.add_url_rule(rule, view.__name__, run, methods=methods)
        return run

    return decorate


def _check_path(kwargs: dict[str, Any]) -> None:
    patterns = {"object_id": openapi.OBJECT_ID_PATTERN, "client_id": openapi.CLIENT_ID_PATTERN}
    for name, value in kwargs.items():
        _check({"type": "object", "properties": {name: {"type": "string",
                "pattern": patterns[name]}}}, {name: value})


@endpoint("/users", ["GET"])
def find_users(actor: Actor) -> Any:
    query = _query(openapi.SEARCH_QUERY)
    return operations.find_people(actor, query["q"])


@endpoint("/users/<object_id>", ["GET"])
def get_user(actor: Actor, object_id: str) -> Any:
    return operations.person_detail(actor, object_id)


@endpoint("/users/<object_id>", ["DELETE"])
def delete_user(actor: Actor, object_id: str) -> Any:
    return operations.delete_person(actor, object_id)


@endpoint("/users/<object_id>/disable", ["POST"])
def disable_user(actor: Actor, object_id: str) -> Any:
    return operations.disable_person(actor, object_id)


@endpoint("/users/<object_id>/enable", ["POST"])
def enable_user(actor: Actor, object_id: str) -> Any:
    return operations.enable_person(actor, object_id)


@endpoint("/users/<object_id>/reset-mfa", ["POST"])
def reset_user_mfa(actor: Actor, object_id: str) -> Any:
    return operations.reset_mfa(actor, object_id)


@endpoint("/users/<object_id>/unlock", ["POST"])
def unlock_user(actor: Actor, object_id: str) -> Any:
    return operations.unlock_person(actor, object_id)


@endpoint("/pending-signups/resend", ["POST"])
def resend_activation(actor: Actor) -> Any:
    operations.require(actor, "users")
    data = _body(openapi.RESEND)
    return operations.resend_activation(actor, data["email"])


@endpoint("/clients", ["GET"])
def list_clients(actor: Actor) -> Any:
    return operations.list_registered_clients(actor)


@endpoint("/clients", ["POST"], status=201)
def register_client(actor: Actor) -> Any:
    operations.require(actor, "clients")
    data = _body({"type": "object"})
    kind = data.get("type")
    schemas = openapi.client_registration_schema(_policies())["oneOf"]
    if kind not in ("public", "confidential"):
        raise AdminError("type must be public or confidential.", "type")
    _check(schemas[0] if kind == "public" else schemas[1], data)
    return operations.register_client(actor, data)


@endpoint("/clients/<client_id>", ["GET"])
def get_client(actor: Actor, client_id: str) -> Any:
    return operations.show_client(actor, client_id)


@endpoint("/clients/<client_id>", ["PATCH"])
def update_client(actor: Actor, client_id: str) -> Any:
    operations.require(actor, "clients")
    changes = _body(openapi.client_update_schema(_policies()))
    return operations.update_client(actor, client_id, changes)


@endpoint("/clients/<client_id>", ["DELETE"], status=204)
def delete_client(actor: Actor, client_id: str) -> Any:
    operations.delete_client(actor, client_id)
    return None


@endpoint("/clients/<client_id>/rotate-secret", ["POST"])
def rotate_client_secret(actor: Actor, client_id: str) -> Any:
    operations.require(actor, "clients")
    data = _body(openapi.ROTATE_SECRET, required=False)
    overlap = data.get("overlap_seconds")
    return operations.rotate_client_secret(
        actor, client_id, int(overlap) if overlap is not None else None
    )


@endpoint("/clients/<client_id>/disable", ["POST"])
def disable_client(actor: Actor, client_id: str) -> Any:
    return operations.set_client_enabled(actor, client_id, False)


@endpoint("/clients/<client_id>/enable", ["POST"])
def enable_client(actor: Actor, client_id: str) -> Any:
    return operations.set_client_enabled(actor, client_id, True)


@endpoint("/audit", ["GET"])
def read_audit(actor: Actor) -> Any:
    operations.require(actor, "audit")
    query = _query(openapi.AUDIT_QUERY)
    return operations.read_audit(
        actor,
        user=query.get("user"),
        client_id=query.get("client_id"),
        event_type=query.get("type"),
        since=query.get("since"),
        until=query.get("until"),
        before=query.get("before"),
        limit=query.get("limit", 50),
    )


@endpoint("/keys", ["GET"])
def list_keys(actor: Actor) -> Any:
    return operations.list_keys(actor)


@endpoint("/keys/rotate", ["POST"], status=201)
def rotate_keys(actor: Actor) -> Any:
    operations.require(actor, "keys")
    data = _body(openapi.ROTATE_KEYS, required=False)
    return operations.rotate_keys(actor, data.get("algorithm"), bool(data.get("immediately")))


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The document is public, as the discovery document is: it names no secrets."""
    base = runtime().settings["server.base_url"]
    return jsonify(openapi.document(_policies(), f"{base}{PREFIX}"))


def _http_error(error: HTTPException) -> Response | HTTPException:
    """Unknown paths and methods under /admin/api answer JSON, like the rest of it."""
    if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
        return error
    codes = {404: "not_found", 405: "method_not_allowed"}
    response = jsonify({
        "error": codes.get(error.code or 0, "invalid_request"),
        "message": error.description or error.name,
        "field": None,
    })
    response.status_code = error.code or 400
    if error.code == 405:
        response.headers["Allow"] = ", ".join(error.valid_methods or [])  # type: ignore[attr-defined]
    return response


def init_app(app: Flask) -> None:
    from idp.store.clients import ADMIN_SCOPES

    app.register_blueprint(bp)
    # The token endpoint may grant this API's scopes (to client_credentials only:
    # protocol/authorize.py refuses them at /authorize); discovery does not list them.
    server = app.extensions["idp.server"]
    server.scopes_supported = [*server.scopes_supported, *ADMIN_SCOPES]
    app.register_error_handler(404, _http_error)
    app.register_error_handler(405, _http_error)
