"""Each error path of the authorization and token endpoints answers with the RFC's code."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.flows import authorize_params, exchange, get_code, pkce_pair, query_of


def test_unregistered_redirect_uri_is_never_redirected_to(client, user):
    params = authorize_params(redirect_uri="https://evil.example/callback")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert 'href="https://evil.example' not in response.get_data(as_text=True)


def test_redirect_uri_must_match_exactly(client, user):
    params = authorize_params(redirect_uri="http://127.0.0.1:8000/callback/extra")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_unknown_client_gets_a_page_not_a_redirect(client):
    response = client.get(f"/authorize?{urlencode(authorize_params(client_id='nobody'))}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_missing_code_verifier_is_invalid_grant(client, user):
    code, _, _ = get_code(client)
    response = exchange(client, code, None)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_wrong_code_verifier_is_invalid_grant(client, user):
    code, _, _ = get_code(client)
    other_verifier, _ = pkce_pair()
    response = exchange(client, code, other_verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_code_verifier_without_a_challenge_is_refused(client, user):
    code, _, _ = get_code(client, code_challenge=None, code_challenge_method=None)
    verifier, _ = pkce_pair()
    response = exchange(client, code, verifier)
    assert response.status_code == 400


def test_confidential_client_may_skip_pkce(client, user):
    code, _, _ = get_code(client, code_challenge=None, code_challenge_method=None)
    assert exchange(client, code, None).status_code == 200


def test_public_client_must_send_a_challenge(client, user):
    params = authorize_params(client_id="spa", redirect_uri="http://127.0.0.1:8000/spa")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["error"] == "invalid_request" and query["state"] == "state-123"
    assert query["iss"] == "http://127.0.0.1:5000"


def test_plain_pkce_is_refused(client, user):
    params = authorize_params(code_challenge="x" * 43, code_challenge_method="plain")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


def test_public_client_exchanges_its_code_with_a_verifier(client, user):
    code, _, verifier = get_code(client, client_id="spa",
                                 redirect_uri="http://127.0.0.1:8000/spa")
    response = exchange(client, code, verifier, client_id="spa", client_secret=None,
                        redirect_uri="http://127.0.0.1:8000/spa")
    assert response.status_code == 200, response.get_json()


def test_reused_code_is_refused_and_revokes_its_tokens(client, user):
    code, _, verifier = get_code(client)
    first = exchange(client, code, verifier).get_json()
    second = exchange(client, code, verifier)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert userinfo.status_code == 401
    refreshed = client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": "portal", "client_secret": "confidential-secret-0123456789abcdef"})
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_expired_code_is_refused(client, user, clock):
    code, _, verifier = get_code(client)
    clock.advance(seconds=601)
    response = exchange(client, code, verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_redirect_uri(client, user):
    code, _, verifier = get_code(client)
    response = exchange(client, code, verifier, redirect_uri="https://portal.example/callback")
    assert response.get_json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client_401(client, user):
    code, _, verifier = get_code(client)
    response = exchange(client, code, verifier, client_secret="wrong")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_wrong_basic_credentials_are_invalid_client_401(client):
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           auth=("machine", "wrong"))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("header", [
    "Basic \u00e9t\u00e9",          # not ASCII: base64 cannot even start
    "Basic " + "//79",                # decodes to bytes that are not UTF-8
    " Basic",                         # a space, but nothing after the scheme
])
@pytest.mark.parametrize(("path", "data"), [
    ("/token", {"grant_type": "client_credentials"}),
    ("/introspect", {"token": "x"}),
    ("/revoke", {"token": "x"}),
])
def test_malformed_basic_credentials_are_invalid_client_401(client, header, path, data):
    # Found by the protocol fuzzer: authlib's Basic parser raised on these (a 500).
    response = client.post(path, data=data, headers={"Authorization": header})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_token_responses_are_never_cached(client, user):
    code, _, verifier = get_code(client)
    response = exchange(client, code, verifier)
    assert response.headers["Cache-Control"] == "no-store"
    assert exchange(client, "nonsense", verifier).headers["Cache-Control"] == "no-store"


def test_unknown_grant_type_is_unsupported_grant_type(client):
    response = client.post("/token", data={"grant_type": "password"}, auth=("machine", "x"))
    assert response.get_json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(("parameter", "error"), [
    ("request", "request_not_supported"),
    ("request_uri", "request_uri_not_supported"),
])
def test_request_objects_are_answered_not_supported(client, user, parameter, error):
    _, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256",
                              **{parameter: "eyJhbGciOiJub25lIn0.e30."})
    response = client.get(f"/authorize?{urlencode(params)}")
    assert query_of(response.headers["Location"])["error"] == error


def test_response_type_other_than_code_is_unsupported(client, user):
    params = authorize_params(response_type="id_token token")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert query_of(response.headers["Location"])["error"] == "unsupported_response_type"


def test_unknown_parameters_are_ignored(client, user):
    code, _, verifier = get_code(client, x_portal_theme="dark", client_info="1")
    assert exchange(client, code, verifier).status_code == 200


def test_prompt_none_without_a_session_is_login_required(client, user):
    _, challenge = pkce_pair()
    params = authorize_params(prompt="none", code_challenge=challenge,
                              code_challenge_method="S256")
    response = client.get(f"/authorize?{urlencode(params)}")
    query = query_of(response.headers["Location"])
    assert query["error"] == "login_required" and query["state"] == "state-123"


def test_signed_in_browser_gets_a_code_without_a_page(client, user):
    get_code(client)
    code, _, verifier = get_code(client, prompt="none")
    assert exchange(client, code, verifier).status_code == 200


def test_prompt_login_shows_the_sign_in_page_again(client, user):
    get_code(client)
    _, challenge = pkce_pair()
    params = authorize_params(prompt="login", code_challenge=challenge,
                              code_challenge_method="S256")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert "/journey/" in response.headers["Location"]


def test_max_age_forces_a_fresh_sign_in(client, user, clock):
    get_code(client)
    clock.advance(seconds=120)
    _, challenge = pkce_pair()
    params = authorize_params(max_age="60", prompt="none", code_challenge=challenge,
                              code_challenge_method="S256")
    response = client.get(f"/authorize?{urlencode(params)}")
    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_login_hint_fills_in_the_email(client, user):
    params = authorize_params(login_hint="jenny.hinsen@example.com",
                              code_challenge=pkce_pair()[1], code_challenge_method="S256")
    journey = client.get(f"/authorize?{urlencode(params)}").headers["Location"]
    assert 'value="jenny.hinsen@example.com"' in client.get(journey).get_data(as_text=True)


def test_wrong_password_does_not_say_which_was_wrong(client, user):
    from tests.flows import sign_in

    params = authorize_params(code_challenge=pkce_pair()[1], code_challenge_method="S256")
    journey = client.get(f"/authorize?{urlencode(params)}").headers["Location"]
    wrong_password = sign_in(client, journey, "jenny.hinsen@example.com", "Wrong-password-1")
    no_account = sign_in(client, journey, "nobody@example.com", "Wrong-password-1")
    assert wrong_password.status_code == no_account.status_code == 200
    message = "Enter the email address and password for your account"
    assert message in wrong_password.get_data(as_text=True)
    assert message in no_account.get_data(as_text=True)
    assert "There is a problem" in no_account.get_data(as_text=True)


def test_client_not_registered_for_the_policy_is_refused(client, user):
    params = authorize_params(client_id="basic-portal", code_challenge=pkce_pair()[1],
                              code_challenge_method="S256")
    path = "/leicsb2c.onmicrosoft.com/B2C_1_parent_signup_signin/oauth2/v2.0/authorize"
    response = client.get(f"{path}?{urlencode(params)}")
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


def test_form_post_response_mode_posts_the_code(client, user):
    get_code(client)  # signed in
    params = authorize_params(response_mode="form_post", code_challenge=pkce_pair()[1],
                              code_challenge_method="S256")
    response = client.get(f"/authorize?{urlencode(params)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'action="http://127.0.0.1:8000/callback"' in html
    assert 'name="code"' in html and 'name="iss"' in html and 'name="state"' in html
    assert "<script>" not in html.replace(" nonce=", "")  # no inline script beyond the nonce'd one
