"""The admin API's OpenAPI 3.1 document, built from the deployment's own policies.

The request schemas here are also what the API checks bodies and queries against
(api.py), so the document cannot promise less or more than the server accepts: what
the schema allows is accepted unless a rule it cannot express (a policy that does not
exist, a client_id already taken) says otherwise, with a 404 or 409.
"""

from __future__ import annotations

from typing import Any

from idp.store.clients import ADMIN_SCOPES, SCOPES

#: A redirect URI Gatehouse registers: https anywhere, http only on a loopback address,
#: or a native app's private-use scheme (RFC 8252 §7.1); never a fragment (RFC 6749
#: §3.1.2).
_HOST = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
_REST = r"(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?"
URI_PATTERN = (
    rf"^(https://{_HOST}|http://(localhost|127\.0\.0\.1))"
    rf"{_REST}$|^[a-z][a-z0-9+-]*(\.[a-z][a-z0-9+-]*)+:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*$"
)
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._~-]{1,100}$"
OBJECT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
MAX_LIFETIME = 366 * 86400


def _uris(description: str, min_items: int = 0) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": {"type": "string", "pattern": URI_PATTERN, "maxLength": 2000},
        "minItems": min_items,
        "maxItems": 20,
        "uniqueItems": True,
    }


def _optional_uri(description: str) -> dict[str, Any]:
    return {
        "type": ["string", "null"],
        "pattern": URI_PATTERN,
        "maxLength": 2000,
        "description": description,
    }


def _client_fields(policies: list[str]) -> dict[str, Any]:
    return {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": r"\S",
            "description": "The portal's name, as people and admins see it.",
        },
        "redirect_uris": _uris("Where codes may be sent; matched exactly.", 1),
        "post_logout_redirect_uris": _uris("Where a sign-out may return to."),
        "policies": {
            "type": "array",
            "items": {"type": "string", "enum": policies or ["(none)"]},
            "uniqueItems": True,
            "description": "The policies (user journeys) this portal may start.",
        },
        "backchannel_logout_uri": _optional_uri("OIDC Back-Channel Logout 1.0 endpoint."),
        "frontchannel_logout_uri": _optional_uri("OIDC Front-Channel Logout 1.0 endpoint."),
    }


def _lifetimes() -> dict[str, Any]:
    seconds = {"type": "integer", "minimum": 1, "maximum": MAX_LIFETIME}
    return {
        "type": "object",
        "description": "Seconds; each overrides the deployment's default for this client.",
        "properties": {"access_token": seconds, "id_token": seconds, "refresh_token": seconds},
        "additionalProperties": False,
    }


def client_registration_schema(policies: list[str]) -> dict[str, Any]:
    """A new client: public (PKCE, no secret) or confidential (a secret Gatehouse makes).
    Keys-based clients (private_key_jwt) are registered by a file in clients/."""
    common = {
        "client_id": {
            "type": "string",
            "pattern": CLIENT_ID_PATTERN,
            "description": "Chosen by the caller; a UUID is made when it is left out.",
        },
        **_client_fields(policies),
        "lifetimes": _lifetimes(),
    }
    user_scopes = {"type": "string", "enum": list(SCOPES)}
    return {
        "oneOf": [
            {
                "title": "PublicClient",
                "type": "object",
                "required": ["name", "type", "redirect_uris"],
                "properties": {
                    **common,
                    "type": {"const": "public"},
                    "token_endpoint_auth_method": {"const": "none"},
                    "scopes": {"type": "array", "items": user_scopes, "uniqueItems": True},
                    "grant_types": {
                        "type": "array",
                        "items": {"enum": ["authorization_code", "refresh_token"]},
                        "uniqueItems": True,
                    },
                },
                "additionalProperties": False,
            },
            {
                "title": "ConfidentialClient",
                "type": "object",
                "required": ["name", "type", "redirect_uris"],
                "properties": {
                    **common,
                    "type": {"const": "confidential"},
                    "token_endpoint_auth_method": {
                        "enum": ["client_secret_basic", "client_secret_post"]
                    },
                    "scopes": {
                        "type": "array",
                        "items": {"enum": [*SCOPES, *ADMIN_SCOPES]},
                        "uniqueItems": True,
                        "description": "gatehouse.admin or gatehouse.support let a "
                        "client_credentials token use this API.",
                    },
                    "grant_types": {
                        "type": "array",
                        "items": {
                            "enum": ["authorization_code", "refresh_token", "client_credentials"]
                        },
                        "uniqueItems": True,
                    },
                },
                "additionalProperties": False,
            },
        ]
    }


def client_update_schema(policies: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": _client_fields(policies),
        "additionalProperties": False,
        "description": "Only the fields given change.",
    }


ROTATE_SECRET = {
    "type": "object",
    "properties": {
        "overlap_seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 30 * 86400,
            "description": "How long the old secret keeps working; admin.secret_overlap "
            "when left out.",
        }
    },
    "additionalProperties": False,
}
ROTATE_KEYS = {
    "type": "object",
    "properties": {
        "algorithm": {"enum": ["RS256", "ES256"]},
        "immediately": {
            "type": "boolean",
            "description": "Sign with the new key at once (a compromised key) instead of "
            "after keys.publish_ahead_seconds.",
        },
    },
    "additionalProperties": False,
}
RESEND = {
    "type": "object",
    "required": ["email"],
    "properties": {
        "email": {
            "type": "string",
            "minLength": 3,
            "maxLength": 320,
            "pattern": r"^[^@\s]+@[^@\s]+$",
            "description": "The address the person signed up with.",
        }
    },
    "additionalProperties": False,
}

_TIME = {"type": "string", "format": "date-time"}
_ISO = {"type": ["string", "null"], "format": "date-time"}
_STRINGS = {"type": "array", "items": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A code: invalid_request, "
                      "invalid_token, insufficient_scope, forbidden, not_found, conflict, "
                      "method_not_allowed, unsupported_media_type."},
            "message": {"type": "string", "description": "What went wrong and what to do."},
            "field": {"type": ["string", "null"], "description": "The field at fault."},
        },
    },
    "PersonSummary": {
        "type": "object",
        "required": ["object_id", "signs_in_with", "enabled"],
        "properties": {
            "object_id": {"type": "string"},
            "email": {"type": ["string", "null"]},
            "name": {"type": ["string", "null"]},
            "phone_number": {"type": ["string", "null"]},
            "signs_in_with": {
                **_STRINGS,
                "description": "Routes into the account: local (email and password) or "
                "a provider (google, microsoft, facebook, oidc).",
            },
            "enabled": {"type": "boolean"},
            "created_at": _ISO,
        },
    },
    "PendingSignup": {
        "type": "object",
        "required": ["email", "emails_sent", "link_expired"],
        "properties": {
            "email": {"type": "string"},
            "started_at": _ISO,
            "emails_sent": {"type": "integer"},
            "link_expires_at": _ISO,
            "link_expired": {"type": "boolean"},
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["users", "pending_signups"],
        "properties": {
            "users": {"type": "array", "items": {"$ref": "#/components/schemas/PersonSummary"}},
            "pending_signups": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/PendingSignup"},
            },
        },
    },
    "Person": {
        "allOf": [
            {"$ref": "#/components/schemas/PersonSummary"},
            {
                "type": "object",
                "required": ["identities", "mfa_methods", "consents", "last_sign_ins"],
                "properties": {
                    "email_verified": {"type": "boolean"},
                    "given_name": {"type": ["string", "null"]},
                    "family_name": {"type": ["string", "null"]},
                    "updated_at": _ISO,
                    "identities": {"type": "array", "items": {"type": "object"}},
                    "has_password": {"type": "boolean"},
                    "password_awaited_from_b2c": {"type": "boolean"},
                    "mfa_methods": {"type": "array", "items": {"type": "object"}},
                    "recovery_codes_left": {"type": "integer"},
                    "locked_until": _ISO,
                    "password_locked_until": _ISO,
                    "consents": {"type": "array", "items": {"type": "object"}},
                    "last_sign_ins": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    },
    "Client": {
        "type": "object",
        "required": ["client_id", "name", "type", "source", "enabled", "redirect_uris"],
        "properties": {
            "client_id": {"type": "string"},
            "name": {"type": "string"},
            "type": {"enum": ["public", "confidential"]},
            "source": {
                "type": "string",
                "description": "file (clients/), api, cli, dynamic (RFC 7591) or internal.",
            },
            "enabled": {"type": "boolean"},
            "has_secret": {"type": "boolean"},
            "previous_secret_valid_until": _ISO,
            "token_endpoint_auth_method": {"type": ["string", "null"]},
            "redirect_uris": _STRINGS,
            "post_logout_redirect_uris": _STRINGS,
            "policies": _STRINGS,
            "scopes": _STRINGS,
            "grant_types": _STRINGS,
            "lifetimes": {"type": "object"},
            "backchannel_logout_uri": {"type": ["string", "null"]},
            "frontchannel_logout_uri": {"type": ["string", "null"]},
            "created_at": _ISO,
            "updated_at": _ISO,
        },
    },
    "ClientWithSecret": {
        "allOf": [
            {"$ref": "#/components/schemas/Client"},
            {
                "type": "object",
                "properties": {
                    "client_secret": {
                        "type": ["string", "null"],
                        "description": "Shown this once; Gatehouse keeps only a digest.",
                    }
                },
            },
        ]
    },
    "Key": {
        "type": "object",
        "required": ["kid", "algorithm", "state"],
        "properties": {
            "kid": {"type": "string"},
            "algorithm": {"type": "string"},
            "state": {"enum": ["signing", "next", "retired", "withdrawn"]},
            "created_at": _ISO,
            "signs_from": _ISO,
            "retired_at": _ISO,
            "published_until": _ISO,
        },
    },
    "AuditEvent": {
        "type": "object",
        "required": ["id", "occurred_at", "type"],
        "properties": {
            "id": {"type": "integer"},
            "occurred_at": _TIME,
            "type": {"type": "string"},
            "user_object_id": {"type": ["string", "null"]},
            "client_id": {"type": ["string", "null"]},
            "actor": {"type": ["string", "null"]},
            "ip_address": {"type": ["string", "null"]},
            "details": {"type": "object"},
        },
    },
    "AuditPage": {
        "type": "object",
        "required": ["events", "next_before"],
        "properties": {
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}},
            "next_before": {
                "type": ["integer", "null"],
                "description": "Pass as before= for older events; null when there are none.",
            },
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(schema: dict[str, Any], description: str = "Done.") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


#: Answers every operation may give.
_COMMON = {
    "401": _error("No credentials, or an access token that is not valid."),
    "403": _error("The token's scope or the person's role does not allow this."),
}
_BAD = {"400": _error("The request is not valid; field names the part at fault.")}
_MISSING = {"404": _error("Nothing has that identifier.")}
_CONFLICT = {"409": _error("Not possible in the thing's present state.")}


def _op(
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    op_id: str,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "responses": {**responses, **_COMMON},
    }
    if body is not None:
        operation["requestBody"] = body
        operation["responses"].update(_BAD)
        operation["responses"]["415"] = _error("The body must be JSON (application/json).")
    if parameters:
        operation["parameters"] = parameters
        operation["responses"].update(_BAD)
    return operation


def _path_param(name: str, pattern: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": pattern},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


AUDIT_QUERY: list[dict[str, Any]] = [
    _query("user", {"type": "string", "minLength": 1, "maxLength": 320},
           "The person's object id or email."),
    _query("client_id", {"type": "string", "minLength": 1, "maxLength": 100},
           "Events about this client."),
    _query("type", {"type": "string", "minLength": 1, "maxLength": 60},
           "An event type, or a prefix ending in '.' (user. for every change to people)."),
    _query("since", {"type": "string", "format": "date-time"}, "From this time (inclusive)."),
    _query("until", {"type": "string", "format": "date-time"}, "Before this time."),
    _query("before", {"type": "integer", "minimum": 1, "maximum": 2**62},
           "Events older than this event id (paging)."),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
           "How many events, newest first."),
]
SEARCH_QUERY = [
    {
        "name": "q",
        "in": "query",
        "required": True,
        "description": "Email, phone number, name or object id.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 320, "pattern": r"\S"},
    }
]


def document(policies: list[str], server_url: str) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    person = _path_param("object_id", OBJECT_ID_PATTERN, "The person's object id (sub/oid).")
    client = _path_param("client_id", CLIENT_ID_PATTERN, "The client's client_id.")
    paths: dict[str, dict[str, Any]] = {
        "/users": {
            "get": _op(
                "Find people; shows which way each signs in", "users",
                {"200": _ok(_ref("SearchResults"))}, parameters=SEARCH_QUERY, op_id="findUsers",
            )
        },
        "/users/{object_id}": {
            "parameters": [person],
            "get": _op("One person", "users", {"200": _ok(_ref("Person")), **_MISSING},
                       op_id="getUser"),
            "delete": _op(
                "Delete an account (the audit log keeps its record)", "users",
                {"200": _ok(_ref("PersonSummary")), **_MISSING}, op_id="deleteUser",
            ),
        },
        **{
            f"/users/{{object_id}}/{action}": {
                "parameters": [person],
                "post": _op(summary, "users", {"200": _ok(_ref(answer)), **_MISSING},
                            op_id=op_id),
            }
            for action, summary, answer, op_id in (
                ("disable", "Stop the person signing in; end sessions, revoke tokens",
                 "PersonSummary", "disableUser"),
                ("enable", "Let a disabled person sign in again", "PersonSummary",
                 "enableUser"),
                ("reset-mfa", "Forget second factors; enrol again at next sign-in", "Person",
                 "resetUserMfa"),
                ("unlock", "Lift timed blocks on the account", "Person", "unlockUser"),
            )
        },
        "/pending-signups/resend": {
            "post": _op(
                "Resend the activation email of a sign-up waiting for it", "users",
                {"200": _ok(_ref("PendingSignup")), **_MISSING, **_CONFLICT},
                body=_body(RESEND), op_id="resendActivation",
            )
        },
        "/clients": {
            "get": _op("Registered clients", "clients",
                       {"200": _ok({"type": "array", "items": _ref("Client")})},
                       op_id="listClients"),
            "post": _op(
                "Register a client; a confidential client's secret is in the answer once",
                "clients",
                {"201": _ok(_ref("ClientWithSecret"), "Registered."), **_MISSING, **_CONFLICT},
                body=_body(client_registration_schema(policies)), op_id="registerClient",
            ),
        },
        "/clients/{client_id}": {
            "parameters": [client],
            "get": _op("One client", "clients", {"200": _ok(_ref("Client")), **_MISSING},
                       op_id="getClient"),
            "patch": _op(
                "Change a client's name, redirect URIs or allowed policies", "clients",
                {"200": _ok(_ref("Client")), **_MISSING, **_CONFLICT},
                body=_body(client_update_schema(policies)), op_id="updateClient",
            ),
            "delete": _op("Delete a client and revoke its tokens", "clients",
                          {"204": {"description": "Deleted."}, **_MISSING, **_CONFLICT},
                          op_id="deleteClient"),
        },
        "/clients/{client_id}/rotate-secret": {
            "parameters": [client],
            "post": _op(
                "A new secret (in the answer once); the old one works for the overlap",
                "clients", {"200": _ok(_ref("ClientWithSecret")), **_MISSING, **_CONFLICT},
                body=_body(ROTATE_SECRET, required=False), op_id="rotateClientSecret",
            ),
        },
        **{
            f"/clients/{{client_id}}/{action}": {
                "parameters": [client],
                "post": _op(summary, "clients",
                            {"200": _ok(_ref("Client")), **_MISSING, **_CONFLICT},
                            op_id=op_id),
            }
            for action, summary, op_id in (
                ("disable", "Stop a client; its tokens are revoked", "disableClient"),
                ("enable", "Let a disabled client work again", "enableClient"),
            )
        },
        "/audit": {
            "get": _op("The audit log, newest first", "audit",
                       {"200": _ok(_ref("AuditPage"))}, parameters=AUDIT_QUERY,
                       op_id="readAudit"),
        },
        "/keys": {
            "get": _op("Signing keys and their state", "keys",
                       {"200": _ok({"type": "array", "items": _ref("Key")})}, op_id="listKeys"),
        },
        "/keys/rotate": {
            "post": _op(
                "Add a signing key: published now, signing after keys.publish_ahead_seconds",
                "keys", {"201": _ok(_ref("Key"), "Added.")},
                body=_body(ROTATE_KEYS, required=False), op_id="rotateKeys",
            ),
        },
    }
    for path, item in paths.items():
        if "{" in path:  # a malformed identifier in the path is a 400 naming it
            for name, operation in item.items():
                if name != "parameters":
                    operation["responses"].update(_BAD)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse admin API",
            "version": "1",
            "description": (
                "Look after people, client registrations, signing keys and the audit log. "
                "Authenticate with an access token from the client_credentials grant whose "
                "scope includes gatehouse.admin (everything) or gatehouse.support (people "
                "and their audit events only), or with an admin's signed-in session from "
                "the admin pages (changes then need the X-CSRFToken header). Every change "
                "is an audit event with who, what, when and from where."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access token for a client registered with the scope "
                    "gatehouse.admin or gatehouse.support (client_credentials grant).",
                }
            },
        },
    }
