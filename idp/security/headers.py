"""Security headers on every response (OWASP ASVS V14.4; RFC 9700 §4.16 on framing)."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

# The one inline script is GOV.UK Frontend's body-class line, allowed by a per-response
# nonce; everything else loads from our own origin.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def init_headers(app: Flask) -> None:
    secure = app.config.get("SESSION_COOKIE_SECURE", False)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/journey/"):
            headers["Cache-Control"] = "no-store"
        return response
