"""Telling portals that a person signed out: OIDC Back-Channel Logout 1.0 and Front-Channel
Logout 1.0, and the person's own "Sign out everywhere".

Back-channel: whenever a transaction that ended sessions commits (a sign-out, "sign out
everywhere", a password reset, an admin disabling or deleting the account), each portal
that got a code or token under an ended session's ``sid`` and registered a
``backchannel_logout_uri`` is sent a logout token (§2.4) by POST (§2.5), from a background
thread so nobody waits on a slow portal. The tokens are signed before the commit (the key
is read from the database) and sent after it (so a rolled-back change tells nobody).

Front-channel: the signed-out page loads each portal's ``frontchannel_logout_uri`` with
``iss`` and ``sid`` in an invisible iframe (§2, §3), for the sessions that browser ended.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from flask import Blueprint, Flask, Response, render_template, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

from idp.clock import timestamp
from idp.extensions import db
from idp.metrics import MESSAGES
from idp.runtime import runtime
from idp.security.digests import new_secret
from idp.store.users import ENDED_SESSIONS

log = logging.getLogger(__name__)
EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: The signed tokens waiting for the commit.
_SIGNED = "gatehouse.logout_tokens"
TIMEOUT_SECONDS = 5

bp = Blueprint("logout", __name__)


def logout_token(issuer: str, client_id: str, sub: str, sid: str | None) -> str:
    """§2.4: iss, aud, iat, exp, jti, events; sub and sid; never a nonce; typ logout+jwt."""
    from idp.protocol.tokens import sign

    rt = runtime()
    now = rt.clock.now()
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": timestamp(now),
        "exp": timestamp(now + timedelta(minutes=2)),
        "jti": new_secret(16),
        "sub": sub,
        "events": {EVENT: {}},
    }
    if sid:
        claims["sid"] = sid
    return sign(rt, claims, "logout+jwt")


def _deliver(deliveries: list[tuple[str, str, str]]) -> None:
    """POST each logout token (§2.5); a portal that fails is logged, not retried."""
    for uri, client_id, token in deliveries:
        try:
            response = requests.post(
                uri, data={"logout_token": token}, timeout=TIMEOUT_SECONDS,
                headers={"Cache-Control": "no-store"}, allow_redirects=False,
            )
            ok = response.status_code == 200
        except requests.RequestException as error:
            ok = False
            log.warning("back-channel logout to %s failed: %s", client_id, type(error).__name__)
        else:
            if not ok:
                log.warning("back-channel logout to %s answered %s", client_id,
                            response.status_code)
        MESSAGES.labels(channel="backchannel_logout", outcome="sent" if ok else "failed").inc()


def _sign_noted(session: Session) -> None:
    noted = session.info.pop(ENDED_SESSIONS, None)
    if not noted:
        return
    signed = session.info.setdefault(_SIGNED, [])
    for item in noted:
        token = logout_token(item["issuer"], item["client_id"], item["sub"], item["sid"])
        signed.append((item["uri"], item["client_id"], token))


def _send_signed(session: Session) -> None:
    deliveries = session.info.pop(_SIGNED, None)
    if deliveries:
        threading.Thread(target=_deliver, args=(deliveries,), daemon=True,
                         name="backchannel-logout").start()


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(ENDED_SESSIONS, None)
    session.info.pop(_SIGNED, None)


def front_channel_frames(sids: list[str]) -> list[str]:
    """§3: the frontchannel_logout_uri of each portal the browser used under these
    sessions, with iss and sid when the portal asked for them."""
    from sqlalchemy import select

    from idp.store.models import AuthorizationCode, Client

    if not sids:
        return []
    pairs = {
        tuple(row)
        for row in db.session.execute(
            select(AuthorizationCode.sid, AuthorizationCode.client_id, AuthorizationCode.issuer)
            .where(AuthorizationCode.sid.in_(sids))
        )
    }
    frames: list[str] = []
    for sid, client_id, issuer in sorted(pairs, key=lambda p: (str(p[0]), p[1])):
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        uri = (client.metadata_ or {}).get("frontchannel_logout_uri") if client else None
        if client is None or not uri:
            continue
        if (client.metadata_ or {}).get("frontchannel_logout_session_required", True):
            separator = "&" if urlsplit(uri).query else "?"
            uri = f"{uri}{separator}{urlencode({'iss': issuer, 'sid': sid})}"
        if uri not in frames:
            frames.append(uri)
    return frames


def frame_sources(frames: list[str]) -> str:
    """The origins the signed-out page may frame (added to its Content-Security-Policy)."""
    origins = []
    for uri in frames:
        parts = urlsplit(uri)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return " ".join(origins)


def signed_out_page(status: int = 200, **values: Any) -> Response:
    """The signed-out page, with the front-channel iframes for what this browser ended."""
    from idp.security.headers import CSP

    frames = front_channel_frames(values.pop("ended_sids", None) or [])
    response = Response(render_template("signed_out.html", frames=frames, **values), status)
    if frames:
        policy = CSP.replace(
            "frame-ancestors", f"frame-src {frame_sources(frames)}; frame-ancestors"
        )
        response.headers["Content-Security-Policy"] = policy
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/signout-everywhere", methods=["GET", "POST"])
def sign_out_everywhere_page() -> Response:
    """The person's own "Sign out everywhere": every browser and device signed in to this
    account is signed out, every portal's tokens stop working, and portals registered
    for logout are told."""
    from idp.protocol.sessions import current_session
    from idp.security import audit
    from idp.store.users import sign_out_everywhere

    current = current_session(touch=False)
    if current is None:
        return signed_out_page(200, everywhere_done=False)
    row, user = current
    if request.method == "GET":
        return Response(render_template("sign_out_everywhere.html"), 200,
                        {"Cache-Control": "no-store"})
    from sqlalchemy import select

    from idp.store.models import BrowserSession

    mine = [row.sid]
    others = list(db.session.scalars(
        select(BrowserSession.sid).where(BrowserSession.user_id == user.id,
                                         BrowserSession.ended_at.is_(None))))
    revoked = sign_out_everywhere(user, runtime().clock.now())
    audit.record("signout.everywhere", user=user,
                 details={"sessions_ended": len(others), "token_families_revoked": revoked})
    db.session.commit()
    session.clear()
    return signed_out_page(200, everywhere_done=True, ended_sids=mine)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if not getattr(Session, "_gatehouse_logout_listeners", False):
        event.listen(Session, "before_commit", _sign_noted)
        event.listen(Session, "after_commit", _send_signed)
        event.listen(Session, "after_rollback", _forget)
        Session._gatehouse_logout_listeners = True  # type: ignore[attr-defined]
