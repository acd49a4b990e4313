"""``create_app(config)``: the example portal, with one authlib registration per portal and
per policy, each reading its own B2C-shaped discovery document."""

from __future__ import annotations

import hmac
import os
import secrets
import warnings
from collections.abc import Mapping
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, Response, abort, render_template, request, session
from werkzeug.exceptions import HTTPException

from examples.portal.portals import PORTALS, SCOPE
from examples.portal.settings import resolve
from examples.portal.signins import SignInStore
from examples.portal.views import index_blueprint, portal_blueprint


def discovery_url(settings: Mapping[str, Any], policy: str) -> str:
    """B2C's per-policy metadata: ``{authority}/{tenant}/{policy}/v2.0/.well-known/…``."""
    return (
        f"{settings['GATEHOUSE_AUTHORITY']}/{settings['GATEHOUSE_TENANT']}/{policy}"
        "/v2.0/.well-known/openid-configuration"
    )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    settings = resolve(config)
    app = Flask(__name__)
    app.config.update(settings)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    oauth = OAuth(app)
    for portal in PORTALS:
        secret = settings["PORTAL_CLIENT_SECRETS"].get(portal.client_id) or os.environ.get(
            portal.secret_env
        )
        if not secret:
            warnings.warn(
                f"example portal: {portal.secret_env} is not set, so {portal.client_id} "
                "cannot redeem codes (scripts/run-dev.sh sets a development value)",
                stacklevel=2,
            )
        for policy in portal.policies:
            oauth.register(
                portal.registration_name(policy),
                client_id=portal.client_id,
                client_secret=secret,
                server_metadata_url=discovery_url(settings, policy),
                client_kwargs={
                    "scope": SCOPE,
                    "code_challenge_method": "S256",
                    "token_endpoint_auth_method": portal.token_endpoint_auth_method,
                    "default_timeout": settings["GATEHOUSE_TIMEOUT"],
                },
            )
    app.extensions["portal.oauth"] = oauth
    app.extensions["portal.sign_ins"] = SignInStore()

    app.register_blueprint(index_blueprint())
    for portal in PORTALS:
        app.register_blueprint(portal_blueprint(portal))
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(check_csrf)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, http_error)
    return app


def csrf_token() -> str:
    """The session's token for the portal's own forms (Sign in, Sign out, Pay now …)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def check_csrf() -> None:
    if request.method == "POST":
        expected = session.get("csrf")
        sent = request.form.get("csrf_token", "")
        if not expected or not hmac.compare_digest(str(expected), sent):
            abort(400, description="This form has expired. Go back and try again.")


def security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages show who is signed in and their claims: a shared computer must not keep them.
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def http_error(error: HTTPException) -> tuple[str, int]:
    return render_template(
        "problem.html",
        portal=None,
        heading=error.name,
        detail=error.description,
        retry_url="/",
    ), error.code or 500
