"""HTTP routes for every protocol endpoint, plain and B2C-shaped.

B2C's shapes, all served: ``/{tenant}/{policy}/...``, ``/tfp/{tenant}/{policy}/...`` and
``/{tenant}/...?p={policy}``. The tenant segment is the tenant's name or GUID.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    request,
)

from idp.extensions import csrf, db
from idp.protocol import keys
from idp.protocol.authority import Authority, authority_from, tenant_matches
from idp.protocol.authorize import authorize
from idp.protocol.discovery import metadata
from idp.protocol.logout import signed_out_page
from idp.protocol.published import publish
from idp.protocol.sessions import end_browser_session
from idp.runtime import runtime

bp = Blueprint("protocol", __name__)
csrf.exempt(bp)  # OAuth endpoints authenticate clients, not browser forms

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _server() -> Any:
    return current_app.extensions["idp.server"]


def plain_authority() -> Authority:
    settings = runtime().settings
    policy_id = request.args.get("p") or settings["tenant.default_policy"]
    per_policy = bool(request.args.get("p"))
    return authority_from(settings, _canonical_policy(policy_id), per_policy=per_policy)


def _canonical_policy(policy_id: str) -> str:
    policy = runtime().policies.get(policy_id)
    return policy.id if policy else policy_id


def policy_authority(tenant: str, policy: str | None) -> Authority:
    settings = runtime().settings
    if not tenant_matches(settings, tenant):
        abort(404)
    policy_id = policy or request.args.get("p")
    if not policy_id:
        abort(404)
    known = runtime().policies.get(policy_id)
    if known is None and request.endpoint and "authorize" not in request.endpoint:
        abort(404)
    return authority_from(settings, known.id if known else policy_id, per_policy=True)


def _with_no_store(response: Response) -> Response:
    response.headers.update(NO_STORE)
    return response


# -- handlers shared by every shape ------------------------------------------------------


def _json_once(key: tuple[Any, ...], build: Callable[[], Any]) -> Response:
    """A JSON answer that changes only with the signing keys (discovery, JWKS): its body is
    kept per app under ``key`` until the key cache is next read afresh."""
    cache = keys.derived_cache()
    body = cache.get(key)
    if body is None:
        body = json.dumps(build(), separators=(",", ":")).encode()
        cache[key] = body
    return Response(body, mimetype="application/json")


def discovery(authority: Authority) -> Response:
    now = runtime().clock.now()
    publish(keys.published_until(now))
    return _json_once(("discovery", authority, tuple(keys.algorithms_in_use(now))),
                      lambda: metadata(authority))


def jwks(authority: Authority) -> Response:
    now = runtime().clock.now()
    publish(keys.published_until(now))
    published = tuple(k.kid for k in keys.published_keys(now))
    response = _json_once(("jwks", published), lambda: keys.jwks(now))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _throttled(bucket: str) -> Response | None:
    """429 with Retry-After when this address has used up the bucket (security/throttle.py)."""
    wait = current_app.extensions["idp.throttle"].hit(bucket, request.remote_addr)
    if not wait:
        return None
    body = {"error": "too_many_requests",
            "error_description": f"Too many requests from this address. Wait {wait} seconds."}
    response = jsonify(body)
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return _with_no_store(response)


#: RFC 6749 Appendix A.10: grant-name characters. Checked before authlib, whose error
#: would quote a value with control characters back and fail.
_GRANT_TYPE = re.compile(r"^[\x21-\x7e]*$")


def token(authority: Authority) -> Response:
    throttled = _throttled("token")
    if throttled is not None:
        return throttled
    if not _GRANT_TYPE.match(request.form.get("grant_type", "")):
        refusal = jsonify({"error": "unsupported_grant_type",
                           "error_description": "The grant_type is not supported."})
        refusal.status_code = 400
        return _with_no_store(refusal)
    response: Response = _server().create_token_response()
    # One commit for the answer's tokens (server.save_token leaves them to it) and for
    # what reuse detection revoked, which it does even when the answer is an error.
    db.session.commit()
    return _with_no_store(response)


def userinfo(authority: Authority) -> Response:
    server = _server()
    try:
        response: Response = server.create_endpoint_response("userinfo")
    except OAuth2Error as error:  # the resource protector raises rather than answers
        response = server.handle_error_response(None, error)
    return _with_no_store(response)


def revoke(authority: Authority) -> Response:
    return _with_no_store(_server().create_endpoint_response("revocation"))


def introspect(authority: Authority) -> Response:
    throttled = _throttled("introspect")
    if throttled is not None:
        return throttled
    return _with_no_store(_server().create_endpoint_response("introspection"))


def logout(authority: Authority) -> Response:
    server = _server()
    try:
        end_request = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        # A bad id_token_hint must not stop a person signing out (RP-Initiated Logout §2);
        # they are signed out and told, and nobody is redirected anywhere.
        end_browser_session()
        return signed_out_page(400, problem=error.description, ended_sids=g.get("ended_sids"))
    response = server.create_endpoint_response("end_session", end_request)
    if response is None:
        client = getattr(end_request, "client", None)
        return signed_out_page(200, client=client, ended_sids=g.get("ended_sids"))
    if g.get("ended_sids") and response.status_code in (302, 303):
        # Front-Channel Logout §4: the portals' iframes load first, then the person goes on
        # to the post-logout URI (a meta refresh: no script, and a link to press).
        page = signed_out_page(200, ended_sids=g.get("ended_sids"),
                               continue_to=response.headers["Location"])
        if b"<iframe" in page.get_data():
            return page
    return response


Handler = Callable[[Authority], Response]

# (name, plain path, B2C path under /{tenant}/{policy}, methods)
ROUTES: list[tuple[str, Handler, str, str, list[str]]] = [
    (
        "discovery",
        discovery,
        "/.well-known/openid-configuration",
        "/v2.0/.well-known/openid-configuration",
        ["GET"],
    ),
    ("authorize", authorize, "/authorize", "/oauth2/v2.0/authorize", ["GET", "POST"]),
    ("token", token, "/token", "/oauth2/v2.0/token", ["POST"]),
    ("logout", logout, "/logout", "/oauth2/v2.0/logout", ["GET", "POST"]),
    ("jwks", jwks, "/jwks", "/discovery/v2.0/keys", ["GET"]),
    ("userinfo", userinfo, "/userinfo", "/openid/v2.0/userinfo", ["GET", "POST"]),
    ("revoke", revoke, "/revoke", "/oauth2/v2.0/revoke", ["POST"]),
    ("introspect", introspect, "/introspect", "/oauth2/v2.0/introspect", ["POST"]),
]


def _register(name: str, handler: Handler, plain: str, shaped: str, methods: list[str]) -> None:
    def run(authority: Authority) -> Response:
        # Grants, client authentication and ID tokens read the authority from here.
        g.authority = authority
        return handler(authority)

    def plain_view() -> Response:
        return run(plain_authority())

    def policy_view(tenant: str, policy: str) -> Response:
        return run(policy_authority(tenant, policy))

    def query_view(tenant: str) -> Response:
        return run(policy_authority(tenant, None))

    bp.add_url_rule(plain, f"{name}", plain_view, methods=methods)
    bp.add_url_rule(f"/<tenant>/<policy>{shaped}", f"{name}_policy", policy_view, methods=methods)
    bp.add_url_rule(f"/tfp/<tenant>/<policy>{shaped}", f"{name}_tfp", policy_view, methods=methods)
    bp.add_url_rule(f"/<tenant>{shaped}", f"{name}_query", query_view, methods=methods)


for _route in ROUTES:
    _register(*_route)


@bp.get("/.well-known/oauth-authorization-server")
def rfc8414_metadata() -> Response:
    """RFC 8414 §3: the same document, at the OAuth well-known name."""
    return discovery(plain_authority())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
