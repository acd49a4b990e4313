"""Signed-in browsers: cookie flags, a new session id at every sign-in, idle and absolute
timeouts from the policy, "Keep me signed in", "Sign out everywhere", and OIDC
Back-Channel Logout to the portals that used the session."""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.store.clients import save_registration, validate_registration
from idp.store.models import BrowserSession
from tests.conftest import PASSWORD, build_app
from tests.flows import authorize_params, csrf_token, exchange, get_code, sign_in, step_id

JENNY = "jenny.hinsen@example.com"
POLICIES = Path(__file__).resolve().parent.parent / "policies"


def policy_folder(tmp_path: Path, session_table: str) -> Path:
    """The shipped policies, with B2C_1_signin given this [session] table."""
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / "B2C_1_signin.toml"
    text = path.read_text()
    path.write_text(text.replace("[[steps]]", f"{session_table}\n\n[[steps]]", 1))
    return folder


def authorize(client: Any) -> Any:
    return client.get("/authorize?" + urlencode(authorize_params()))


def signs_in_without_a_page(client: Any) -> bool:
    """Single sign-on: /authorize answers the portal at once."""
    location = authorize(client).headers["Location"]
    return "code=" in location


def session_cookie(response: Any) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("gatehouse_session="))


# -- cookies ----------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_lax_and_not_kept(client: Any, user: str) -> None:
    location = authorize(client).headers["Location"]
    response = sign_in(client, urlsplit(location).path, JENNY)
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" not in cookie  # gone when the browser closes
    assert "Secure" not in cookie  # plain http in this test deployment


def test_the_cookie_is_secure_under_https(settings: dict[str, Any], clock: Any) -> None:
    app = build_app({**settings, "server.base_url": "https://login.example"}, clock)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_every_sign_in_makes_a_new_session_id(app: Any, client: Any, user: str) -> None:
    get_code(client)
    with client.session_transaction() as saved:
        first = saved["sid"]
    with client.session_transaction() as saved:
        saved.clear()
    get_code(client)
    with client.session_transaction() as saved:
        assert saved["sid"] != first


# -- timeouts -------------------------------------------------------------------------------


def test_a_session_unused_for_the_idle_timeout_ends(
    settings: dict[str, Any], clock: Any, user: str
) -> None:
    app = build_app({**settings, "sessions.idle_timeout": 1800}, clock)
    client = app.test_client()
    get_code(client)
    clock.advance(1500)
    assert signs_in_without_a_page(client)  # used: the idle clock starts again
    clock.advance(1500)
    assert signs_in_without_a_page(client)
    clock.advance(1801)
    assert not signs_in_without_a_page(client)


def test_a_policy_sets_its_own_lifetime_and_idle_timeout(
    settings: dict[str, Any], clock: Any, user: str, tmp_path: Path
) -> None:
    folder = policy_folder(tmp_path, "[session]\nlifetime = 600\nidle_timeout = 300")
    app = build_app({**settings, "paths.policies": str(folder)}, clock)
    client = app.test_client()
    get_code(client)
    with app.app_context():
        row = db.session.query(BrowserSession).one()
        assert (row.expires_at - row.created_at).total_seconds() == 600
        assert row.idle_timeout == 300
    for _ in range(2):
        clock.advance(250)
        assert signs_in_without_a_page(client)
    clock.advance(250)  # 750 s after sign-in: past the absolute lifetime, though used
    assert not signs_in_without_a_page(client)


def test_a_policy_refuses_a_bad_session_setting(tmp_path: Path) -> None:
    from idp.journeys.policy import PolicyError, load_policies

    folder = policy_folder(tmp_path, "[session]\nidle_timeout = -5")
    with pytest.raises(PolicyError, match=r"session\.idle_timeout must be 0 or more seconds"):
        load_policies(folder)
    folder = policy_folder(tmp_path / "again", "[session]\nkeep_me_signed_in = 1")
    with pytest.raises(PolicyError, match=r"session\.keep_me_signed_in must be true or false"):
        load_policies(folder)


# -- keep me signed in ----------------------------------------------------------------------


def kmsi_app(settings: dict[str, Any], clock: Any, tmp_path: Path) -> Any:
    folder = policy_folder(tmp_path, "[session]\nkeep_me_signed_in = true")
    return build_app({**settings, "paths.policies": str(folder)}, clock)


def sign_in_ticking(client: Any, keep: bool) -> Any:
    path = urlsplit(authorize(client).headers["Location"]).path
    html = client.get(path).get_data(as_text=True)
    assert "Keep me signed in" in html
    data = {"csrf_token": csrf_token(html), "step": step_id(html), "email": JENNY,
            "password": PASSWORD}
    if keep:
        data["keep_signed_in"] = "yes"
    return client.post(path, data=data)


def test_keep_me_signed_in_makes_a_lasting_session(
    settings: dict[str, Any], clock: Any, user: str, tmp_path: Path
) -> None:
    app = kmsi_app(settings, clock, tmp_path)
    client = app.test_client()
    response = sign_in_ticking(client, keep=True)
    assert "Expires=" in session_cookie(response)
    with app.app_context():
        row = db.session.query(BrowserSession).one()
        assert row.persistent and row.idle_timeout is None
        assert (row.expires_at - row.created_at).days == 30
    clock.advance(7 * 86400)
    assert signs_in_without_a_page(client)


def test_not_ticking_keep_me_signed_in_keeps_the_usual_session(
    settings: dict[str, Any], clock: Any, user: str, tmp_path: Path
) -> None:
    client = kmsi_app(settings, clock, tmp_path).test_client()
    response = sign_in_ticking(client, keep=False)
    assert "Expires=" not in session_cookie(response)
    clock.advance(3601)
    assert not signs_in_without_a_page(client)


def test_keep_me_signed_in_is_offered_only_where_the_policy_allows(
    client: Any, user: str
) -> None:
    path = urlsplit(authorize(client).headers["Location"]).path
    assert "Keep me signed in" not in client.get(path).get_data(as_text=True)
    # Ticked anyway (a hand-made form): the policy does not allow it, so it does nothing.
    html = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_token(html), "step": step_id(html),
                                       "email": JENNY, "password": PASSWORD,
                                       "keep_signed_in": "yes"})
    assert "Expires=" not in session_cookie(response)


# -- back-channel logout --------------------------------------------------------------------


class LogoutReceiver:
    """A portal's back-channel logout endpoint on 127.0.0.1, recording what it is sent."""

    def __init__(self) -> None:
        received: list[dict[str, list[str]]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int = 1, seconds: float = 5) -> list[str]:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [r["logout_token"][0] for r in self.received]


@pytest.fixture
def receiver() -> Any:
    server = LogoutReceiver()
    yield server
    server.server.shutdown()


def register_portal_with_backchannel(app: Any, uri: str) -> None:
    with app.app_context():
        registration = validate_registration(
            {"client_id": "portal-bcl", "name": "Portal with back-channel logout",
             "type": "confidential", "token_endpoint_auth_method": "client_secret_post",
             "redirect_uris": ["http://127.0.0.1:8000/callback"],
             "policies": ["B2C_1_signin"], "backchannel_logout_uri": uri},
            "test", generated_secret=True)
        save_registration(registration, app.extensions["idp"].clock.now(), "cli",
                          "bcl-secret-0123456789abcdef")
        db.session.commit()


def signed_in_portal(app: Any, client: Any) -> dict[str, Any]:
    code, _, verifier = get_code(client, client_id="portal-bcl")
    tokens = exchange(client, code, verifier, client_id="portal-bcl",
                      client_secret="bcl-secret-0123456789abcdef").json
    id_token = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks").json))
    return {"sid": id_token.claims["sid"], "sub": id_token.claims["sub"],
            "iss": id_token.claims["iss"], **tokens}


def check_logout_token(client: Any, token: str, expected: dict[str, Any]) -> None:
    decoded = jwt.decode(token, KeySet.import_key_set(client.get("/jwks").json))
    assert decoded.header["typ"] == "logout+jwt"
    claims = decoded.claims
    assert claims["iss"] == expected["iss"] and claims["aud"] == "portal-bcl"
    assert claims["sub"] == expected["sub"] and claims["sid"] == expected["sid"]
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims and claims["exp"] > claims["iat"] and claims["jti"]


def test_signing_out_tells_the_portal_by_back_channel(
    app: Any, client: Any, user: str, receiver: LogoutReceiver
) -> None:
    register_portal_with_backchannel(app, receiver.uri)
    portal = signed_in_portal(app, client)
    assert receiver.received == []
    response = client.get("/logout?" + urlencode({"id_token_hint": portal["id_token"]}))
    assert response.status_code in (200, 302)
    [token] = receiver.wait()
    check_logout_token(client, token, portal)


def test_sign_out_everywhere_ends_every_session_and_tells_portals(
    app: Any, user: str, receiver: LogoutReceiver
) -> None:
    register_portal_with_backchannel(app, receiver.uri)
    laptop, phone = app.test_client(), app.test_client()
    at_laptop = signed_in_portal(app, laptop)
    at_phone = signed_in_portal(app, phone)
    page = laptop.get("/signout-everywhere").get_data(as_text=True)
    assert "Sign out everywhere" in page
    response = laptop.post("/signout-everywhere", data={"csrf_token": csrf_token(page)})
    assert "You have signed out everywhere" in response.get_data(as_text=True)
    tokens = receiver.wait(2)
    assert {jwt.decode(t, KeySet.import_key_set(laptop.get("/jwks").json)).claims["sid"]
            for t in tokens} == {at_laptop["sid"], at_phone["sid"]}
    assert not signs_in_without_a_page(phone)
    refreshed = phone.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": at_phone["refresh_token"],
        "client_id": "portal-bcl", "client_secret": "bcl-secret-0123456789abcdef"})
    assert refreshed.status_code == 400


def test_sign_out_everywhere_needs_the_form_token(app: Any, client: Any, user: str) -> None:
    get_code(client)
    assert client.post("/signout-everywhere").status_code == 400
    assert signs_in_without_a_page(client)


def test_disabling_an_account_tells_portals_by_back_channel(
    app: Any, client: Any, user: str, receiver: LogoutReceiver
) -> None:
    from idp.admin import operations
    from idp.admin.roles import Actor

    register_portal_with_backchannel(app, receiver.uri)
    portal = signed_in_portal(app, client)
    with app.test_request_context():
        operations.disable_person(Actor("test", "support"), user)
    [token] = receiver.wait()
    check_logout_token(client, token, portal)


def test_a_rolled_back_change_tells_nobody(
    app: Any, client: Any, user: str, receiver: LogoutReceiver
) -> None:
    from idp.store.models import User
    from idp.store.users import sign_out_everywhere

    register_portal_with_backchannel(app, receiver.uri)
    signed_in_portal(app, client)
    with app.test_request_context():
        person = db.session.query(User).one()
        sign_out_everywhere(person, app.extensions["idp"].clock.now())
        db.session.rollback()
    assert receiver.wait(seconds=0.5) == []
    assert json.dumps(receiver.received) == "[]"


# -- front-channel logout -----------------------------------------------------------------


def register_portal_with_frontchannel(app: Any) -> None:
    with app.app_context():
        registration = validate_registration(
            {"client_id": "portal-bcl", "name": "Portal with front-channel logout",
             "type": "confidential", "token_endpoint_auth_method": "client_secret_post",
             "redirect_uris": ["http://127.0.0.1:8000/callback"],
             "post_logout_redirect_uris": ["http://127.0.0.1:8000/signed-out"],
             "policies": ["B2C_1_signin"],
             "frontchannel_logout_uri": "https://portal.example/frontchannel-logout"},
            "test", generated_secret=True)
        save_registration(registration, app.extensions["idp"].clock.now(), "cli",
                          "bcl-secret-0123456789abcdef")
        db.session.commit()


def test_the_signed_out_page_loads_each_portals_front_channel_logout(
    app: Any, client: Any, user: str
) -> None:
    register_portal_with_frontchannel(app)
    portal = signed_in_portal(app, client)
    response = client.get("/logout")
    page = response.get_data(as_text=True)
    expected = ("https://portal.example/frontchannel-logout?"
                + urlencode({"iss": portal["iss"], "sid": portal["sid"]}))
    assert f'src="{expected.replace("&", "&amp;")}"' in page
    assert "frame-src https://portal.example;" in response.headers["Content-Security-Policy"]


def test_front_channel_logout_then_goes_on_to_the_portal(app: Any, client: Any, user: str) -> None:
    register_portal_with_frontchannel(app)
    portal = signed_in_portal(app, client)
    response = client.get("/logout?" + urlencode({
        "id_token_hint": portal["id_token"],
        "post_logout_redirect_uri": "http://127.0.0.1:8000/signed-out", "state": "bye"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<iframe" in page
    assert 'content="2;url=http://127.0.0.1:8000/signed-out?state=bye"' in page
    assert 'href="http://127.0.0.1:8000/signed-out?state=bye"' in page
