"""The relying portal, played on a real loopback socket.

The test client in tests/clients/confidential.toml sends people back to
http://127.0.0.1:8000/callback, but a browser cannot be stopped on its way there:
Playwright routes the first request of a navigation only, never the hop after a
redirect, and Gatehouse's last answer is a redirect. So the portal here is a tiny server
on a free port, registered with Gatehouse as a copy of that client with its own address.

    portal = FakePortal()
    portal.register(server.app)              # the client "browser-portal"
    url, verifier = portal.authorize_url(server.url, "B2C_1_signin")
    ...                                      # the browser arrives at portal.callback
    claims = portal.claims(server.url, code, verifier)
"""

from __future__ import annotations

import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.store.clients import save_registration, validate_registration
from tests.conftest import TEST_CLIENTS
from tests.flows import authorize_params, exchange, pkce_pair

CLIENT_ID = "browser-portal"
SECRET = "browser-portal-secret-0123456789abcdef"
PAGE = (b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal</title>'
        b'</head><body><main><h1>Back at the portal</h1></main></body></html>')


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows a failed test's output, and these lines would bury it."""


class FakePortal:
    """A portal's callback page on 127.0.0.1, and the portal's side of the code exchange."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.callback = f"{self.url}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def register(self, app: Any) -> None:
        """Register this portal with a Gatehouse: the test portal's settings, this address."""
        settings = tomllib.loads((TEST_CLIENTS / "confidential.toml").read_text())
        settings.update(client_id=CLIENT_ID, name="Browser test portal",
                        redirect_uris=[self.callback], post_logout_redirect_uris=[])
        with app.app_context():
            registration = validate_registration(settings, "tests/browser/portal.py")
            save_registration(registration, app.extensions["idp"].clock.now(), "cli", SECRET)
            db.session.commit()

    def authorize_url(self, server_url: str, policy: str, **extra: Any) -> tuple[str, str]:
        """The portal's authorization request for ``policy`` (with PKCE); and its verifier."""
        verifier, challenge = pkce_pair()
        params = authorize_params(client_id=CLIENT_ID, redirect_uri=self.callback,
                                  code_challenge=challenge, code_challenge_method="S256",
                                  p=policy, **extra)
        return f"{server_url}/authorize?{urlencode(params)}", verifier

    def claims(self, server_url: str, code: str, verifier: str) -> dict[str, Any]:
        """Redeem the code at the live server's /token; the ID token's claims."""
        with requests.Session() as session:
            response = exchange(session, code, verifier, path=f"{server_url}/token",
                                client_id=CLIENT_ID, client_secret=SECRET,
                                redirect_uri=self.callback)
            assert response.status_code == 200, response.text
            keys = KeySet.import_key_set(session.get(f"{server_url}/jwks", timeout=10).json())
        return dict(jwt.decode(response.json()["id_token"], keys).claims)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
