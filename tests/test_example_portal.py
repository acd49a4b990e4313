"""The example portal (examples/portal) against a running Gatehouse: both guides' portals
sign in with authlib's Flask client, show the claims they received, run the account
policies and sign out with RP-initiated logout, registered as the shipped client files say.

The browser is one requests.Session, as a real browser keeps one cookie jar for 127.0.0.1
whatever the port: Gatehouse answers on a real socket, and the portal answers from this
process at http://127.0.0.1:5001, the address clients/*.toml register, so the shipped
registrations are used unchanged.
"""

from __future__ import annotations

import email.message
import html
import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder, run_wsgi_app

from examples.portal import create_app
from examples.portal.portals import BLUE_BADGE, PARENT_PORTAL, PORTALS
from idp.clock import FrozenClock
from idp.store.clients import sync_client_files
from tests.conftest import PASSWORD, LiveServer, add_user
from tests.pages import Visitor
from tests.test_seed_journeys import latest_code, latest_email, pass_mfa_by_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PORTAL = "http://127.0.0.1:5001"
PHONE = "+447400123456"
NEW_PHONE = "+447759140004"
JENNY = "jenny.hinsen@example.com"
SECRETS = {
    "IDP_CLIENT_SECRET_PARENT_PORTAL": "parent-portal-test-secret-0123456789",
    "IDP_CLIENT_SECRET_BLUE_BADGE": "blue-badge-test-secret-0123456789",
}


class InProcessServer(BaseAdapter):
    """Answers a requests.Session from a WSGI app in this process, as if the app listened
    where the adapter is mounted. Cookies go through the session's one jar."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        environ = EnvironBuilder(
            method=request.method,
            base_url=f"{url.scheme}://{url.netloc}",
            path=url.path,
            query_string=url.query,
            headers=dict(request.headers),
            data=body or b"",
        ).get_environ()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        response = requests.Response()
        response.status_code = int(status.split()[0])
        response.reason = status.partition(" ")[2]
        response.headers = CaseInsensitiveDict(headers)
        response._content = b"".join(app_iter)
        response.url, response.request = request.url, request
        # requests reads Set-Cookie from the raw response's message, which may hold several.
        message = email.message.Message()
        for name, value in headers.items():
            message[name] = value
        response.raw = SimpleNamespace(_original_response=SimpleNamespace(msg=message))
        extract_cookies_to_jar(response.cookies, request, response.raw)
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def clock() -> FrozenClock:
    # authlib checks the ID token's exp and iat against the real time.
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def gatehouse(
    settings: dict[str, Any], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    server = LiveServer(settings, clock)
    with server.app.app_context():
        sync_client_files(PROJECT_ROOT / "clients", clock.now())
    add_user(server.app, JENNY, phone_number=PHONE)
    yield server
    server.stop()


@pytest.fixture
def portal(gatehouse: LiveServer) -> Any:
    return create_app(
        {
            "GATEHOUSE_AUTHORITY": gatehouse.url,
            "PORTAL_BASE_URL": PORTAL,
            "SECRET_KEY": "example-portal-test-key",
            "TESTING": True,
        }
    )


def offline_portal() -> Any:
    """The portal with a Gatehouse address where nothing listens."""
    return create_app(
        {
            "SECRET_KEY": "k",
            "GATEHOUSE_AUTHORITY": "http://127.0.0.1:9",
            "PORTAL_CLIENT_SECRETS": {"parent-portal": "p", "blue-badge": "b"},
        }
    )


def browser_for(portal: Any) -> Visitor:
    session = requests.Session()
    session.mount(PORTAL + "/", InProcessServer(portal))
    # Every 127.0.0.1 address is followed, Gatehouse's and the portal's alike.
    return Visitor(session, base_url="http://127.0.0.1")


def follow(visitor: Visitor, words: str) -> Visitor:
    """Click the link that begins with these words."""
    links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>\s*([^<]*)', visitor.html)
    hrefs = [href for href, text in links if " ".join(text.split()).startswith(words)]
    assert hrefs, f"no link {words!r} on {visitor.url}: {[t for _, t in links]}"
    return visitor.open(urljoin(visitor.url, html.unescape(hrefs[0])))


def claims_table(visitor: Visitor) -> dict[str, str]:
    rows = re.findall(
        r'<tr><th scope="row"><code>([^<]+)</code></th><td>([^<]*)</td></tr>', visitor.html
    )
    return {name: html.unescape(value) for name, value in rows}


def choose_code_by(visitor: Visitor, words: str) -> None:
    """Gatehouse's "How do you want to receive your security code?" page."""
    assert "How do you want to receive your security code?" in visitor.text, visitor.text[:300]
    labels = [" ".join(t.split()) for t in re.findall(r'for="[^"]+">([^<]+)<', visitor.html)]
    visitor.press("Continue", {next(t for t in labels if t.startswith(words)): True})


def sign_in_at_gatehouse(visitor: Visitor, heading: str) -> None:
    assert visitor.heading() == heading, visitor.text[:300]
    visitor.press("Sign in", {"Email address": JENNY, "Password": PASSWORD})


def test_the_portals_are_registered_as_the_shipped_client_files_say() -> None:
    policies = {path.stem for path in (PROJECT_ROOT / "policies").glob("*.toml")}
    for portal in PORTALS:
        (registration,) = [
            data
            for path in (PROJECT_ROOT / "clients").glob("*.toml")
            if (data := tomllib.loads(path.read_text()))["client_id"] == portal.client_id
        ]
        assert registration["token_endpoint_auth_method"] == portal.token_endpoint_auth_method
        assert registration["secret_env"] == portal.secret_env
        assert registration["redirect_uris"] == [PORTAL + portal.redirect_path()]
        assert registration["post_logout_redirect_uris"] == [PORTAL + portal.post_logout_path()]
        assert set(portal.policies) <= set(registration["policies"]) & policies
        assert {"openid", "profile", "email", "phone", "offline_access"} <= set(
            registration["scopes"]
        )


def test_parent_portal_signs_in_edits_the_profile_and_signs_out(
    gatehouse: LiveServer, portal: Any, outbox: Path
) -> None:
    visitor = browser_for(portal)
    visitor.open(PORTAL + "/")
    assert "Leicestershire County Council Parent Portal" in visitor.text
    assert "Leicestershire Services Portal" in visitor.text
    follow(visitor, "Leicestershire County Council Parent Portal")
    visitor.press("Sign in")
    # The B2C-shaped authority from the policy's discovery document, with PKCE and a nonce.
    authorize = next(u for u in visitor.redirects if "/oauth2/v2.0/authorize" in u)
    assert authorize.startswith(
        f"{gatehouse.url}/leicsb2c.onmicrosoft.com/B2C_1_parent_signup_signin/oauth2/v2.0/"
    )
    assert "code_challenge_method=S256" in authorize and "nonce=" in authorize
    assert "client_id=parent-portal" in authorize
    sign_in_at_gatehouse(visitor, "Sign in to the Parent Portal")
    pass_mfa_by_text(visitor, outbox, PHONE)

    assert visitor.url == PORTAL + "/parent/", (visitor.url, visitor.text[:400])
    assert "Signed in as Jenny Hinsen" in visitor.text
    claims = claims_table(visitor)
    assert claims["tfp"] == "B2C_1_parent_signup_signin"
    assert claims["emails"] == JENNY and claims["given_name"] == "Jenny"
    assert "pwd" in claims["amr"] and "sms" in claims["amr"]
    # Two cookies on one host, neither overwriting the other.
    names = {cookie.name for cookie in visitor.client.cookies}
    assert {"gatehouse_session", "example_portal_session"} <= names

    follow(visitor, "My Account")
    assert visitor.heading() == "My Account"
    visitor.press("Edit your profile")
    # The session passed MFA at sign-in: straight to the form.
    assert visitor.url.startswith(gatehouse.url) and "Continue" in visitor.buttons()
    visitor.press("Continue", {"First name": "Jennifer"})
    assert visitor.url == PORTAL + "/parent/", (visitor.url, visitor.errors())
    assert "Your profile has been updated." in visitor.text
    assert "Signed in as Jennifer Hinsen" in visitor.text
    claims = claims_table(visitor)
    assert claims["tfp"] == "B2C_1_profile_edit" and claims["given_name"] == "Jennifer"

    follow(visitor, "My Account")
    visitor.press("Sign out")
    logout = next(u for u in visitor.redirects if "/oauth2/v2.0/logout" in u)
    assert "id_token_hint=" in logout and "post_logout_redirect_uri=" in logout
    assert visitor.url == PORTAL + "/parent/"
    assert "You have signed out." in visitor.text and "Signed in as" not in visitor.text
    # Gatehouse's session ended too: signing in again asks for the password.
    visitor.press("Sign in")
    sign_in_at_gatehouse(visitor, "Sign in to the Parent Portal")
    assert visitor.heading() == "Multi-factor authentication"


def test_blue_badge_portal_signs_in_asks_for_payment_and_signs_out(
    gatehouse: LiveServer, portal: Any, outbox: Path
) -> None:
    visitor = browser_for(portal)
    visitor.open(PORTAL + "/bluebadge/")
    assert visitor.heading() == "Leicestershire Services Portal"
    visitor.press("Sign in")
    sign_in_at_gatehouse(visitor, "Sign in to the Leicestershire Services Portal")
    choose_code_by(visitor, "Text message")
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, PHONE)})
    # The first sign-in since the privacy policy's version: agree, then carry on.
    visitor.press("Continue", {"I agree to the privacy policy": True})

    assert visitor.url == PORTAL + "/bluebadge/", (visitor.url, visitor.text[:400])
    assert "Signed in as Jenny Hinsen" in visitor.text
    assert claims_table(visitor)["tfp"] == "B2C_1_bluebadge_signup_signin"
    assert "Your payment is due... Click here to view or pay" in visitor.text
    follow(visitor, "Click here to view or pay")
    assert visitor.heading() == "Blue Badge renewal fee"
    assert "Blue Badge renewal fee £10.00, due 15 January 2027" in visitor.text
    visitor.press("Pay now")
    assert visitor.heading() == "Payment received"
    follow(visitor, "Back to your account")
    assert "Your payment is due" not in visitor.text

    # "If you've changed your phone number, you can still log in using email MFA".
    follow(visitor, "My Account")
    visitor.press("Change your phone number")
    choose_code_by(visitor, "Email")
    code = latest_email(outbox, JENNY, "security_code")["data"]["code"]
    visitor.press("Verify Code", {"Verification code": code})
    assert visitor.heading() == "Change your phone number"
    visitor.press("Send Code", {"Phone Number": "07759 140004"})
    visitor.press("Verify Code", {"Verification code": latest_code(outbox, NEW_PHONE)})
    assert visitor.url == PORTAL + "/bluebadge/", (visitor.url, visitor.errors())
    assert "Your phone number has been changed." in visitor.text
    claims = claims_table(visitor)
    assert claims["tfp"] == "B2C_1_phone_change" and claims["phone_number"] == NEW_PHONE

    follow(visitor, "My Account")
    visitor.press("Sign out")
    assert visitor.url == PORTAL + "/bluebadge/"
    assert "You have signed out." in visitor.text and "Sign in" in visitor.buttons()
    visitor.press("Sign in")
    assert visitor.heading() == "Sign in to the Leicestershire Services Portal"
    assert visitor.field_value("Password") == ""


def test_an_answer_naming_another_issuer_is_refused(gatehouse: LiveServer, portal: Any) -> None:
    # RFC 9207: every policy answers at one redirect URI, so the issuer must be the one asked.
    visitor = browser_for(portal)
    visitor.open(PORTAL + "/parent/")
    visitor.press("Sign in")
    state = re.search(r"[?&]state=([^&]+)", visitor.redirects[0]).group(1)
    visitor.open(f"{PORTAL}/parent/auth/callback?code=c&state={state}&iss=https://evil.example/")
    assert visitor.status == 400 and visitor.heading() == "This sign-in came from the wrong place"
    assert "Try again" in visitor.text


@pytest.mark.parametrize(
    ("query", "heading", "code"),
    [
        (
            "error=access_denied&error_description=You+cancelled.&state=abc",
            "You have not been signed in",
            "access_denied",
        ),
        (
            "code=stolen-code&state=never-issued",
            "This sign-in was not started here",
            "invalid_state",
        ),
    ],
)
def test_an_unfinished_sign_in_shows_a_clear_page_with_try_again(
    query: str, heading: str, code: str
) -> None:
    page = offline_portal().test_client().get(f"/parent/auth/callback?{query}")
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert f"<h1>{heading}</h1>" in text and code in text
    assert '<a class="button" href="/parent/">Try again</a>' in text


def test_a_gatehouse_that_does_not_answer_is_named_with_try_again() -> None:
    visitor = browser_for(offline_portal())
    visitor.open(PORTAL + "/bluebadge/")
    visitor.press("Sign in")
    assert visitor.status == 502 and visitor.heading() == "Gatehouse is not answering"
    assert "http://127.0.0.1:9" in visitor.text and "Try again" in visitor.text


def test_portal_forms_refuse_a_post_without_their_token() -> None:
    client = offline_portal().test_client()
    assert client.post("/parent/sign-in").status_code == 400
    assert client.post("/bluebadge/sign-out", data={"csrf_token": "forged"}).status_code == 400


def test_pages_need_a_sign_in_and_portals_look_their_own() -> None:
    client = offline_portal().test_client()
    assert client.get("/bluebadge/account").headers["Location"] == "/bluebadge/"
    assert client.get("/bluebadge/payments/BB-2027-0142").status_code == 302
    for portal in (PARENT_PORTAL, BLUE_BADGE):
        page = client.get(f"/{portal.key}/").get_data(as_text=True)
        assert f'class="theme-{portal.key}"' in page and f"<h1>{portal.title}</h1>" in page
