"""Security headers on every response (OWASP ASVS V14.4; RFC 9700 §4.16 on framing)."""

from __future__ import annotations

from flask import Flask, Response, request

# No inline script anywhere (templates/page.html loads even GOV.UK Frontend's body-class
# line from a file): scripts, styles and everything else come from our own origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def init_headers(app: Flask) -> None:
    secure = app.config.get("SESSION_COOKIE_SECURE", False)

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/journey/"):
            headers["Cache-Control"] = "no-store"
        return response
