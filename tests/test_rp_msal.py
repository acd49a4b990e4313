"""MSAL Python (ConfidentialClientApplication) signs in against Gatehouse served over TLS,
through a B2C authority: https://127.0.0.1:<port>/<tenant>/<policy>."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import msal
import pytest
import requests

from idp.security.devcert import write_dev_certificate
from tests.conftest import PASSWORD, LiveServer

SECRET = "confidential-secret-0123456789abcdef"
REDIRECT_URI = "https://portal.example/callback"


@pytest.fixture
def tls_server(settings, clock, tmp_path, monkeypatch):
    # requests lets these variables override a session's own `verify`; MSAL sets only that.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cert, key = write_dev_certificate(tmp_path / "tls")
    server = LiveServer(settings, clock, ssl_context=(str(cert), str(key)))
    server.cert = str(cert)
    yield server
    server.stop()


def _hidden_inputs(html: str) -> dict[str, str]:
    return {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


@pytest.mark.parametrize("tenant", ["leicsb2c.onmicrosoft.com", "tfp/leicsb2c.onmicrosoft.com"])
def test_msal_confidential_client_signs_in_over_tls(tls_server, user, tenant):
    authority = f"{tls_server.url}/{tenant}/B2C_1_signin"
    app = msal.ConfidentialClientApplication(
        "portal", client_credential=SECRET, authority=authority, verify=tls_server.cert,
        # MSAL recognises /{tenant}/B2C_1_* as B2C by itself; the /tfp/ form would send it
        # to Microsoft's instance discovery, which a self-hosted authority must switch off.
        instance_discovery=False,
    )
    flow = app.initiate_auth_code_flow(
        scopes=[], redirect_uri=REDIRECT_URI, response_mode="form_post",
    )
    browser = requests.Session()
    browser.verify = tls_server.cert
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200 and "Sign in" in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    answer = browser.post(urljoin(page.url, action), data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1),
        "step": "signin", "email": "jenny.hinsen@example.com", "password": PASSWORD,
    })
    # form_post: the page posts code, state and iss to the portal's redirect URI.
    assert f'action="{REDIRECT_URI}"' in answer.text
    auth_response = _hidden_inputs(answer.text)
    assert auth_response["iss"].startswith(tls_server.url)

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert "error" not in result, result
    assert result["id_token_claims"]["sub"] == user
    assert result["id_token_claims"]["tfp"] == "B2C_1_signin"
    assert result["id_token_claims"]["iss"] == (
        f"{tls_server.url}/7d5b7a9e-1c8b-4c8e-9a4f-0f0f2e3c9a11/B2C_1_signin/v2.0/"
    )
    assert result["access_token"] and result["refresh_token"]

    # MSAL refreshes silently through the same authority.
    account = app.get_accounts()[0]
    silent = app.acquire_token_silent_with_error(
        scopes=[], account=account, force_refresh=True
    )
    assert silent and "access_token" in silent, silent
