"""The upstream side of federation: Federation against real providers on loopback.

A small Flask app stands in for the downstream Gatehouse: ``/federation/<name>/start``
calls ``begin`` and ``/federation/<name>/callback`` answers ``finish`` as JSON. The person's
browser is a Flask test client at the downstream and a ``requests`` session (through
``Visitor``) at the upstream sign-in page, so the two sites keep separate cookies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask, jsonify

from idp.config import ConfigError, load_settings
from idp.federation import (
    MICROSOFT_CONSUMER_TENANT,
    Federation,
    FederationFailure,
    UpstreamIdentity,
)
from idp.federation.identity import identity_from_graph, identity_from_id_token
from tests import upstreams
from tests.conftest import PASSWORD
from tests.pages import Visitor
from tests.upstreams import (
    DOWNSTREAM,
    EMAIL,
    ROLES,
    FakeFacebook,
    IssuerProxy,
    UpstreamGatehouse,
    callback_url,
)

# The loopback providers' fixtures, used by this module's tests.
make_upstream = upstreams.make_upstream
upstream = upstreams.upstream
facebook = upstreams.facebook

OTHER_TENANT = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
SECRETS = {
    "IDP_GOOGLE_CLIENT_SECRET": ROLES["google"][1],
    "IDP_MICROSOFT_CLIENT_SECRET": ROLES["microsoft"][1],
    "IDP_OIDC_CLIENT_SECRET": ROLES["oidc"][1],
    "IDP_FACEBOOK_CLIENT_SECRET": "facebook-app-secret-0123456789",
}


def downstream(overrides: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    """A Flask app with Federation on it; returns its test client (the downstream browser)."""
    app = Flask("downstream")
    app.secret_key = "downstream-test-key"
    settings = load_settings(overrides=overrides, environ={})
    federation = Federation.from_settings(app, settings, SECRETS if environ is None else environ)

    def failed(failure: FederationFailure) -> Any:
        return jsonify(reason=failure.reason, message=failure.message,
                       detail=failure.detail), 400

    @app.get("/federation/<name>/start")
    def start(name: str) -> Any:
        try:
            return federation.begin(name, callback_url(name))
        except FederationFailure as failure:
            return failed(failure)

    @app.get("/federation/<name>/callback")
    def callback(name: str) -> Any:
        try:
            identity = federation.finish(name, keep_tokens=app.config.get("KEEP_TOKENS", False))
        except FederationFailure as failure:
            return failed(failure)
        answer = asdict(identity)
        answer["tokens"] = sorted(identity.tokens) if identity.tokens else None
        answer["repr"] = repr(identity)
        return jsonify(answer)

    return app.test_client()


def google_at(discovery_url: str) -> dict[str, Any]:
    return {"federation.google.client_id": ROLES["google"][0],
            "federation.google.discovery_url": discovery_url}


def microsoft_at(discovery_template: str, tenant: str) -> dict[str, Any]:
    return {"federation.microsoft.client_id": ROLES["microsoft"][0],
            "federation.microsoft.discovery_url": discovery_template,
            "federation.microsoft.tenant": tenant}


def facebook_at(fake: FakeFacebook) -> dict[str, Any]:
    return {"federation.facebook.client_id": fake.app_id,
            "federation.facebook.authorize_url": fake.authorize_url,
            "federation.facebook.token_url": fake.token_url,
            "federation.facebook.graph_url": fake.graph_url}


def leave_for(browser: Any, name: str) -> str:
    """Press the provider's button: the downstream sends the browser to the provider."""
    start = browser.get(f"/federation/{name}/start")
    assert start.status_code == 302, start.get_json()
    return str(start.headers["Location"])


def sign_in_upstream(authorization_url: str) -> str:
    """At the upstream Gatehouse: sign in as the person; return the way back."""
    parts = urlsplit(authorization_url)
    visitor = Visitor(requests.Session(), base_url=f"{parts.scheme}://{parts.netloc}")
    visitor.open(authorization_url)
    visitor.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert visitor.url.startswith(DOWNSTREAM), visitor.text
    return visitor.url


def come_back(browser: Any, url: str) -> Any:
    parts = urlsplit(url)
    return browser.get(f"{parts.path}?{parts.query}")


def sign_in_with(browser: Any, name: str) -> Any:
    return come_back(browser, sign_in_upstream(leave_for(browser, name)))


def refused(answer: Any, reason: str) -> dict[str, Any]:
    body = answer.get_json()
    assert answer.status_code == 400, body
    assert body["reason"] == reason, body
    return dict(body)


# -- signing in -------------------------------------------------------------------------

def test_google_sign_in_names_the_upstream_account(upstream: UpstreamGatehouse) -> None:
    browser = downstream(google_at(upstream.discovery_url))
    authorization_url = leave_for(browser, "google")
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["scope"] == ["openid email profile"]
    assert query["nonce"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [callback_url("google")]

    identity = come_back(browser, sign_in_upstream(authorization_url)).get_json()

    assert identity["provider"] == "google"
    assert identity["issuer"] == upstream.issuer
    assert identity["subject"] == upstream.user
    assert identity["idp"] == "google.com"
    assert identity["email"] == EMAIL and identity["email_verified"] is True
    assert (identity["given_name"], identity["family_name"]) == ("Jenny", "Hinsen")
    assert identity["tokens"] is None


def test_upstream_tokens_are_kept_only_when_asked(upstream: UpstreamGatehouse) -> None:
    browser = downstream(google_at(upstream.discovery_url))
    browser.application.config["KEEP_TOKENS"] = True
    identity = sign_in_with(browser, "google").get_json()
    assert {"access_token", "id_token"} <= set(identity["tokens"])
    assert "userinfo" not in identity["tokens"]
    assert "token" not in identity["repr"].lower()


def test_a_generic_openid_provider_is_named_by_its_issuer(upstream: UpstreamGatehouse) -> None:
    browser = downstream({"federation.oidc.name": "Council Staff",
                          "federation.oidc.client_id": ROLES["oidc"][0],
                          "federation.oidc.discovery_url": upstream.discovery_url})
    identity = sign_in_with(browser, "oidc").get_json()
    assert identity["provider"] == "oidc" and identity["idp"] == upstream.issuer
    assert identity["subject"] == upstream.user


def test_microsoft_single_tenant_checks_the_plain_issuer(upstream: UpstreamGatehouse) -> None:
    browser = downstream(microsoft_at(upstream.discovery_template(), upstream.tenant_id))
    identity = sign_in_with(browser, "microsoft").get_json()
    assert identity["issuer"] == upstream.issuer and identity["idp"] == upstream.issuer
    assert identity["subject"] == upstream.user  # Gatehouse's oid is its sub


def test_microsoft_common_accepts_a_token_from_the_tenant_it_names(
    upstream: UpstreamGatehouse,
) -> None:
    with IssuerProxy(upstream, tenant_template=True) as proxy:
        browser = downstream(microsoft_at(proxy.discovery_url(), "common"))
        authorization_url = leave_for(browser, "microsoft")
        assert proxy.requests[0]["path"] == (
            "/common/B2C_1_signin/v2.0/.well-known/openid-configuration"
        )
        identity = come_back(browser, sign_in_upstream(authorization_url)).get_json()
    assert identity["issuer"] == upstream.issuer  # the tenant's own issuer, not the template
    assert identity["idp"] == upstream.issuer


@pytest.mark.parametrize("tid", [OTHER_TENANT, None], ids=["another tenant", "no tid"])
def test_microsoft_common_refuses_a_token_whose_issuer_is_not_its_tenants(
    upstream: UpstreamGatehouse, tid: str | None
) -> None:
    with IssuerProxy(upstream, tenant_template=True) as proxy:
        proxy.rewrite_claims(tid=tid)  # signed with a key the proxy publishes: only iss fails
        browser = downstream(microsoft_at(proxy.discovery_url(), "common"))
        body = refused(sign_in_with(browser, "microsoft"), "token")
    assert body["message"] == (
        "Microsoft could not confirm who you are. Try again, or sign in another way."
    )


def test_a_microsoft_personal_account_is_live_com(
    make_upstream: Callable[..., UpstreamGatehouse],
) -> None:
    consumers = make_upstream(tenant_id=MICROSOFT_CONSUMER_TENANT)
    with IssuerProxy(consumers, tenant_template=True) as proxy:
        browser = downstream(microsoft_at(proxy.discovery_url(), "common"))
        identity = sign_in_with(browser, "microsoft").get_json()
    assert identity["idp"] == "live.com"
    assert identity["issuer"] == consumers.issuer


def test_facebook_sign_in_asks_graph_with_the_access_token(facebook: FakeFacebook) -> None:
    browser = downstream(facebook_at(facebook))
    dialog = leave_for(browser, "facebook")
    assert parse_qs(urlsplit(dialog).query)["scope"] == ["email public_profile"]
    back = requests.get(dialog, allow_redirects=False, timeout=5).headers["Location"]

    identity = come_back(browser, back).get_json()

    assert identity == {
        **identity, "provider": "facebook", "issuer": "facebook.com",
        "subject": "10158123456789012", "idp": "facebook.com", "email": EMAIL,
        "email_verified": True, "given_name": "Jenny", "family_name": "Hinsen",
    }
    (graph,) = facebook.graph_calls()
    assert graph["headers"]["authorization"].removeprefix("Bearer ") in facebook.tokens
    fields = parse_qs(urlsplit(graph["path"]).query)["fields"]
    assert fields == ["id,name,first_name,last_name,email"]


# -- failures -------------------------------------------------------------------------------

def test_cancelling_at_facebook_is_cancelled(facebook: FakeFacebook) -> None:
    browser = downstream(facebook_at(facebook))
    dialog = leave_for(browser, "facebook")
    facebook.deny_next()
    back = requests.get(dialog, allow_redirects=False, timeout=5).headers["Location"]
    body = refused(come_back(browser, back), "cancelled")
    assert body["message"] == "You cancelled signing in with Facebook. Choose how to sign in."
    assert "access_denied" in body["detail"]
    assert facebook.graph_calls() == []


def test_any_error_answer_ends_the_sign_in_and_spends_its_state(
    upstream: UpstreamGatehouse,
) -> None:
    browser = downstream(google_at(upstream.discovery_url))
    state = parse_qs(urlsplit(leave_for(browser, "google")).query)["state"][0]
    body = refused(browser.get(f"/federation/google/callback?error=login_required&state={state}"),
                   "cancelled")
    assert body["message"] == "Signing in with Google did not finish. Choose how to sign in."
    refused(browser.get(f"/federation/google/callback?code=x&state={state}"), "state")


def test_a_provider_with_nothing_listening_is_unavailable() -> None:
    browser = downstream(google_at("http://127.0.0.1:9/.well-known/openid-configuration"))
    body = refused(browser.get("/federation/google/start"), "unavailable")
    assert body["message"] == (
        "Google is not answering just now. Try again in a few minutes, or sign in another way."
    )


def test_a_provider_that_stops_before_the_callback_is_unavailable(
    upstream: UpstreamGatehouse,
) -> None:
    browser = downstream(google_at(upstream.discovery_url))
    back = sign_in_upstream(leave_for(browser, "google"))
    upstream.stop()
    refused(come_back(browser, back), "unavailable")


@pytest.mark.parametrize("broken", ["token", "graph"])
def test_facebook_answering_500_is_unavailable(facebook: FakeFacebook, broken: str) -> None:
    browser = downstream(facebook_at(facebook))
    back = requests.get(leave_for(browser, "facebook"), allow_redirects=False,
                        timeout=5).headers["Location"]
    if broken == "token":
        facebook.fail_next(500)
    else:
        facebook.fail_graph(500)
    body = refused(come_back(browser, back), "unavailable")
    assert "HTTP 500" in body["detail"] and "appsecret_proof" not in body["detail"]


def test_a_slow_facebook_is_unavailable(facebook: FakeFacebook) -> None:
    browser = downstream({**facebook_at(facebook), "federation.timeout": 0.3})
    back = requests.get(leave_for(browser, "facebook"), allow_redirects=False,
                        timeout=5).headers["Location"]
    facebook.stall_next(2)
    body = refused(come_back(browser, back), "unavailable")
    assert "Timeout" in body["detail"]


def test_a_refused_code_is_a_token_failure(facebook: FakeFacebook) -> None:
    browser = downstream(facebook_at(facebook))
    back = requests.get(leave_for(browser, "facebook"), allow_redirects=False,
                        timeout=5).headers["Location"]
    facebook.codes.clear()  # Facebook no longer knows the code
    refused(come_back(browser, back), "token")


@pytest.mark.parametrize("tamper", ["wrong state", "no state", "other browser", "replayed"])
def test_an_answer_for_another_sign_in_is_a_state_failure(
    upstream: UpstreamGatehouse, tamper: str
) -> None:
    browser = downstream(google_at(upstream.discovery_url))
    back = sign_in_upstream(leave_for(browser, "google"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    path = "/federation/google/callback"
    if tamper == "wrong state":
        answer = browser.get(path, query_string={**query, "state": "x" + query["state"]})
    elif tamper == "no state":
        answer = browser.get(path, query_string={"code": query["code"]})
    elif tamper == "other browser":
        answer = come_back(browser.application.test_client(), back)
    else:
        assert come_back(browser, back).status_code == 200
        answer = come_back(browser, back)
    body = refused(answer, "state")
    assert body["message"].startswith("Your sign-in with Google could not be finished")


FORGERIES = {
    "bad signature": ({}, True),
    "wrong audience": ({"aud": "someone-else"}, False),
    "wrong nonce": ({"nonce": "not-the-one-sent"}, False),
    "no nonce": ({"nonce": None}, False),
    "expired": ({"exp": 1_000_000_000, "iat": 999_996_400}, False),
    "wrong issuer": ({"iss": "https://accounts.example.com"}, False),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_id_token_is_refused(upstream: UpstreamGatehouse, forgery: str) -> None:
    changes, unknown_key = FORGERIES[forgery]
    with IssuerProxy(upstream) as proxy:
        browser = downstream(google_at(proxy.discovery_url(upstream.tenant_id)))
        proxy.rewrite_claims(**changes)
        if unknown_key:
            proxy.sign_with_unknown_key()
        body = refused(sign_in_with(browser, "google"), "token")
    assert "id_token refused" in body["detail"]
    assert "eyJ" not in body["detail"]  # no token in what gets logged


def test_the_proxy_itself_passes_a_true_token(upstream: UpstreamGatehouse) -> None:
    with IssuerProxy(upstream) as proxy:
        proxy.rewrite_claims()  # re-signed by the proxy, nothing changed
        browser = downstream(google_at(proxy.discovery_url(upstream.tenant_id)))
        assert sign_in_with(browser, "google").get_json()["subject"] == upstream.user


@pytest.mark.parametrize("name", ["facebook", "twitter"])
def test_a_provider_that_is_not_switched_on_is_not_configured(name: str) -> None:
    browser = downstream({})
    body = refused(browser.get(f"/federation/{name}/start"), "not_configured")
    assert "is not available here" in body["message"]
    refused(browser.get(f"/federation/{name}/callback?code=x&state=y"), "not_configured")


# -- settings -------------------------------------------------------------------------------

def test_providers_are_listed_in_the_sign_in_pages_order(facebook: FakeFacebook) -> None:
    settings = load_settings(environ={}, overrides={
        **google_at("https://accounts.google.com/.well-known/openid-configuration"),
        **facebook_at(facebook),
        "federation.microsoft.client_id": "ms-app",
        "federation.oidc.name": "Council Staff", "federation.oidc.client_id": "staff",
        "federation.oidc.discovery_url": "https://staff.example/.well-known/openid-configuration",
    })
    federation = Federation.from_settings(Flask("t"), settings, SECRETS)
    assert federation.providers() == [("microsoft", "Microsoft"), ("google", "Google"),
                                      ("facebook", "Facebook"), ("oidc", "Council Staff")]


@pytest.mark.parametrize(("overrides", "environ", "named"), [
    ({"federation.google.client_id": "g"}, {}, "IDP_GOOGLE_CLIENT_SECRET"),
    ({"federation.microsoft.client_id": "m", "federation.microsoft.client_secret_env": "MS"},
     {"IDP_MICROSOFT_CLIENT_SECRET": "wrong place"}, "MS"),
    ({"federation.oidc.client_id": "o"}, SECRETS, "federation.oidc.name"),
    ({"federation.google.client_id": "g",
      "federation.google.discovery_url": "http://accounts.example/.well-known/x"},
     SECRETS, "https"),
], ids=["missing secret", "secret in another variable", "half a provider", "plain http"])
def test_a_wrong_provider_setting_stops_start_up(
    overrides: dict[str, Any], environ: dict[str, str], named: str
) -> None:
    settings = load_settings(environ={}, overrides=overrides)
    with pytest.raises(ConfigError, match=named):
        Federation.from_settings(Flask("t"), settings, environ)


# -- mapping claims (no HTTP) ---------------------------------------------------------------

def test_microsoft_prefers_oid_and_does_not_trust_its_email() -> None:
    identity = identity_from_id_token("microsoft", {
        "iss": "https://login.microsoftonline.com/72f9/v2.0", "sub": "pairwise-sub",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81", "tid": "72f9", "email": EMAIL,
    })
    assert identity.subject == "00000000-0000-0000-66f3-3332eca7ea81"
    assert identity.email_verified is False
    assert identity.idp == "https://login.microsoftonline.com/72f9/v2.0"
    assert identity.key == ("https://login.microsoftonline.com/72f9/v2.0", identity.subject)


def test_facebook_without_an_email_is_still_an_identity() -> None:
    identity = identity_from_graph({"id": "42", "name": "Jenny Hinsen"}, tokens={"x": "y"})
    assert (identity.email, identity.email_verified) == (None, False)
    assert identity == UpstreamIdentity("facebook", "facebook.com", "42", "facebook.com",
                                        name="Jenny Hinsen")
    assert "tokens" not in repr(identity)
