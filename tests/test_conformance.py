"""The OpenID Foundation's Basic OP and RP-Initiated Logout test plans, module by module,
against Gatehouse (each test is named after the module it stands for; docs/security.md
maps them). Modules another test already covers are mapped there, not repeated here."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.flows import authorize_params, exchange, get_code, pkce_pair, query_of

SIGNED_OUT = "http://127.0.0.1:8000/signed-out"


def tokens_for(client: Any, **overrides: Any) -> dict[str, Any]:
    code, _, verifier = get_code(client, **overrides)
    response = exchange(client, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.json)


def id_claims(client: Any, id_token: str) -> dict[str, Any]:
    return dict(jwt.decode(id_token, KeySet.import_key_set(client.get("/jwks").json)).claims)


def userinfo(client: Any, token: str, how: str = "get") -> Any:
    if how == "get":
        return client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    if how == "post-header":
        return client.post("/userinfo", headers={"Authorization": f"Bearer {token}"})
    return client.post("/userinfo", data={"access_token": token})


# -- Basic OP -------------------------------------------------------------------------------


def test_oidcc_server(client: Any, user: str) -> None:
    tokens = tokens_for(client)
    claims = id_claims(client, tokens["id_token"])
    assert {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce"} <= set(claims)
    assert claims["aud"] == "portal" and tokens["token_type"] == "Bearer"


def test_oidcc_response_type_missing(client: Any) -> None:
    params = authorize_params(response_type=None)
    response = client.get("/authorize?" + urlencode(params))
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] in (
        "invalid_request", "unsupported_response_type")


@pytest.mark.parametrize("how", ["get", "post-header", "post-body"])
def test_oidcc_userinfo_get_post_header_and_post_body(client: Any, user: str, how: str) -> None:
    tokens = tokens_for(client)
    answer = userinfo(client, tokens["access_token"], how)
    assert answer.status_code == 200
    assert answer.json["sub"] == id_claims(client, tokens["id_token"])["sub"]


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(client: Any, user: str) -> None:
    tokens = tokens_for(client, nonce=None)
    assert "nonce" not in id_claims(client, tokens["id_token"])


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid profile", {"name", "given_name", "family_name"}),
        ("openid email", {"email", "email_verified"}),
        ("openid address", {"address"}),
        ("openid phone", {"phone_number"}),
        ("openid profile email address phone", {"name", "email", "phone_number"}),
    ],
    ids=["scope-profile", "scope-email", "scope-address", "scope-phone", "scope-all"],
)
def test_oidcc_scope(app: Any, client: Any, user: str, scope: str, claims: set[str]) -> None:
    from idp.extensions import db
    from idp.store.models import User

    with app.app_context():
        person = db.session.query(User).one()
        person.claims = {**person.claims, "address": {"postal_code": "LE3 8RA",
                                                      "locality": "Glenfield"}}
        db.session.commit()
    tokens = tokens_for(client, scope=scope)
    answer = userinfo(client, tokens["access_token"]).json
    assert claims <= set(answer), answer


def test_oidcc_ensure_other_scope_order_succeeds(client: Any, user: str) -> None:
    tokens = tokens_for(client, scope="email openid")
    assert "email" in userinfo(client, tokens["access_token"]).json


@pytest.mark.parametrize(
    "extra",
    [
        {"display": "page"},
        {"display": "popup"},
        {"ui_locales": "se"},
        {"claims_locales": "se"},
        {"acr_values": "1 2"},
        {"claims": json.dumps({"userinfo": {"name": {"essential": True}}})},
        {"extra_parameter": "unknown"},
    ],
    ids=["display-page", "display-popup", "ui-locales", "claims-locales",
         "acr-values", "claims-essential", "unknown-parameter"],
)
def test_oidcc_optional_parameters_do_not_stop_a_sign_in(
    client: Any, user: str, extra: dict[str, str]
) -> None:
    tokens = tokens_for(client, **extra)
    assert id_claims(client, tokens["id_token"])["sub"]


def test_oidcc_prompt_none_logged_in(client: Any, user: str) -> None:
    first = id_claims(client, tokens_for(client)["id_token"])
    second = id_claims(client, tokens_for(client, prompt="none")["id_token"])
    assert second["sub"] == first["sub"] and second["auth_time"] == first["auth_time"]


def test_oidcc_max_age_10000(client: Any, user: str, clock: Any) -> None:
    first = id_claims(client, tokens_for(client)["id_token"])
    clock.advance(5)
    second = id_claims(client, tokens_for(client, max_age="10000")["id_token"])
    assert second["auth_time"] == first["auth_time"]


def test_oidcc_max_age_1(client: Any, user: str, clock: Any) -> None:
    first = id_claims(client, tokens_for(client)["id_token"])
    clock.advance(2)
    second = id_claims(client, tokens_for(client, max_age="1")["id_token"])
    assert second["auth_time"] > first["auth_time"]  # signed in again


def test_oidcc_id_token_hint(client: Any, user: str) -> None:
    tokens = tokens_for(client)
    again = tokens_for(client, prompt="none", id_token_hint=tokens["id_token"])
    hinted = id_claims(client, tokens["id_token"])["sub"]
    assert id_claims(client, again["id_token"])["sub"] == hinted


def test_oidcc_codereuse_30seconds(client: Any, user: str, clock: Any) -> None:
    code, _, verifier = get_code(client)
    tokens = exchange(client, code, verifier).json
    clock.advance(30)
    assert exchange(client, code, verifier).json["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 401


def test_oidcc_ensure_redirect_uri_in_authorization_request(client: Any) -> None:
    response = client.get("/authorize?" + urlencode(authorize_params(redirect_uri=None)))
    # The portal registered two URIs, so it must name one; nobody is redirected.
    assert response.status_code == 400


def test_oidcc_refresh_token(client: Any, user: str) -> None:
    tokens = tokens_for(client)
    refreshed = client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": "portal", "client_secret": "confidential-secret-0123456789abcdef"})
    assert refreshed.status_code == 200
    new = refreshed.json
    assert new["refresh_token"] != tokens["refresh_token"]
    assert id_claims(client, new["id_token"])["sub"] == id_claims(client, tokens["id_token"])["sub"]


def test_oidcc_unsigned_request_object_rejected_as_unsupported(client: Any) -> None:
    metadata = client.get("/.well-known/openid-configuration").json
    assert metadata.get("request_parameter_supported") is False
    unsigned = "eyJhbGciOiJub25lIn0.eyJub25jZSI6ICJ4In0."
    params = authorize_params(request=unsigned, code_challenge=pkce_pair()[1],
                              code_challenge_method="S256")
    response = client.get("/authorize?" + urlencode(params))
    assert query_of(response.headers["Location"])["error"] == "request_not_supported"


# -- RP-Initiated Logout ----------------------------------------------------------------


def signed_in(client: Any) -> dict[str, Any]:
    return tokens_for(client)


def logout(client: Any, **params: Any) -> Any:
    return client.get("/logout?" + urlencode({k: v for k, v in params.items() if v is not None}))


def still_signed_in(client: Any) -> bool:
    _, challenge = pkce_pair()
    params = authorize_params(prompt="none", code_challenge=challenge,
                              code_challenge_method="S256")
    return "code=" in client.get("/authorize?" + urlencode(params)).headers["Location"]


def test_oidcc_rp_initiated_logout(client: Any, user: str) -> None:
    tokens = signed_in(client)
    response = logout(client, id_token_hint=tokens["id_token"],
                      post_logout_redirect_uri=SIGNED_OUT, state="bye")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SIGNED_OUT}?state=bye"
    assert not still_signed_in(client)


def test_oidcc_rp_initiated_logout_no_state(client: Any, user: str) -> None:
    tokens = signed_in(client)
    response = logout(client, id_token_hint=tokens["id_token"],
                      post_logout_redirect_uri=SIGNED_OUT)
    assert response.headers["Location"] == SIGNED_OUT


def test_oidcc_rp_initiated_logout_only_state(client: Any, user: str) -> None:
    signed_in(client)
    response = logout(client, state="bye")
    assert response.status_code == 200  # no redirect without a URI
    assert not still_signed_in(client)


@pytest.mark.parametrize("hint", ["", "not-a-jwt"], ids=["no-id-token-hint", "bad-id-token-hint"])
def test_oidcc_rp_initiated_logout_without_a_good_id_token_hint_does_not_redirect(
    client: Any, user: str, hint: str
) -> None:
    signed_in(client)
    response = logout(client, id_token_hint=hint or None, post_logout_redirect_uri=SIGNED_OUT)
    assert response.status_code in (200, 400) and "Location" not in response.headers
    assert not still_signed_in(client)


def test_oidcc_rp_initiated_logout_modified_id_token_hint(client: Any, user: str) -> None:
    tokens = signed_in(client)
    header, payload, signature = tokens["id_token"].split(".")
    forged = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA"
                                                          else "BBBB")])
    response = logout(client, id_token_hint=forged, post_logout_redirect_uri=SIGNED_OUT)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(client: Any, user: str) -> None:
    tokens = signed_in(client)
    response = logout(client, id_token_hint=tokens["id_token"],
                      post_logout_redirect_uri="https://evil.example/out")
    assert "Location" not in response.headers


def test_oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(
    client: Any, user: str
) -> None:
    tokens = signed_in(client)
    response = logout(client, id_token_hint=tokens["id_token"],
                      post_logout_redirect_uri=f"{SIGNED_OUT}?extra=1")
    assert "Location" not in response.headers  # exact match only


def test_oidcc_rp_initiated_logout_no_params(client: Any, user: str) -> None:
    signed_in(client)
    response = logout(client)
    assert response.status_code == 200 and "You have signed out" in response.get_data(
        as_text=True)
    assert not still_signed_in(client)


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(client: Any, user: str) -> None:
    tokens = signed_in(client)
    response = logout(client, id_token_hint=tokens["id_token"])
    assert response.status_code == 200
    assert not still_signed_in(client)
