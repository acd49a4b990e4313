"""A relying party built on authlib's OAuth2Session (a client we did not write) signs in."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import PASSWORD
from tests.flows import REDIRECT_URI

SECRET = "confidential-secret-0123456789abcdef"


def _browser_sign_in(browser: requests.Session, authorization_url: str) -> str:
    """Follow the authorization URL like a browser, fill in the sign-in page, return the
    redirect back to the portal."""
    page = browser.get(authorization_url, allow_redirects=True)
    assert page.status_code == 200
    assert "Email address" in page.text and "Password" in page.text and "Sign in" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    step = re.search(r'name="step" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    answer = browser.post(
        urljoin(page.url, action),
        data={"csrf_token": token, "step": step, "email": "jenny.hinsen@example.com",
              "password": PASSWORD},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def _run_flow(live_server, authority: str, nonce: str = "n-0S6_WzA2Mj"):
    metadata = requests.get(f"{authority}/.well-known/openid-configuration", timeout=5).json()
    issuer = metadata["issuer"]
    assert requests.get(
        issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=5
    ).json() == metadata, "issuer + /.well-known/openid-configuration is the same document"
    rp = OAuth2Session(
        "portal", SECRET, scope="openid profile email offline_access",
        redirect_uri=REDIRECT_URI, token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
    )
    verifier = "v" * 20 + "erifier-of-sufficient-length-0123456789"
    url, _state = rp.create_authorization_url(
        metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier,
    )
    assert "code_challenge=" + create_s256_code_challenge(verifier) in url
    browser = requests.Session()
    callback = _browser_sign_in(browser, url)
    assert callback.startswith(REDIRECT_URI)
    # RFC 9207: the response names its issuer, and the client can check it.
    assert f"iss={requests.utils.quote(issuer, safe='')}" in callback
    token = rp.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier,
    )
    return metadata, rp, token, browser


def _verify_id_token(metadata, token, nonce="n-0S6_WzA2Mj"):
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    decoded = jwt.decode(token["id_token"], keys)
    claims = CodeIDToken(decoded.claims, decoded.header, {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": "portal"},
        "nonce": {"value": nonce},
    }, {"access_token": token["access_token"]})
    claims.validate(leeway=10 ** 9)  # the suite's clock is frozen in the past
    return claims


def test_authlib_client_signs_in_through_the_plain_authority(live_server, user):
    metadata, _rp, token, _ = _run_flow(live_server, live_server.url)
    claims = _verify_id_token(metadata, token)
    assert claims["sub"] == user and claims["oid"] == user
    assert claims["amr"] == ["pwd"] and claims["tfp"] == "B2C_1_signin"
    assert claims["emails"] == ["jenny.hinsen@example.com"]
    assert claims["given_name"] == "Jenny" and claims["family_name"] == "Hinsen"
    assert "auth_time" in claims and "sid" in claims


def test_authlib_client_signs_in_through_a_b2c_shaped_authority(live_server, user):
    authority = f"{live_server.url}/leicsb2c.onmicrosoft.com/B2C_1_signin/v2.0"
    metadata, _rp, token, _ = _run_flow(live_server, authority)
    expected_issuer = (
        f"{live_server.url}/7d5b7a9e-1c8b-4c8e-9a4f-0f0f2e3c9a11/B2C_1_signin/v2.0/"
    )
    assert metadata["issuer"] == expected_issuer
    claims = _verify_id_token(metadata, token)
    assert claims["iss"] == expected_issuer


def test_userinfo_refresh_revoke_and_logout_with_a_real_client(live_server, user):
    metadata, rp, token, browser = _run_flow(live_server, live_server.url)

    info = rp.get(metadata["userinfo_endpoint"]).json()
    assert info["sub"] == user and info["email"] == "jenny.hinsen@example.com"
    # RFC 6750 §2.2: the token may also come in a form body.
    posted = requests.post(metadata["userinfo_endpoint"],
                           data={"access_token": token["access_token"]}, timeout=5)
    assert posted.json()["sub"] == user

    old_refresh = token["refresh_token"]
    new = rp.refresh_token(metadata["token_endpoint"], refresh_token=old_refresh)
    assert new["refresh_token"] != old_refresh
    _verify_id_token(metadata, new, nonce=None)
    reused = requests.post(metadata["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": old_refresh,
        "client_id": "portal", "client_secret": SECRET}, timeout=5)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # Reuse revoked the whole family, the new tokens included (RFC 9700 §4.14.2).
    assert rp.get(metadata["userinfo_endpoint"],
                  headers={"Authorization": f"Bearer {new['access_token']}"}).status_code == 401

    metadata, rp, token, browser = _run_flow(live_server, live_server.url, nonce="second")
    revoked = rp.revoke_token(metadata["revocation_endpoint"], token["refresh_token"],
                              token_type_hint="refresh_token")
    assert revoked.status_code == 200
    assert requests.get(metadata["userinfo_endpoint"], timeout=5, headers={
        "Authorization": f"Bearer {token['access_token']}"}).status_code == 401

    logout = browser.get(metadata["end_session_endpoint"], params={
        "id_token_hint": token["id_token"],
        "post_logout_redirect_uri": "http://127.0.0.1:8000/signed-out",
        "state": "bye",
    }, allow_redirects=False)
    assert logout.status_code == 302
    assert logout.headers["Location"] == "http://127.0.0.1:8000/signed-out?state=bye"
    # The browser's session is over: prompt=none now answers login_required.
    again = browser.get(metadata["authorization_endpoint"], params={
        "response_type": "code", "client_id": "portal", "redirect_uri": REDIRECT_URI,
        "scope": "openid", "prompt": "none", "state": "s",
        "code_challenge": create_s256_code_challenge("x" * 43),
        "code_challenge_method": "S256"}, allow_redirects=False)
    assert "error=login_required" in again.headers["Location"]
