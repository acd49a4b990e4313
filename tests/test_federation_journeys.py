"""Sign in with Google, Microsoft or Facebook, end to end over HTTP: the Parent Portal's
buttons, a real OpenID provider on loopback (a second Gatehouse, also in Microsoft's
multi-tenant form) and a fake of Facebook's OAuth and Graph endpoints; the route lock
both ways; each failure with a way back; "Last used"."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from idp.extensions import db
from idp.store.models import AuditEvent, Identity, User
from tests import upstreams
from tests.conftest import PASSWORD, add_user, build_app
from tests.pages import Visitor
from tests.test_federation_clients import SECRETS, facebook_at, google_at, microsoft_at
from tests.test_seed_journeys import PARENT, latest_email, start, tokens_from
from tests.upstreams import EMAIL, IssuerProxy, UpstreamGatehouse

make_upstream = upstreams.make_upstream
upstream = upstreams.upstream
facebook = upstreams.facebook


@pytest.fixture
def portal(
    settings: dict[str, Any],
    clock: Any,
    upstream: UpstreamGatehouse,
    facebook: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """Gatehouse with Google and Facebook switched on (Google played by the upstream)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    app = build_app(
        {
            **settings,
            "server.base_url": upstreams.DOWNSTREAM,
            **google_at(upstream.discovery_url),
            **facebook_at(facebook),
        },
        clock,
    )
    return app.test_client()


def at_upstream(visitor: Visitor) -> None:
    """Sign in at the provider (the upstream Gatehouse) and come back to Gatehouse."""
    parts = urlsplit(visitor.url)
    there = Visitor(requests.Session(), base_url=f"{parts.scheme}://{parts.netloc}")
    there.open(visitor.url)
    there.press("Sign in", {"Email address": EMAIL, "Password": PASSWORD})
    assert there.url.startswith(upstreams.DOWNSTREAM), there.text[:300]
    visitor.open(there.url)


def federate(client: Any, button: str, **extra: Any) -> tuple[Visitor, str]:
    visitor, verifier = start(client, PARENT, **extra)
    visitor.press(button)
    if not visitor.url.startswith(upstreams.DOWNSTREAM):
        if "127.0.0.1" in visitor.url and "/dialog/oauth" not in visitor.url:
            at_upstream(visitor)
        else:  # the Facebook fake answers its dialog at once
            answer = requests.get(visitor.url, allow_redirects=False, timeout=10)
            visitor.open(answer.headers["Location"])
    return visitor, verifier


def test_the_parent_portal_offers_its_social_accounts_beside_local_sign_in(portal: Any) -> None:
    visitor, _ = start(portal, PARENT)
    # Microsoft is listed by the policy but not configured here, so it is not offered.
    assert visitor.buttons()[:4] == [
        "Sign in",
        "Forgot your password?",
        "Sign in with Google",
        "Sign in with Facebook",
    ]
    assert "Sign up now" in visitor.buttons()


def test_the_first_google_sign_in_creates_the_account_then_reviews_it(portal: Any) -> None:
    visitor, verifier = federate(portal, "Sign in with Google")
    assert visitor.heading() == "Review Account", visitor.text[:300]
    assert visitor.field_value("Forename") == "Jenny"
    visitor.press("Confirm Details", {"Title": "Mrs"})
    claims = tokens_from(portal, visitor, verifier)["claims"]
    assert claims["idp"] == "google.com" and claims["newUser"] is True
    assert "fed" in claims["amr"] and "mfa" not in claims["amr"]
    # The same Google identity comes back to the same account, with nothing to ask.
    again, verifier = federate(portal.application.test_client(), "Sign in with Google")
    second = tokens_from(portal, again, verifier)["claims"]
    assert second["sub"] == claims["sub"] and "newUser" not in second
    # And it marks Google as this browser's way in.
    fresh, _ = start(portal, PARENT, prompt="login")
    assert "Sign in with Google Last used" in fresh.buttons()


def test_a_google_identity_cannot_enter_the_local_account_with_its_email(
    portal: Any, outbox: Path
) -> None:
    add_user(portal.application, email=EMAIL)  # a local account, same address
    visitor, _ = federate(portal, "Sign in with Google")
    assert visitor.heading() == "You already have an account"
    assert (
        "You created your account with an email address and password. Sign in that way instead."
    ) in visitor.text
    visitor.press("Back to sign in")
    assert visitor.heading() == "Sign in to the Parent Portal"
    with portal.application.app_context():
        assert db.session.query(User).count() == 1  # nothing made
        assert (
            db.session.query(AuditEvent).filter_by(event_type="federation.route_refused").count()
            == 1
        )


def test_a_local_sign_up_with_a_google_accounts_email_is_told_to_use_google(
    portal: Any, outbox: Path
) -> None:
    visitor, _ = federate(portal, "Sign in with Google")
    visitor.press("Confirm Details", {"Title": "Mrs"})
    other, _ = start(portal.application.test_client(), PARENT)
    other.press("Sign up now")
    other.press("Send verification code", {"Email address": EMAIL})
    code = latest_email(outbox, EMAIL, "verification_code")["data"]["code"]
    other.press("Verify code", {"Verification code": code})
    assert "You created your account with Google. Sign in that way instead." in other.text


def test_microsoft_multi_tenant_checks_the_issuer_against_the_tenant(
    settings: dict[str, Any],
    clock: Any,
    upstream: UpstreamGatehouse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with IssuerProxy(upstream, tenant_template=True) as proxy:
        app = build_app(
            {
                **settings,
                "server.base_url": upstreams.DOWNSTREAM,
                **microsoft_at(proxy.discovery_url(), "common"),
            },
            clock,
        )
        visitor, verifier = federate(app.test_client(), "Sign in with Microsoft")
        visitor.press("Confirm Details", {"Title": "Mrs"})
        claims = tokens_from(app.test_client(), visitor, verifier)["claims"]
        assert claims["idp"] == upstream.issuer  # a work or school tenant: its issuer
        with app.app_context():
            identity = db.session.query(Identity).filter_by(route="microsoft").one()
            assert identity.issuer == upstream.issuer
        # A token naming another tenant than its issuer's is refused.
        proxy.rewrite_claims(tid="0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9")
        forged, _ = federate(app.test_client(), "Sign in with Microsoft")
        assert forged.heading() == "We could not sign you in"
        assert "Microsoft could not confirm who you are" in forged.text


def test_facebook_signs_in_through_oauth_and_the_graph(portal: Any, facebook: Any) -> None:
    visitor, verifier = federate(portal, "Sign in with Facebook")
    visitor.press("Confirm Details", {"Title": "Mrs"})
    claims = tokens_from(portal, visitor, verifier)["claims"]
    assert claims["idp"] == "facebook.com" and claims["given_name"] == "Jenny"
    assert facebook.graph_calls


def test_cancelling_at_the_provider_says_so_and_makes_nothing(portal: Any, facebook: Any) -> None:
    facebook.deny_next()
    visitor, _ = federate(portal, "Sign in with Facebook")
    assert visitor.heading() == "We could not sign you in"
    assert "cancelled" in visitor.text
    visitor.press("Back to sign in")
    assert visitor.heading() == "Sign in to the Parent Portal"
    with portal.application.app_context():
        assert db.session.query(User).count() == 0
        assert db.session.query(AuditEvent).filter_by(event_type="federation.failed").count() == 1


def test_a_provider_that_is_down_gets_a_page_with_a_way_back(
    settings: dict[str, Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    dead = "http://127.0.0.1:9/.well-known/openid-configuration"  # nothing listens
    app = build_app(
        {
            **settings,
            "server.base_url": upstreams.DOWNSTREAM,
            "federation.timeout": 2,
            **google_at(dead),
        },
        clock,
    )
    visitor, _ = start(app.test_client(), PARENT)
    visitor.press("Sign in with Google")
    assert visitor.heading() == "We could not sign you in"
    assert "Back to sign in" in visitor.buttons()


def test_a_forged_id_token_is_refused(
    settings: dict[str, Any],
    clock: Any,
    upstream: UpstreamGatehouse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with IssuerProxy(upstream) as proxy:
        proxy.sign_with_unknown_key()
        app = build_app(
            {
                **settings,
                "server.base_url": upstreams.DOWNSTREAM,
                **google_at(proxy.discovery_url(upstream.tenant_id)),
            },
            clock,
        )
        visitor, _ = federate(app.test_client(), "Sign in with Google")
        assert visitor.heading() == "We could not sign you in"
        with app.app_context():
            assert db.session.query(User).count() == 0


def test_a_callback_with_the_wrong_state_is_refused_with_a_way_back(portal: Any) -> None:
    visitor, _ = start(portal, PARENT)
    visitor.press("Sign in with Google")  # now at the provider; the browser comes back forged
    visitor.open(f"{upstreams.DOWNSTREAM}/federation/google/callback?code=stolen&state=forged")
    assert visitor.heading() == "We could not sign you in"
    assert "Back to sign in" in visitor.buttons()
    with portal.application.app_context():
        failed = db.session.query(AuditEvent).filter_by(event_type="federation.failed").one()
        assert failed.details == {"provider": "google", "reason": "state"}


def test_an_error_answer_without_this_browsers_state_is_refused(portal: Any) -> None:
    visitor, _ = start(portal, PARENT)
    visitor.press("Sign in with Google")
    visitor.open(f"{upstreams.DOWNSTREAM}/federation/google/callback?error=access_denied")
    with portal.application.app_context():
        failed = db.session.query(AuditEvent).filter_by(event_type="federation.failed").one()
        assert failed.details["reason"] == "state"  # not someone's "cancel"
