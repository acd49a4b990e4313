"""Development only: /dev/outbox lists the emails, texts and calls the outbox holds, so a
newcomer can walk every journey without a mail server or a phone."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template

from idp.config import resolve_path
from idp.messaging import read_outbox
from idp.runtime import runtime

bp = Blueprint("dev", __name__)


@bp.get("/dev/outbox")
def outbox() -> Response:
    path = resolve_path(runtime().settings["email.outbox_path"])
    messages = list(reversed(read_outbox(path)))[:200]
    html = render_template("dev_outbox.html", messages=messages, path=str(path), errors={})
    return Response(html, 200, {"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Only in development mode, and only when some channel writes to the outbox."""
    settings = app.extensions["idp"].settings
    senders = {settings["email.sender"], settings["sms.sender"], settings["voice.sender"]}
    if settings["server.development"] and "outbox" in senders:
        app.register_blueprint(bp)
        app.config["IDP_DEV_OUTBOX"] = True
