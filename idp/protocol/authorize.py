"""The authorization endpoint: validate with authlib, then sign in by session or journey.

Gatehouse's own checks run inside authlib's validation (the
``after_validate_authorization_request_payload`` hook), after the client and its
redirect_uri are known, so their errors go back to the client rather than to a page.
They are an ordered table of small named checks, each citing its rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    OAuth2Request,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oidc.core.errors import InteractionRequiredError
from flask import Response, current_app, g, render_template, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.journeys.interface import start_journey
from idp.journeys.results import Authentication
from idp.protocol import keys
from idp.protocol.authority import Authority, authority_from
from idp.protocol.sessions import current_session, start_session
from idp.runtime import runtime

RESPONSE_MODES = ("query", "fragment", "form_post")
_RESPONSE_PARAMS = {"code", "state", "error", "error_description", "error_uri", "iss"}


class RequestNotSupported(OAuth2Error):
    error = "request_not_supported"  # OIDC Core §6


class RequestUriNotSupported(OAuth2Error):
    error = "request_uri_not_supported"  # OIDC Core §6


def check_request_object(grant: Any) -> None:
    """OIDC Core §6: request objects are not supported, and say so."""
    data = grant.request.payload.data
    if data.get("request"):
        raise RequestNotSupported("Request objects are not supported.")
    if data.get("request_uri"):
        raise RequestUriNotSupported("request_uri is not supported.")


def check_policy(grant: Any) -> None:
    """The policy must exist and be one the client is registered for."""
    authority: Authority = g.authority
    if runtime().policies.get(authority.policy_id) is None:
        raise InvalidRequestError(f"The policy '{authority.policy_id}' does not exist.")
    allowed = [p.lower() for p in grant.request.client.policies]
    if allowed and authority.policy_id.lower() not in allowed:
        raise InvalidRequestError(
            f"The client is not registered for the policy '{authority.policy_id}'."
        )


def check_response_mode(grant: Any) -> None:
    """OAuth 2.0 Multiple Response Types §2.1 and Form Post Response Mode."""
    mode = grant.request.payload.data.get("response_mode")
    if mode and mode not in RESPONSE_MODES:
        raise InvalidRequestError(f"response_mode must be one of {', '.join(RESPONSE_MODES)}.")


def check_max_age(grant: Any) -> None:
    """OIDC Core §3.1.2.1: max_age is a non-negative number of seconds."""
    max_age = grant.request.payload.data.get("max_age")
    if max_age is not None and not str(max_age).isdigit():
        raise InvalidRequestError("max_age must be a whole number of seconds.")


def check_admin_scopes(grant: Any) -> None:
    """The admin API's scopes are for machines (client_credentials) only: a person's
    sign-in never yields a token that manages Gatehouse (RFC 6749 §3.3, invalid_scope)."""
    from authlib.oauth2.rfc6749 import InvalidScopeError

    from idp.store.clients import ADMIN_SCOPES

    requested = (grant.request.payload.data.get("scope") or "").split()
    if any(scope in ADMIN_SCOPES for scope in requested):
        raise InvalidScopeError("Admin scopes are given only by the client_credentials grant.")


AUTHORIZATION_CHECKS: list[Callable[[Any], None]] = [
    check_request_object,
    check_admin_scopes,
    check_policy,
    check_response_mode,
    check_max_age,
]


class GatehouseAuthorizationChecks:
    """authlib grant extension running AUTHORIZATION_CHECKS in order."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.run)

    def run(self, grant: Any, redirect_uri: str) -> None:
        for check in AUTHORIZATION_CHECKS:
            check(grant)


def _hinted_subject(id_token_hint: str) -> str | None:
    """The sub of an ID token we issued (expired ones too, OIDC Core §3.1.2.1)."""
    try:
        key_set = KeySet.import_key_set(keys.jwks(runtime().clock.now()))
        token = jwt.decode(id_token_hint, key_set)
    except (JoseError, ValueError):
        return None
    sub = token.claims.get("sub")
    return sub if isinstance(sub, str) else None


def usable_session(data: Any) -> tuple[Any, Any] | None:
    """The browser's session, if this request lets it stand in for signing in again."""
    current = current_session()
    if current is None:
        return None
    session_row, user = current
    prompts = (data.get("prompt") or "").split()
    if "login" in prompts:
        return None
    max_age = data.get("max_age")
    if max_age is not None and str(max_age).isdigit():
        deadline = session_row.auth_time + timedelta(seconds=int(max_age))
        if runtime().clock.now() > deadline:
            return None
    hint = data.get("id_token_hint")
    if hint and _hinted_subject(hint) != user.object_id:
        return None
    return session_row, user


def to_client(response: Response, mode: str | None, issuer: str) -> Response:
    """Deliver an authorization response: add ``iss`` (RFC 9207 §2) and apply response_mode.

    Both successes and errors pass through here, including errors raised before a grant
    exists, which is why ``iss`` is added here and not in authlib's IssuerParameter hook.
    """
    location = response.headers.get("Location")
    if response.status_code != 302 or not location:
        return response
    parts = urlsplit(location)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    params = [(k, v) for k, v in pairs if k in _RESPONSE_PARAMS and k != "iss"]
    params.append(("iss", issuer))
    base_query = urlencode([(k, v) for k, v in pairs if k not in _RESPONSE_PARAMS])
    base = parts._replace(query=base_query, fragment="").geturl()
    if mode == "form_post":
        page = render_template("form_post.html", action=base, params=params)
        return Response(page, 200, {"Cache-Control": "no-store"})
    if mode == "fragment":
        target = f"{base}#{urlencode(params)}"
    else:
        query = "&".join(q for q in (base_query, urlencode(params)) if q)
        target = parts._replace(query=query, fragment="").geturl()
    return Response("", 302, {"Location": target, "Cache-Control": "no-store"})


def error_page(error: OAuth2Error) -> Response:
    """RFC 6749 §4.1.2.1: without a trusted redirect_uri, tell the person, not the client."""
    page = render_template(
        "error.html", error=error.error, description=error.get_error_description()
    )
    return Response(page, 400)


#: RFC 6749 Appendix A.3: response-type = response-name *( SP response-name ), of
#: VSCHAR-like characters. Checked before authlib, whose errors quote the value back.
_RESPONSE_TYPE = re.compile(r"^[\x20-\x7e]*$")


def authorize(authority: Authority) -> Response:
    server = current_app.extensions["idp.server"]
    data = request.values
    if not _RESPONSE_TYPE.match(data.get("response_type", "")):
        return error_page(UnsupportedResponseTypeError("The response_type is not supported."))
    current = usable_session(data)
    end_user = current[1] if current else None
    try:
        grant = server.get_consent_grant(end_user=end_user)
    except OAuth2Error as error:
        if error.redirect_uri:
            response = server.handle_error_response(None, error)
            return to_client(response, data.get("response_mode"), authority.issuer)
        return error_page(error)
    policy = runtime().policies.get(authority.policy_id)
    hints: dict[str, Any] = {"login_hint": data.get("login_hint")}
    if current is not None and policy is not None and policy.single_sign_on:
        # The journey runs with the person known: steps with nothing to ask (sign-in,
        # MFA already passed, consent already given) pass, and if none asks anything
        # the code goes straight back (single sign-on).
        hints["signed_in"] = _session_authentication(current)
    interactive = data.get("prompt") != "none"
    response = start_journey(authority.policy_id, _saved_request(authority), hints, interactive)
    if response is None:
        # OIDC Core §3.1.2.6: prompt=none, and the policy has something to ask.
        error = InteractionRequiredError()
        error.redirect_uri = grant.redirect_uri
        error.state = data.get("state")
        return to_client(
            server.handle_error_response(None, error), data.get("response_mode"), authority.issuer
        )
    return response


def _session_authentication(current: tuple[Any, Any]) -> Authentication:
    session_row, user = current
    return Authentication(
        user_object_id=user.object_id,
        route=session_row.route,
        amr=list(session_row.amr or []),
        auth_time=int(session_row.auth_time.timestamp()),
        session_sid=session_row.sid,
    )


def _saved_request(authority: Authority) -> dict[str, Any]:
    return {
        "params": {k: request.values.get(k) for k in request.values},
        "uri": request.url,
        "per_policy": authority.per_policy,
        "policy_id": authority.policy_id,
    }


class SavedAuthorizationRequest(OAuth2Request):
    """The authorization request as it was when the journey began."""

    def __init__(self, saved: dict[str, Any]) -> None:
        super().__init__("GET", saved["uri"])
        self.payload = BasicOAuth2Payload(saved["params"])
        self._args = saved["params"]

    @property
    def args(self) -> dict[str, Any]:
        return self._args

    @property
    def form(self) -> dict[str, Any]:
        return {}


def issue_code(grant: Any, user: Any, sid: str, authentication: Authentication) -> Response:
    """Answer the grant's request with a code for this authentication (save_authorization_code
    reads it, and the issuer from ``g.authority``)."""
    server = current_app.extensions["idp.server"]
    grant.request.authentication = authentication
    grant.request.sid = sid
    response = server.create_authorization_response(
        request=grant.request, grant_user=user, grant=grant
    )
    mode = grant.request.payload.data.get("response_mode")
    return to_client(response, mode, g.authority.issuer)


LAST_ROUTE_COOKIE = "gatehouse_last_route"


def finish_authorization(saved: dict[str, Any], authentication: Any) -> Response:
    """The journey is done: start the browser session and answer the saved request."""
    server = current_app.extensions["idp.server"]
    g.authority = authority_from(runtime().settings, saved["policy_id"], saved["per_policy"])
    session_row, user = start_session(authentication, runtime().policies.get(saved["policy_id"]))
    oauth_request = SavedAuthorizationRequest(saved)
    try:
        grant = server.get_authorization_grant(oauth_request)
    except OAuth2Error as error:  # pragma: no cover - validated when the journey began
        return error_page(error)
    response = issue_code(grant, user, session_row.sid, authentication)
    if authentication.sign_in_route and not authentication.session_sid:
        # The way this browser signed in, so the sign-in page can mark it "Last used" next
        # time (issue 5): the route only, never who.
        response.set_cookie(
            LAST_ROUTE_COOKIE,
            authentication.sign_in_route,
            max_age=400 * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response
