"""Small action helpers: drive an authorization request through the sign-in page."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.conftest import PASSWORD

REDIRECT_URI = "http://127.0.0.1:8000/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_params(**overrides: Any) -> dict[str, Any]:
    params = {
        "response_type": "code",
        "client_id": "portal",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access",
        "state": "state-123",
        "nonce": secrets.token_hex(8),
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def step_id(html: str) -> str:
    match = re.search(r'name="step" value="([^"]+)"', html)
    assert match, "the page has no step field"
    return match.group(1)


def sign_in(client: Any, journey_url: str, email: str, password: str = PASSWORD) -> Any:
    page = client.get(journey_url)
    html = page.get_data(as_text=True)
    return client.post(
        journey_url,
        data={"csrf_token": csrf_token(html), "step": step_id(html), "email": email,
              "password": password},
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(client: Any, email: str = "jenny.hinsen@example.com", path: str = "/authorize",
             **overrides: Any) -> tuple[str, dict[str, Any], str]:
    """Run /authorize and the sign-in page; return (code, params, verifier)."""
    verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    response = client.get(f"{path}?{urlencode(params)}")
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    if "/journey/" in location:
        response = sign_in(client, urlsplit(location).path, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        location = response.headers["Location"]
    query = query_of(location)
    assert "code" in query, location
    return query["code"], params, verifier


def exchange(client: Any, code: str, verifier: str | None, path: str = "/token",
             **overrides: Any) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": "portal",
        "client_secret": "confidential-secret-0123456789abcdef",
        "code_verifier": verifier,
    }
    data.update(overrides)
    return client.post(path, data={k: v for k, v in data.items() if v is not None})
