"""Discovery, JWKS and B2C's URL shapes: every document names the issuer its tokens carry."""

from __future__ import annotations

import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata

TENANT = "leicsb2c.onmicrosoft.com"
TENANT_ID = "7d5b7a9e-1c8b-4c8e-9a4f-0f0f2e3c9a11"
POLICY_ISSUER = f"http://127.0.0.1:5000/{TENANT_ID}/B2C_1_signin/v2.0/"


@pytest.mark.parametrize(("path", "issuer"), [
    ("/.well-known/openid-configuration", "http://127.0.0.1:5000"),
    ("/.well-known/oauth-authorization-server", "http://127.0.0.1:5000"),
    (f"/{TENANT}/B2C_1_signin/v2.0/.well-known/openid-configuration", POLICY_ISSUER),
    (f"/{TENANT_ID}/B2C_1_signin/v2.0/.well-known/openid-configuration", POLICY_ISSUER),
    (f"/tfp/{TENANT}/B2C_1_signin/v2.0/.well-known/openid-configuration", POLICY_ISSUER),
    (f"/{TENANT}/b2c_1_SIGNIN/v2.0/.well-known/openid-configuration", POLICY_ISSUER),
    (f"/{TENANT}/v2.0/.well-known/openid-configuration?p=B2C_1_signin", POLICY_ISSUER),
])
def test_every_discovery_document_is_valid_and_names_its_issuer(client, path, issuer):
    doc = client.get(path).get_json()
    OpenIDProviderMetadata(doc).validate()
    assert doc["issuer"] == issuer
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["response_types_supported"] == ["code"]
    # OIDC Discovery §4: issuer + /.well-known/openid-configuration is this same document.
    own = issuer.removeprefix("http://127.0.0.1:5000").rstrip("/")
    assert client.get(f"{own}/.well-known/openid-configuration").get_json() == doc


def test_b2c_endpoints_are_under_the_policy(client):
    doc = client.get(f"/{TENANT}/B2C_1_signin/v2.0/.well-known/openid-configuration").get_json()
    base = f"http://127.0.0.1:5000/{TENANT}/B2C_1_signin"
    assert doc["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert doc["end_session_endpoint"] == f"{base}/oauth2/v2.0/logout"
    assert doc["jwks_uri"] == f"{base}/discovery/v2.0/keys"


@pytest.mark.parametrize("path", [
    "/nottenant.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration",
    f"/{TENANT}/B2C_1_nosuchpolicy/v2.0/.well-known/openid-configuration",
    f"/{TENANT}/B2C_1_nosuchpolicy/discovery/v2.0/keys",
])
def test_unknown_tenants_and_policies_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_jwks_publishes_public_keys_only(client):
    keys = client.get(f"/{TENANT}/B2C_1_signin/discovery/v2.0/keys").get_json()["keys"]
    assert keys and all(k["use"] == "sig" and "d" not in k and k["kid"] for k in keys)
    assert keys == client.get("/jwks").get_json()["keys"]


def test_codes_through_b2c_urls_carry_the_policy_issuer(client, user):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.flows import exchange, get_code

    base = f"/{TENANT}/B2C_1_signin"
    code, _, verifier = get_code(client, path=f"{base}/oauth2/v2.0/authorize")
    body = exchange(client, code, verifier, path=f"{base}/oauth2/v2.0/token").get_json()
    keys = KeySet.import_key_set(client.get(f"{base}/discovery/v2.0/keys").get_json())
    claims = jwt.decode(body["id_token"], keys).claims
    assert claims["iss"] == f"http://127.0.0.1:5000/{TENANT_ID}/B2C_1_signin/v2.0/"
    assert claims["tfp"] == "B2C_1_signin"
    access = jwt.decode(body["access_token"], keys)
    assert access.header["typ"] == "at+jwt" and access.claims["iss"] == claims["iss"]


def test_the_p_query_form_runs_the_named_policy(client, user):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.flows import exchange, get_code

    code, _, verifier = get_code(client, path=f"/{TENANT}/oauth2/v2.0/authorize",
                                 p="B2C_1_signin")
    body = exchange(client, code, verifier).get_json()
    claims = jwt.decode(body["id_token"], KeySet.import_key_set(client.get("/jwks").get_json()))
    assert claims.claims["tfp"] == "B2C_1_signin"


def test_client_credentials_issues_a_jwt_access_token(client):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    response = client.post("/token", data={"grant_type": "client_credentials"},
                           auth=("machine", "machine-secret-0123456789abcdef"))
    body = response.get_json()
    assert response.status_code == 200 and "refresh_token" not in body
    token = jwt.decode(body["access_token"], KeySet.import_key_set(client.get("/jwks").get_json()))
    assert token.claims["sub"] == "machine" and token.claims["client_id"] == "machine"


def test_introspection_answers_for_the_clients_own_tokens_only(client, user):
    from tests.flows import exchange, get_code

    code, _, verifier = get_code(client)
    body = exchange(client, code, verifier).get_json()
    own = client.post("/introspect", data={
        "token": body["access_token"], "client_id": "portal",
        "client_secret": "confidential-secret-0123456789abcdef"}).get_json()
    assert own["active"] is True and own["sub"] == user and own["client_id"] == "portal"
    other = client.post("/introspect", data={"token": body["access_token"]},
                        auth=("basic-portal", "basic-secret-0123456789abcdef")).get_json()
    assert other == {"active": False}
    no_auth = client.post("/introspect", data={"token": body["access_token"]})
    assert no_auth.status_code == 401


def test_userinfo_needs_a_valid_bearer_token(client):
    response = client.get("/userinfo")
    assert response.status_code == 401
    bad = client.get("/userinfo", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and bad.get_json()["error"] == "invalid_token"


def test_pages_carry_strict_security_headers(client, user):
    from urllib.parse import urlencode

    from tests.flows import authorize_params, pkce_pair

    params = authorize_params(code_challenge=pkce_pair()[1], code_challenge_method="S256")
    journey = client.get(f"/authorize?{urlencode(params)}").headers["Location"]
    page = client.get(journey)
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    # No inline script at all: not even a nonce lets one in, and the page has none.
    assert "script-src 'self';" in csp and "nonce-" not in csp
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "<script nonce" not in html
    assert all('src="' in tag for tag in html.split("<script")[1:])
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    cookie = page.headers.get("Set-Cookie", "") or client.get_cookie("gatehouse_session")
    assert cookie
