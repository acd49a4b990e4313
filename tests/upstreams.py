"""Real upstream providers on loopback for federation tests.

* ``UpstreamGatehouse``: a second Gatehouse process (``LiveServer``) with its own tenant
  and database, playing Google, Microsoft or a generic OpenID provider. It holds one
  person (``EMAIL``/``PASSWORD``) and one OAuth client per role, registered for the
  downstream's ``/federation/<role>/callback``.
* ``IssuerProxy``: stands between the downstream and that upstream. It serves the
  upstream's discovery document with the token and key endpoints pointed at itself and,
  when asked, with ``issuer`` as Microsoft's multi-tenant template
  (``…/{tenantid}/B2C_1_signin/v2.0/``). It passes ID tokens through untouched unless a
  test asks it to forge one: rewrite claims and sign with a key it publishes, or sign
  with a key nobody publishes.
* ``FakeFacebook``: Facebook's OAuth dialog, token endpoint and Graph ``/me``.

Use them as fixtures (``upstream = tests.upstreams.upstream`` in a test module)::

    def test_google(upstream, facebook):
        upstream.discovery_url      # the real per-policy discovery document
        facebook.deny_next()        # the next dialog answers error=access_denied
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.clock import FrozenClock
from idp.extensions import db
from idp.store.clients import save_registration, validate_registration
from tests.conftest import LiveServer, add_user
from tests.fakes_http import Answer, FakeHttpService

DOWNSTREAM = "http://localhost:5000"
UPSTREAM_TENANT = "3f2b8c1e-5a4d-4e6f-9b7a-2c1d0e9f8a7b"
POLICY = "B2C_1_signin"
EMAIL = "jenny.hinsen@example.com"
#: The upstream's clients for the downstream: role -> (client id, secret, auth method).
ROLES = {
    "google": ("downstream-google", "google-secret-0123456789abcdef", "client_secret_post"),
    "microsoft": ("downstream-microsoft", "microsoft-secret-0123456789abcd",
                  "client_secret_post"),
    "oidc": ("downstream-oidc", "oidc-secret-0123456789abcdef", "client_secret_basic"),
}


def callback_url(role: str) -> str:
    return f"{DOWNSTREAM}/federation/{role}/callback"


class UpstreamGatehouse:
    """A second Gatehouse on 127.0.0.1, the OpenID provider the downstream federates with.

    Its clock starts at the real time, because the downstream checks ``exp`` with the
    real one (authlib reads ``time.time()``).
    """

    def __init__(self, settings: dict[str, Any], folder: Path,
                 tenant_id: str = UPSTREAM_TENANT) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.tenant_id = tenant_id
        self.clock = FrozenClock(datetime.now(UTC))
        self.server = LiveServer({
            **settings,
            "tenant.id": tenant_id,
            "tenant.name": "upstream.onmicrosoft.com",
            "database.url": f"sqlite:///{folder / 'upstream.db'}",
            "email.outbox_path": str(folder / "outbox.jsonl"),
        }, self.clock)
        self.url = self.server.url
        self.authority = f"{self.url}/{tenant_id}/{POLICY}/v2.0"
        self.discovery_url = f"{self.authority}/.well-known/openid-configuration"
        self.issuer = f"{self.authority}/"
        with self.server.app.app_context():
            now = self.clock.now()
            for role, (client_id, secret, method) in ROLES.items():
                registration = validate_registration({
                    "client_id": client_id, "name": f"Downstream as {role}",
                    "token_endpoint_auth_method": method, "secret_env": "(test)",
                    "redirect_uris": [callback_url(role)], "policies": [POLICY],
                    "grant_types": ["authorization_code"],
                }, "tests/upstreams.py")
                save_registration(registration, now, "cli", secret)
            db.session.commit()
        self.user = add_user(self.server.app, email=EMAIL)
        self._stopped = False

    def discovery_template(self) -> str:
        """A ``federation.microsoft.discovery_url`` for this upstream as one tenant."""
        return f"{self.url}/{{tenant}}/{POLICY}/v2.0/.well-known/openid-configuration"

    def stop(self) -> None:
        """Stop serving; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        # LiveServer's loop looks for a shutdown request only every half second or when
        # a connection arrives: knock once, so teardown does not wait out the half second.
        stopper = threading.Thread(target=self.server.stop)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.server.server.port), 1).close()
            stopper.join(0.05)


def _claims_of(id_token: str) -> dict[str, Any]:
    # The proxy trusts its own upstream; it only needs to read what to rewrite.
    payload = id_token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@functools.cache
def _proxy_keys() -> tuple[RSAKey, RSAKey]:
    """The key the proxy publishes and a stranger with the same kid (made once: RSA is slow)."""
    return (RSAKey.generate_key(2048, parameters={"kid": "proxy", "use": "sig"}),
            RSAKey.generate_key(2048, parameters={"kid": "proxy", "use": "sig"}))


class IssuerProxy(FakeHttpService):
    """The upstream's discovery document, token endpoint and keys, seen through a proxy.

    ``tenant_template``: publish ``issuer`` as ``{upstream}/{tenantid}/B2C_1_signin/v2.0/``
    (Microsoft's ``common`` form); the tokens keep the upstream's real ``iss`` and ``tid``.

    Example::

        proxy.rewrite_claims(aud="someone-else")   # re-signed with a key the proxy publishes
        proxy.sign_with_unknown_key()              # same kid, a key nobody publishes
    """

    def __init__(self, upstream: UpstreamGatehouse, tenant_template: bool = False) -> None:
        self.upstream = upstream
        self.tenant_template = tenant_template
        self.changes: dict[str, Any] | None = None
        self.unknown_key = False
        self.key, self._stranger = _proxy_keys()
        self._real: dict[str, Any] = requests.get(upstream.discovery_url, timeout=5).json()
        super().__init__()

    def discovery_url(self, tenant: str = "{tenant}") -> str:
        return f"{self.url}/{tenant}/{POLICY}/v2.0/.well-known/openid-configuration"

    def rewrite_claims(self, **changes: Any) -> None:
        """Forge the next ID tokens: each claim set to its value (None removes it)."""
        self.changes = changes

    def sign_with_unknown_key(self) -> None:
        self.changes = self.changes or {}
        self.unknown_key = True

    def parse_body(self, content_type: str, body: bytes) -> dict[str, Any]:
        return {"raw": body, "content_type": content_type}

    def answer(self, request: dict[str, Any]) -> Answer:
        path = urlsplit(request["path"]).path
        if path.endswith("/.well-known/openid-configuration"):
            return 200, self._metadata()
        if path == "/keys":
            keys = requests.get(self._real["jwks_uri"], timeout=5).json()["keys"]
            return 200, {"keys": [*keys, self.key.as_dict(private=False)]}
        if path == "/token" and request["method"] == "POST":
            return self._token(request)
        return 404, {"error": "not_found"}

    def failure(self, status: int, message: str | None, request: dict[str, Any]) -> Answer:
        return status, {"error": "server_error", "error_description": message or "down"}

    def _metadata(self) -> dict[str, Any]:
        metadata = {**self._real, "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/keys"}
        if self.tenant_template:
            metadata["issuer"] = f"{self.upstream.url}/{{tenantid}}/{POLICY}/v2.0/"
        return metadata

    def _token(self, request: dict[str, Any]) -> Answer:
        headers = {"Content-Type": request["content_type"]}
        if "authorization" in request["headers"]:
            headers["Authorization"] = request["headers"]["authorization"]
        answer = requests.post(self._real["token_endpoint"], data=request["raw"],
                               headers=headers, timeout=5)
        token = answer.json()
        if answer.ok and self.changes is not None and "id_token" in token:
            claims = _claims_of(token["id_token"])
            for name, value in self.changes.items():
                if value is None:
                    claims.pop(name, None)
                else:
                    claims[name] = value
            key = self._stranger if self.unknown_key else self.key
            token["id_token"] = jwt.encode({"alg": "RS256", "kid": "proxy"}, claims, key)
        return answer.status_code, token


# -- Facebook ---------------------------------------------------------------------------

FACEBOOK_PROFILE = {
    "id": "10158123456789012",
    "name": "Jenny Hinsen",
    "first_name": "Jenny",
    "last_name": "Hinsen",
    "email": EMAIL,
}


class FakeFacebook(FakeHttpService):
    """Facebook's OAuth dialog, token endpoint and Graph ``/me`` on loopback.

    The dialog signs the person straight in (or, after ``deny_next()``, answers
    ``error=access_denied`` as when they press Cancel). The token endpoint checks the app
    id, secret, code and redirect_uri; ``/me`` checks the bearer token and
    ``appsecret_proof``. ``fail_next(status)`` makes the next token or Graph call fail
    with Facebook's error body, ``fail_graph(status)`` every Graph call;
    ``stall_next(seconds)`` answers the next one late.
    """

    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.profile = dict(FACEBOOK_PROFILE)
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.tokens: set[str] = set()
        self._deny = False
        self._graph_failure: int | None = None
        self._dialog_lock = threading.Lock()
        super().__init__()

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/v19.0/dialog/oauth"

    @property
    def token_url(self) -> str:
        return f"{self.url}/v19.0/oauth/access_token"

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v19.0/me"

    def deny_next(self) -> None:
        self._deny = True

    def fail_graph(self, status: int = 500) -> None:
        """Every Graph call from now on fails with ``status`` (the token call still works)."""
        self._graph_failure = status

    def graph_calls(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if urlsplit(r["path"]).path == "/v19.0/me"]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        # The dialog is a page that redirects, not a JSON API: answer it here.
        if urlsplit(handler.path).path != "/v19.0/dialog/oauth":
            super().handle(handler)
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        with self._dialog_lock:
            self.requests.append({"method": "GET", "path": handler.path, "query": query})
            denied, self._deny = self._deny, False
        if denied:
            answer = {"error": "access_denied", "error_code": "200",
                      "error_description": "Permissions error", "error_reason": "user_denied"}
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = query["redirect_uri"]
            answer = {"code": code}
        answer["state"] = query.get("state", "")
        handler.send_response(302)
        handler.send_header("Location", f"{query['redirect_uri']}?{urlencode(answer)}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def parse_body(self, content_type: str, body: bytes) -> dict[str, Any]:
        return {"form": {k: v[0] for k, v in parse_qs(body.decode()).items()}}

    def answer(self, request: dict[str, Any]) -> Answer:
        path = urlsplit(request["path"]).path
        if path == "/v19.0/oauth/access_token":
            return self._token(request["form"])
        if path == "/v19.0/me":
            if self._graph_failure:
                return self.failure(self._graph_failure, None, request)
            return self._me(request)
        return _facebook_error(404, "Unknown path components", 2500)

    def failure(self, status: int, message: str | None, request: dict[str, Any]) -> Answer:
        return _facebook_error(status, message or "An unexpected error has occurred.", 2)

    def _token(self, form: dict[str, str]) -> Answer:
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_secret:
            return _facebook_error(400, "Error validating client secret.", 1)
        if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
            return _facebook_error(400, "Invalid verification code format.", 100)
        token = "EAAB" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944}

    def _me(self, request: dict[str, Any]) -> Answer:
        scheme, _, token = request["headers"].get("authorization", "").partition(" ")
        query = {k: v[0] for k, v in parse_qs(urlsplit(request["path"]).query).items()}
        if scheme.lower() != "bearer" or token not in self.tokens:
            return _facebook_error(400, "Invalid OAuth access token.", 190)
        proof = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if query.get("appsecret_proof") != proof:
            return _facebook_error(400, "Invalid appsecret_proof provided in the API argument",
                                   100)
        fields = query.get("fields", "id,name").split(",")
        return 200, {k: v for k, v in self.profile.items() if k in fields}


def _facebook_error(status: int, message: str, code: int) -> Answer:
    return status, {"error": {"message": message, "type": "OAuthException", "code": code,
                              "fbtrace_id": "A" + secrets.token_hex(8)}}


# -- fixtures -----------------------------------------------------------------------------

@pytest.fixture
def make_upstream(settings: dict[str, Any], tmp_path: Path
                  ) -> Iterator[Callable[..., UpstreamGatehouse]]:
    """Start upstream Gatehouses (``make_upstream(tenant_id=...)``); all stop afterwards."""
    started: list[UpstreamGatehouse] = []

    def make(tenant_id: str = UPSTREAM_TENANT) -> UpstreamGatehouse:
        server = UpstreamGatehouse(settings, tmp_path / f"upstream-{len(started)}", tenant_id)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def upstream(make_upstream: Callable[..., UpstreamGatehouse]) -> UpstreamGatehouse:
    return make_upstream()


@pytest.fixture
def facebook() -> Iterator[FakeFacebook]:
    with FakeFacebook("1234567890", "facebook-app-secret-0123456789") as fake:
        yield fake
