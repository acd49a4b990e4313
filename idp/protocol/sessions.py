"""Signed-in browsers. The cookie holds only ``sid``; the rest is a row in the database,
so any instance can answer and a sign-out ends the session everywhere it is checked.

A new ``sid`` (and a cleared cookie, hence a new CSRF token) is made at every sign-in, so
a session fixed before sign-in is worth nothing after it (OWASP ASVS 3.2.1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import g, session

from idp.extensions import db
from idp.journeys.results import Authentication
from idp.runtime import runtime
from idp.security import audit
from idp.security.digests import new_secret
from idp.store.models import BrowserSession, User
from idp.store.users import active_session, get_user_by_object_id, note_ended_sessions

_JOURNEYS = "journeys"


class SessionEnded(Exception):
    """A single-sign-on journey finished after the session it stood on had ended."""


#: A session's last use is written at most this often, so reading it costs no write.
_TOUCH_EVERY = timedelta(seconds=60)


def current_session(touch: bool = True) -> tuple[BrowserSession, User] | None:
    """This browser's live session and its person; ``touch`` counts this as a use for
    the idle timeout."""
    sid = session.get("sid")
    if not sid:
        return None
    now = runtime().clock.now()
    row = active_session(sid, now)
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.enabled:
        return None
    if touch and (row.last_seen_at is None or now - row.last_seen_at >= _TOUCH_EVERY):
        row.last_seen_at = now
        db.session.commit()
    return row, user


def _timeouts(policy: Any, keep: bool) -> tuple[int, int | None, bool]:
    """(lifetime, idle timeout or None, persistent) for a new session: the policy's
    [session] settings, else the deployment's."""
    settings = runtime().settings
    session_settings = policy.session if policy is not None else {}
    if keep and policy is not None and policy.keep_me_signed_in:
        return int(settings["sessions.keep_signed_in_lifetime"]), None, True
    lifetime = int(session_settings.get("lifetime") or settings["sessions.lifetime"])
    idle = int(session_settings.get("idle_timeout") or settings["sessions.idle_timeout"])
    return lifetime, (idle or None), False


def start_session(
    authentication: Authentication, policy: Any = None
) -> tuple[BrowserSession, User]:
    rt = runtime()
    now = rt.clock.now()
    user = get_user_by_object_id(authentication.user_object_id)
    if user is None:
        raise LookupError(f"no user {authentication.user_object_id}")
    if authentication.session_sid:
        # Single sign-on: nobody signed in anew, so the session stays; a second factor
        # passed on the way is added to what it records.
        row = active_session(authentication.session_sid, now)
        if row is None or row.user_id != user.id or session.get("sid") != row.sid:
            # The session this journey began with has ended (signed out everywhere, a
            # password reset, its lifetime): a page left open must not revive it.
            raise SessionEnded(authentication.session_sid)
        row.amr = list(dict.fromkeys([*(row.amr or []), *authentication.amr]))
        return row, user
    journeys = session.get(_JOURNEYS, [])
    session.clear()
    lifetime, idle, persistent = _timeouts(policy, authentication.keep_signed_in)
    row = BrowserSession(
        sid=new_secret(24),
        user_id=user.id,
        route=authentication.route,
        amr=list(authentication.amr),
        auth_time=datetime.fromtimestamp(authentication.auth_time, UTC),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        idle_timeout=idle,
        persistent=persistent,
    )
    db.session.add(row)
    session["sid"] = row.sid
    session[_JOURNEYS] = journeys
    # "Keep me signed in": the cookie outlives the browser (PERMANENT_SESSION_LIFETIME is
    # sessions.keep_signed_in_lifetime); otherwise it goes when the browser closes.
    session.permanent = persistent
    audit.record("signin.succeeded", user=user, details={"route": authentication.route})
    return row, user


def end_browser_session(end_session_request: Any = None) -> None:
    current = current_session(touch=False)
    if current is not None:
        row, user = current
        note_ended_sessions(user, [row.sid])
        g.ended_sids = [row.sid]  # for the signed-out page's front-channel iframes
        row.ended_at = runtime().clock.now()
        client_id = getattr(getattr(end_session_request, "client", None), "client_id", None)
        audit.record("signout", user=user, client_id=client_id)
        db.session.commit()
    session.clear()


def remember_journey(journey_id: str) -> None:
    """Tie a journey to this browser, so a leaked journey link is no use elsewhere."""
    journeys = [j for j in session.get(_JOURNEYS, []) if j != journey_id][-4:]
    session[_JOURNEYS] = [*journeys, journey_id]


def owns_journey(journey_id: str) -> bool:
    return journey_id in session.get(_JOURNEYS, [])
