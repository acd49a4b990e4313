"""Properties over the protocol endpoints' parameter space and the policy loader, checked
with hypothesis for a bounded number of examples: never a 500, always the RFC's error,
never a redirect to a URI the client did not register; a wrong policy is always a
PolicyError naming the problem, never a crash."""

from __future__ import annotations

import tomllib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.journeys.policy import PolicyError, parse_policy

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REGISTERED = {
    "portal": ["http://127.0.0.1:8000/callback", "https://portal.example/callback"],
    "spa": None,  # filled from the app's client files in the test
}
# RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6, OAuth 2.0 Multiple Response Types, and
# RFC 9207's companions: the only error codes a client may be sent.
AUTHORIZE_ERRORS = {
    "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
    "invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
    "login_required", "account_selection_required", "consent_required",
    "invalid_request_uri", "invalid_request_object", "request_not_supported",
    "request_uri_not_supported", "registration_not_supported",
}
TOKEN_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                "unsupported_grant_type", "invalid_scope"}

junk = st.text(max_size=40)
maybe = st.one_of(st.none(), junk)
#: What can travel in an HTTP header at all (no line breaks; Latin-1).
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60
)


def choice(*values: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(values), junk)


AUTHORIZE_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "response_type": choice("code", "token", "id_token", "code id_token", ""),
        "client_id": choice("portal", "spa", "basic-portal", "machine", "nobody"),
        "redirect_uri": choice(
            "http://127.0.0.1:8000/callback", "https://portal.example/callback",
            "https://evil.example/callback", "http://127.0.0.1:8000/callback/../x",
            "http://127.0.0.1:8000/callback?x=1", "http://127.0.0.1:8000/callback#f",
        ),
        "scope": choice("openid", "openid profile email offline_access", "profile",
                        "openid gatehouse.admin", "openid nonsense"),
        "state": maybe,
        "nonce": maybe,
        "code_challenge": choice("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "short"),
        "code_challenge_method": choice("S256", "plain", "S512"),
        "prompt": choice("none", "login", "consent", "select_account", "none login"),
        "max_age": choice("0", "60", "-1", "1e9", "x"),
        "response_mode": choice("query", "fragment", "form_post", "web_message"),
        "request": choice("eyJhbGciOiJub25lIn0.e30."),
        "request_uri": choice("https://evil.example/request"),
        "id_token_hint": choice("not-a-jwt", "a.b.c"),
        "login_hint": maybe,
        "p": choice("B2C_1_signin", "B2C_1_nonsense", "b2c_1_SIGNIN"),
    },
)


def registered_uris(app: Any) -> dict[str, list[str]]:
    from idp.extensions import db
    from idp.store.models import Client

    with app.app_context():
        return {c.client_id: list(c.metadata_.get("redirect_uris", []))
                for c in db.session.query(Client).all()}


@EXAMPLES
@given(params=AUTHORIZE_PARAMS)
def test_authorize_never_fails_and_never_redirects_anywhere_unregistered(
    app: Any, client: Any, params: dict[str, str | None]
) -> None:
    query = {k: v for k, v in params.items() if v is not None}
    response = client.get("/authorize?" + urlencode(query))
    assert response.status_code != 500
    assert response.status_code in (200, 302, 303, 400, 404), response.status_code
    if response.status_code in (302, 303):
        location = response.headers["Location"]
        if location.startswith("/journey/"):
            return
        target = location.split("?")[0].split("#")[0]
        allowed = registered_uris(app).get(str(query.get("client_id")), [])
        assert target in allowed, location
        answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if "error" in answer:
            assert answer["error"] in AUTHORIZE_ERRORS
            assert answer.get("state") == query.get("state") or "state" not in query


TOKEN_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "grant_type": choice("authorization_code", "refresh_token", "client_credentials",
                             "password", "implicit", ""),
        "code": maybe,
        "redirect_uri": choice("http://127.0.0.1:8000/callback", "https://evil.example/cb"),
        "client_id": choice("portal", "spa", "machine", "nobody"),
        "client_secret": choice("confidential-secret-0123456789abcdef", "wrong"),
        "code_verifier": maybe,
        "refresh_token": maybe,
        "scope": choice("openid", "gatehouse.admin", "openid offline_access"),
        "client_assertion_type": choice(
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        "client_assertion": choice("a.b.c"),
    },
)


@EXAMPLES
@given(params=TOKEN_PARAMS,
       basic=st.one_of(st.none(), header_text, st.just("Basic bWFjaGluZTp4"),
                       st.builds(lambda t: f"Basic {t}", header_text)))
def test_the_token_endpoint_always_answers_with_an_rfc_error_or_tokens(
    client: Any, params: dict[str, str | None], basic: str | None
) -> None:
    headers = {"Authorization": basic} if basic is not None else {}
    data = {k: v for k, v in params.items() if v is not None}
    response = client.post("/token", data=data, headers=headers)
    assert response.status_code in (200, 400, 401), response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    if response.status_code != 200:
        assert response.json["error"] in TOKEN_ERRORS


@EXAMPLES
@given(header=st.one_of(st.none(), header_text,
                        st.builds(lambda t: f"Bearer {t}", header_text)),
       method=st.sampled_from(["GET", "POST"]))
def test_userinfo_refuses_anything_but_a_live_access_token(
    client: Any, header: str | None, method: str
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = client.open("/userinfo", method=method, headers=headers)
    assert response.status_code in (400, 401), response.status_code
    assert "WWW-Authenticate" in response.headers or response.status_code == 400


LOGOUT_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "id_token_hint": choice("not-a-jwt", "a.b.c"),
        "post_logout_redirect_uri": choice("http://127.0.0.1:8000/signed-out",
                                           "https://evil.example/out"),
        "client_id": choice("portal", "nobody"),
        "state": maybe,
        "ui_locales": maybe,
    },
)


@EXAMPLES
@given(params=LOGOUT_PARAMS)
def test_logout_never_fails_and_never_redirects_anywhere_unregistered(
    client: Any, params: dict[str, str | None]
) -> None:
    query = {k: v for k, v in params.items() if v is not None}
    response = client.get("/logout?" + urlencode(query))
    assert response.status_code in (200, 302, 303, 400), response.status_code
    if response.status_code in (302, 303):
        target = response.headers["Location"].split("?")[0]
        assert target == "http://127.0.0.1:8000/signed-out"


# -- the policy loader ----------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.text(max_size=12),
                    st.lists(st.text(max_size=8), max_size=3))
step_types = st.sampled_from(["signin_page", "mfa", "verify_email_code", "collect_claims",
                              "new_password", "nonsense", ""])
steps = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=8), st.sampled_from(["signin", "mfa", "a-b"])),
            "order": st.one_of(st.integers(-1, 1000), st.text(max_size=3), st.booleans()),
            "type": step_types,
            "settings": st.dictionaries(st.sampled_from(["heading", "methods", "sign_up",
                                                         "code_lifetime", "x"]), scalars,
                                        max_size=3),
            "skip_if": st.one_of(scalars, st.lists(st.sampled_from(
                ["signed_in", "not:signed_in", "chose:sign_up", "route:google", "bogus:x",
                 "claim_equals:a=b", ""]), max_size=3)),
            "extra": scalars,
        },
    ),
    max_size=4,
)
policies = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=10), st.just("B2C_1_fuzz")),
        "display_name": scalars,
        "steps": st.one_of(steps, scalars),
        "tokens": st.one_of(scalars, st.dictionaries(st.sampled_from(
            ["id_token_lifetime", "bogus"]), scalars, max_size=2)),
        "claims": scalars,
        "session": st.one_of(scalars, st.dictionaries(st.sampled_from(
            ["single_sign_on", "lifetime", "idle_timeout", "keep_me_signed_in", "x"]),
            scalars, max_size=3)),
        "password": st.one_of(scalars, st.dictionaries(st.sampled_from(
            ["min_length", "max_length", "x"]), scalars, max_size=2)),
    },
)


@settings(max_examples=300, deadline=None, database=None)
@given(data=policies)
def test_the_policy_loader_refuses_with_a_message_and_never_crashes(data: dict[str, Any]) -> None:
    try:
        parse_policy(data, "policies/fuzz.toml")
    except PolicyError as error:
        assert str(error).startswith("policies/fuzz.toml"), str(error)


def test_the_loader_property_sees_real_policies() -> None:
    """The property above is not vacuous: a real policy file parses."""
    from idp.config import PROJECT_ROOT

    with (PROJECT_ROOT / "policies" / "B2C_1_signin.toml").open("rb") as handle:
        assert parse_policy(tomllib.load(handle), "B2C_1_signin.toml").id == "B2C_1_signin"

