"""Signing in to the admin pages, through Gatehouse's own front door.

The pages are an OpenID Connect client of their own server: the internal public client
``gatehouse-admin`` sends people through ``admin.policy`` (a password, then a second
factor, every time) with state, nonce and PKCE S256 as any portal must (RFC 9700 §2.1.1,
§4.7). Its callback reads the code from the database instead of calling /token on itself,
and claims it with the same single-use update the token endpoint makes, so a code is good
once, whichever of the two takes it first.

Who is signed in is re-read on every request (``current_admin``): the browser session
must still be live, the person enabled and their role still granted, so signing out,
disabling the account or ``idp admins revoke`` ends access at once::

    actor = current_admin()      # Actor("person:1b2c… (jenny@…)", "support", "10.0.0.7")
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

# What views answer: redirect() makes werkzeug's; pages are Flask's (text/html).
from werkzeug.wrappers import Response as Answer

from idp.admin.operations import role_of
from idp.admin.roles import Actor
from idp.extensions import db
from idp.runtime import runtime
from idp.security import audit
from idp.security.digests import digest
from idp.store.clients import get_client, save_registration, validate_registration
from idp.store.models import AuthorizationCode, User

bp = Blueprint("admin_signin", __name__, url_prefix="/admin")

CLIENT_ID = "gatehouse-admin"
#: The Flask session key that says who is signed in to the admin pages.
ADMIN_KEY = "admin"
#: A cookie of its own for state, nonce and verifier: start_session clears the Flask
#: session when the person signs in, between the redirect out and the callback.
PENDING_COOKIE = "gatehouse_admin_signin"
PENDING_SALT = "gatehouse.admin.signin"
PENDING_MAX_AGE = 900
#: Sign-ins begun in other tabs that may still come back (each tab's own state).
PENDING_KEEP = 3

NO_ACCESS = "Your account does not have access to Gatehouse administration"
NEEDS_MFA = "Sign in with a second factor to use Gatehouse administration"
DID_NOT_FINISH = "Sign-in did not finish"
#: What each refusal's page says under its heading.
EXPLAINED = {
    NO_ACCESS: "You signed in, but your account has not been given a role here. If you "
    "need to use Gatehouse administration, ask an admin to give you one.",
    NEEDS_MFA: "Your sign-in did not include a second factor: a code sent by text, phone "
    "call or email, or one from an authenticator app. Sign in again and use one.",
    DID_NOT_FINISH: "The sign-in was cancelled, took too long, or was finished in another "
    "browser or tab. Nothing has changed. Start again from the admin pages.",
}


# -- the internal client --------------------------------------------------------------


def _policy_id() -> str:
    """The admin policy's id as its file spells it (ids are found without regard to case)."""
    named = str(runtime().settings["admin.policy"])
    policy = runtime().policies.get(named)
    return policy.id if policy is not None else named


def _redirect_uri() -> str:
    return f"{runtime().settings['server.base_url']}/admin/callback"


def ensure_admin_client() -> None:
    """Create ``gatehouse-admin``, or put its registration right if the base URL or the
    admin policy changed since. ``enabled`` is left alone: an operator who switched the
    row off meant to close the pages."""
    wanted = validate_registration(
        {
            "client_id": CLIENT_ID,
            "name": "Gatehouse administration",
            "type": "public",
            "token_endpoint_auth_method": "none",
            "redirect_uris": [_redirect_uri()],
            "policies": [_policy_id()],
            "scopes": ["openid"],
            "grant_types": ["authorization_code"],
        },
        "internal client",
        generated_secret=True,
    )
    existing = get_client(CLIENT_ID)
    if (
        existing is not None
        and existing.source == "internal"
        and existing.name == wanted.name
        and existing.client_type == wanted.client_type
        and existing.secret_hash is None
        and existing.metadata_ == wanted.metadata
    ):
        return
    save_registration(wanted, runtime().clock.now(), "internal", None)
    try:
        db.session.commit()
    except IntegrityError:
        # Another instance made it at the same moment; theirs is the same registration.
        db.session.rollback()


# -- where to go afterwards -----------------------------------------------------------


def safe_next(value: str | None) -> str:
    """A local path under /admin, or /admin/: never somewhere else (no open redirect)."""
    default = "/admin/"
    if not value or any(c in value for c in "\\\r\n\t") or not value.isprintable():
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return default
    if parts.path != "/admin" and not parts.path.startswith("/admin/"):
        return default
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        return default  # a browser would resolve /admin/../x to /x
    if parts.path.startswith(("/admin/signin", "/admin/callback", "/admin/api")):
        return default
    return value


# -- the pending sign-in cookie -------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=PENDING_SALT)  # type: ignore[arg-type]


def _now() -> int:
    return int(runtime().clock.now().timestamp())


def _pending() -> list[dict[str, Any]]:
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return []
    try:
        entries = _serializer().loads(raw, max_age=PENDING_MAX_AGE)
    except BadSignature:
        return []
    if not isinstance(entries, list):
        return []
    # The runtime clock too, so the age that counts is the one tests (and the rest of
    # Gatehouse) see.
    return [
        e for e in entries
        if isinstance(e, dict) and _now() - int(e.get("at", 0)) < PENDING_MAX_AGE
    ]


def _set_pending(response: Answer, entries: list[dict[str, Any]]) -> None:
    secure = runtime().settings["server.base_url"].startswith("https://")
    if not entries:
        response.delete_cookie(PENDING_COOKIE, path="/admin", secure=secure, httponly=True,
                               samesite="Lax")
        return
    response.set_cookie(
        PENDING_COOKIE,
        _serializer().dumps(entries[-PENDING_KEEP:]),
        max_age=PENDING_MAX_AGE,
        path="/admin",
        httponly=True,
        samesite="Lax",  # Lax: the callback is a top-level GET from our own authorize
        secure=secure,
    )


# -- pages ------------------------------------------------------------------------------


def _problem(status: int, heading: str, message: str | None = None,
             again: str | None = "/admin/") -> Answer:
    html = render_template(
        "admin/signin_problem.html", title=heading, message=message or EXPLAINED[heading],
        again=url_for("admin_signin.signin", next=again) if again else None,
    )
    return Response(html, status, {"Cache-Control": "no-store"})


@bp.get("/signin")
def signin() -> Answer:
    """Off to the admin policy's authorization endpoint, as a portal would go."""
    settings = runtime().settings
    if runtime().policies.get(settings["admin.policy"]) is None:
        return _problem(
            503, "Gatehouse administration is not set up",
            f"The setting admin.policy names {settings['admin.policy']!r}, which is not a "
            "policy in policies/. Ask whoever runs this Gatehouse to fix it.", again=None,
        )
    ensure_admin_client()
    entry = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),  # 64 characters: RFC 7636 §4.1 asks 43-128
        "next": safe_next(request.args.get("next")),
        "at": _now(),
    }
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": _redirect_uri(),
        "response_type": "code",
        "scope": "openid",
        "state": entry["state"],
        "nonce": entry["nonce"],
        "code_challenge": create_s256_code_challenge(entry["verifier"]),
        "code_challenge_method": "S256",
    }
    authorize = (
        f"{settings['server.base_url']}/{settings['tenant.name']}/{_policy_id()}"
        "/oauth2/v2.0/authorize"
    )
    response = redirect(f"{authorize}?{urlencode(params)}", 303)
    _set_pending(response, [*_pending(), entry])
    response.headers["Cache-Control"] = "no-store"
    return response


class Refused(Exception):
    """The callback cannot let this sign-in in; ``status`` and the page's words."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.message = message
        self.reason = reason


@dataclass
class Callback:
    """What the callback has learned so far; each check adds to it or refuses."""

    entry: dict[str, Any] | None = None
    code: AuthorizationCode | None = None
    user: User | None = None
    role: str | None = None


def check_state(found: Callback) -> None:
    """RFC 6749 §10.12: the state must be one this browser was given, so nobody can make
    someone else's browser sign in with their code (login CSRF)."""
    state = request.args.get("state", "")
    found.entry = next(
        (e for e in _pending() if secrets.compare_digest(str(e.get("state", "")), state)), None
    )
    if not state or found.entry is None:
        raise Refused(400, DID_NOT_FINISH, "state")


def check_code(found: Callback) -> None:
    """The code is one Gatehouse issued to gatehouse-admin, for this redirect URI and the
    admin policy, with this browser's nonce, and still in date (RFC 6749 §4.1.3)."""
    value = request.args.get("code", "")
    code = db.session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(value))
    ) if value else None
    assert found.entry is not None
    if (
        code is None
        or code.client_id != CLIENT_ID
        or code.redirect_uri != _redirect_uri()
        or (code.policy_id or "").lower() != _policy_id().lower()
        or code.nonce != found.entry.get("nonce")
        or code.expires_at <= runtime().clock.now()
    ):
        raise Refused(400, DID_NOT_FINISH, "code")
    found.code = code


def check_pkce(found: Callback) -> None:
    """RFC 7636 §4.6: only the browser that began the sign-in holds the verifier."""
    assert found.code is not None and found.entry is not None
    challenge = create_s256_code_challenge(str(found.entry.get("verifier", "")))
    if found.code.code_challenge_method != "S256" or not secrets.compare_digest(
        found.code.code_challenge or "", challenge
    ):
        raise Refused(400, DID_NOT_FINISH, "pkce")


def claim_code(found: Callback) -> None:
    """RFC 6749 §4.1.2: a code is used once. The same guarded update as the token
    endpoint's, so two requests with one code cannot both get in."""
    assert found.code is not None
    claimed = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == found.code.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=runtime().clock.now())
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused(400, DID_NOT_FINISH, "code reused")


def check_browser_session(found: Callback) -> None:
    """The sign-in's browser session is this browser's, and live: the code is worth
    nothing carried to another browser, or after that session has ended."""
    from idp.store.users import active_session

    assert found.code is not None
    sid = found.code.sid
    if not sid or session.get("sid") != sid or active_session(sid, runtime().clock.now()) is None:
        raise Refused(400, DID_NOT_FINISH, "browser session")


def check_person(found: Callback) -> None:
    """An enabled account with a role: anyone else is told plainly that it has none."""
    assert found.code is not None
    user = db.session.get(User, found.code.user_id)
    found.user = user
    if user is None or not user.enabled:
        raise Refused(403, NO_ACCESS, "account disabled")
    found.role = role_of(user)
    if found.role is None:
        raise Refused(403, NO_ACCESS, "no role")


def check_second_factor(found: Callback) -> None:
    """RFC 8176 "mfa": the admin policy asks for a second factor every time; a sign-in
    that did not pass one (another policy's code, a policy edited by mistake) stays out."""
    assert found.code is not None
    if "mfa" not in (found.code.amr or []):
        raise Refused(403, NEEDS_MFA, "no second factor")


CALLBACK_CHECKS: list[Callable[[Callback], None]] = [
    check_state,
    check_code,
    check_pkce,
    claim_code,
    check_browser_session,
    check_person,
    check_second_factor,
]


@bp.get("/callback")
def callback() -> Answer:
    """The admin policy's answer: let the person in, or say plainly why not."""
    if request.args.get("error"):
        # The person cancelled, or the journey could not finish (OIDC Core §3.1.2.6).
        response = _problem(400, DID_NOT_FINISH)
        _forget(response, request.args.get("state"))
        return response
    found = Callback()
    try:
        for check in CALLBACK_CHECKS:
            check(found)
    except Refused as refused:
        db.session.rollback()
        if found.user is not None and refused.status == 403:
            audit.record(
                "admin.signin_refused", user=found.user,
                client_id=CLIENT_ID, details={"reason": refused.reason},
            )
            db.session.commit()
        response = _problem(refused.status, refused.message,
                            again=None if refused.message == NO_ACCESS else "/admin/")
        _forget(response, request.args.get("state"))
        return response
    assert found.code is not None and found.user is not None and found.entry is not None
    session[ADMIN_KEY] = {
        "object_id": found.user.object_id,
        "sid": found.code.sid,
        # The admin lifetime runs from when they proved who they are, not from the
        # callback.
        "signed_in_at": int(found.code.auth_time.timestamp()),
    }
    audit.record(
        "admin.signed_in", user=found.user, actor=_actor_name(found.user),
        client_id=CLIENT_ID, details={"role": found.role},
    )
    db.session.commit()
    response = redirect(safe_next(found.entry.get("next")), 303)
    _forget(response, found.entry.get("state"))
    return response


def _forget(response: Answer, state: str | None) -> None:
    """A state is used once: drop it from the cookie, keeping other tabs' sign-ins."""
    _set_pending(response, [e for e in _pending() if e.get("state") != state])


@bp.post("/signout")
def signout() -> Answer:
    """End the admin sign-in and the browser session it stood on."""
    from idp.protocol.sessions import end_browser_session

    session.pop(ADMIN_KEY, None)
    end_browser_session()
    html = render_template("admin/signed_out.html", title="You have signed out")
    return Response(html, 200, {"Cache-Control": "no-store"})


def csrf_failed(error: Exception) -> Answer:
    """A form sent without its CSRF token, or with another browser's: nothing changes."""
    html = render_template(
        "admin/problem.html", title="The form could not be sent",
        message="The page was open too long or came from somewhere else, so nothing was "
        "changed. Go back, reload the page and try again.",
        errors={}, problem_banner=None,
    )
    return Response(html, 400, {"Cache-Control": "no-store"})


@bp.after_request
def _no_store(response: Answer) -> Answer:
    response.headers["Cache-Control"] = "no-store"
    return response


bp.register_error_handler(CSRFError, csrf_failed)


# -- who is signed in -------------------------------------------------------------------


def _actor_name(user: User) -> str:
    return f"person:{user.object_id} ({user.email})"


def current_user_and_role() -> tuple[User, str] | None:
    """The person signed in to the admin pages in this browser and their role now, or
    None. Read once a request."""
    if "admin_signed_in" in g:
        cached: tuple[User, str] | None = g.admin_signed_in
        return cached
    g.admin_signed_in = result = _signed_in()
    return result


def _signed_in() -> tuple[User, str] | None:
    from idp.protocol.sessions import current_session

    admin = session.get(ADMIN_KEY)
    if not isinstance(admin, dict):
        return None
    sid = admin.get("sid")
    if not sid or session.get("sid") != sid:
        return None
    # The browser session: live, not ended by a sign-out anywhere, its person enabled.
    # Touched, so the session's idle timeout counts work done on these pages.
    current = current_session(touch=True)
    if current is None:
        return None
    row, user = current
    if row.sid != sid or user.object_id != admin.get("object_id"):
        return None
    lifetime = int(runtime().settings["admin.session_lifetime"])
    signed_in_at = int(admin.get("signed_in_at", 0))
    if _now() - signed_in_at >= lifetime:
        return None
    role = role_of(user)  # never kept in the cookie: a revoked role ends access at once
    if role is None:
        return None
    return user, role


def current_admin() -> Actor | None:
    """The admin signed in to the admin pages in this browser, or None."""
    found = current_user_and_role()
    if found is None:
        return None
    user, role = found
    return Actor(
        name=_actor_name(user),
        role=role,
        ip=request.remote_addr,
        object_id=user.object_id,  # so nobody disables or deletes their own account
    )
