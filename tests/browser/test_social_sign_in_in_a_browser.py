"""The Parent Portal's "Sign in with Google" in chromium, Google played by a second
Gatehouse on loopback (tests/upstreams.py): out to the provider's sign-in page, back, and
the new account reviewed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from idp.extensions import db
from idp.store.clients import save_registration, validate_registration
from tests.browser.portal import FakePortal
from tests.browser.walk import Walk
from tests.conftest import PASSWORD, LiveServer, build_app
from tests.test_federation_clients import SECRETS, google_at
from tests.test_seed_journeys import PARENT
from tests.upstreams import EMAIL, POLICY, ROLES, UpstreamGatehouse


class LocalhostServer(LiveServer):
    """A LiveServer that calls itself http://localhost:<port>.

    The upstream is on 127.0.0.1 too, and a browser keeps cookies per host name, not per
    port: under one name the two Gatehouses would overwrite each other's session cookie.
    """

    def __init__(self, settings: dict[str, Any], clock: Any) -> None:
        self._app = None
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://localhost:{self.server.port}"
        self.app = build_app({**settings, "server.base_url": self.url}, clock)
        self._app = self.app
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


def send_google_sign_ins_to(upstream: UpstreamGatehouse, downstream_url: str) -> None:
    """Register the upstream's "google" client for the downstream's real address (the
    upstream registers it for tests.upstreams.DOWNSTREAM, which nothing listens on)."""
    client_id, secret, method = ROLES["google"]
    with upstream.server.app.app_context():
        registration = validate_registration({
            "client_id": client_id, "name": "Downstream as google",
            "token_endpoint_auth_method": method, "secret_env": "(test)",
            "redirect_uris": [f"{downstream_url}/federation/google/callback"],
            "policies": [POLICY], "grant_types": ["authorization_code"],
        }, "tests/browser")
        save_registration(registration, upstream.clock.now(), "cli", secret)
        db.session.commit()


@pytest.fixture
def with_google(
    settings: dict[str, Any], clock: Any, tmp_path: Path, portal: FakePortal,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[LocalhostServer, UpstreamGatehouse]]:
    """Gatehouse offering Google, and the Gatehouse playing Google."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    upstream = UpstreamGatehouse(settings, tmp_path / "upstream")
    server = LocalhostServer({**settings, **google_at(upstream.discovery_url)}, clock)
    try:
        send_google_sign_ins_to(upstream, server.url)
        portal.register(server.app)
        yield server, upstream
    finally:
        server.stop()
        upstream.stop()


def test_sign_in_with_google_goes_to_the_provider_and_back_to_review_the_account(
    walk: Walk, portal: FakePortal, with_google: tuple[LocalhostServer, UpstreamGatehouse]
) -> None:
    server, upstream = with_google
    url, verifier = portal.authorize_url(server.url, PARENT)
    walk.open(url)
    walk.press("Sign in with Google")
    assert walk.url.startswith(upstream.url), walk.url  # the provider's own sign-in page
    walk.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert walk.url.startswith(server.url) and walk.heading() == "Review Account", walk.url
    assert walk.field_value("Forename") == "Jenny"
    walk.press("Confirm Details", {"Title": "Mrs"})
    claims = portal.claims(server.url, walk.code(), verifier)
    assert claims["idp"] == "google.com" and claims["newUser"] is True
    assert "fed" in claims["amr"]
