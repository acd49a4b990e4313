"""RFC 7591 dynamic client registration and RFC 7592 client configuration: off by default,
behind an initial access token, the RFCs' errors, and a registered client that works."""

from __future__ import annotations

from typing import Any

import pytest

from idp.extensions import db
from idp.store.models import AuditEvent, Client
from tests.conftest import build_app
from tests.flows import exchange, get_code

INITIAL = "initial-access-token-0123456789"


@pytest.fixture
def app(settings: dict[str, Any], clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IDP_REGISTRATION_INITIAL_ACCESS_TOKEN", INITIAL)
    app = build_app({**settings, "registration.enabled": True}, clock)
    yield app
    with app.app_context():
        db.engine.dispose()


def register(client: Any, body: dict[str, Any], token: str | None = INITIAL) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/register", json=body, headers=headers)


PORTAL = {
    "client_name": "School meals portal",
    "redirect_uris": ["http://127.0.0.1:8000/callback"],
    "token_endpoint_auth_method": "client_secret_post",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "openid profile email offline_access",
    "policies": ["B2C_1_signin"],
}


def test_registration_is_off_by_default(settings: dict[str, Any], clock: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_REGISTRATION_INITIAL_ACCESS_TOKEN", INITIAL)
    client = build_app(settings, clock).test_client()
    assert register(client, PORTAL).status_code == 404
    assert "registration_endpoint" not in client.get("/.well-known/openid-configuration").json


def test_discovery_names_the_endpoint_when_it_is_on(client: Any) -> None:
    metadata = client.get("/.well-known/openid-configuration").json
    assert metadata["registration_endpoint"] == "http://127.0.0.1:5000/register"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_registration_needs_the_initial_access_token(client: Any, token: str | None) -> None:
    response = register(client, PORTAL, token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_registration_is_closed_while_no_initial_token_is_set(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDP_REGISTRATION_INITIAL_ACCESS_TOKEN")
    assert register(client, PORTAL, "").status_code == 401


def test_a_registered_client_signs_a_person_in(app: Any, client: Any, user: str) -> None:
    response = register(client, PORTAL)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.json
    assert answer["client_secret"] and answer["client_secret_expires_at"] == 0
    assert answer["registration_access_token"]
    assert answer["registration_client_uri"] == (
        f"http://127.0.0.1:5000/register/{answer['client_id']}")
    assert answer["redirect_uris"] == PORTAL["redirect_uris"]
    code, _, verifier = get_code(client, client_id=answer["client_id"])
    tokens = exchange(client, code, verifier, client_id=answer["client_id"],
                      client_secret=answer["client_secret"])
    assert tokens.status_code == 200 and tokens.json["id_token"]
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=answer["client_id"]).one()
        assert row.source == "dynamic"
        assert answer["client_secret"] not in (row.secret_hash or "")
        event = db.session.query(AuditEvent).filter_by(event_type="client.registered").one()
        assert event.actor == "registration" and event.ip_address == "127.0.0.1"


def test_a_registered_client_may_use_only_its_policies(client: Any, user: str) -> None:
    answer = register(client, PORTAL).json
    response = client.get(
        "/leicsb2c.onmicrosoft.com/B2C_1_parent_signup_signin/oauth2/v2.0/authorize?"
        f"client_id={answer['client_id']}&response_type=code&scope=openid"
        "&redirect_uri=http://127.0.0.1:8000/callback&state=s")
    assert "error=invalid_request" in response.headers["Location"]


def test_a_public_client_gets_no_secret(client: Any) -> None:
    answer = register(client, {**PORTAL, "token_endpoint_auth_method": "none"}).json
    assert not answer.get("client_secret")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uris": ["http://portal.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://portal.example/cb#x"]}, "invalid_redirect_uri"),
        ({"scope": "openid gatehouse.admin"}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "magic"}, "invalid_client_metadata"),
        ({"policies": ["B2C_1_nonsense"]}, "invalid_client_metadata"),
        ({"policies": None}, "invalid_client_metadata"),
    ],
    ids=["http", "fragment", "admin-scope", "implicit", "client-credentials", "auth-method",
         "unknown-policy", "no-policy"],
)
def test_bad_metadata_gets_the_rfcs_error(client: Any, change: dict[str, Any],
                                          error: str) -> None:
    body = {**PORTAL, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = register(client, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == error
    assert response.json.get("error_description")


def test_read_update_and_delete_with_the_registration_access_token(
    app: Any, client: Any, user: str
) -> None:
    answer = register(client, PORTAL).json
    uri = f"/register/{answer['client_id']}"
    bearer = {"Authorization": f"Bearer {answer['registration_access_token']}"}
    read = client.get(uri, headers=bearer)
    assert read.status_code == 200 and read.json["client_name"] == "School meals portal"
    assert "client_secret" not in read.json or read.json["client_secret"] is None
    updated = client.put(uri, headers=bearer, json={
        **PORTAL, "client_id": answer["client_id"], "client_name": "School meals",
        "redirect_uris": ["https://meals.example/cb"]})
    assert updated.status_code == 200, updated.get_data(as_text=True)
    assert updated.json["redirect_uris"] == ["https://meals.example/cb"]
    wrong_id = client.put(uri, headers=bearer, json={**PORTAL, "client_id": "someone-else"})
    assert wrong_id.status_code == 400
    code, _, verifier = get_code(client)  # the shipped portal signs Jenny in; unaffected
    assert exchange(client, code, verifier).status_code == 200
    assert client.delete(uri, headers=bearer).status_code == 204
    assert client.get(uri, headers=bearer).status_code == 401
    with app.app_context():
        assert db.session.query(Client).filter_by(client_id=answer["client_id"]).count() == 0


def test_another_clients_registration_token_is_refused(client: Any) -> None:
    first = register(client, PORTAL).json
    second = register(client, PORTAL).json
    other = {"Authorization": f"Bearer {second['registration_access_token']}"}
    assert client.get(f"/register/{first['client_id']}", headers=other).status_code in (401, 403)
    assert client.delete(f"/register/{first['client_id']}", headers=other).status_code in (401, 403)
    assert client.get(f"/register/{first['client_id']}").status_code == 401


def test_clients_from_files_cannot_be_managed_this_way(client: Any) -> None:
    own = register(client, PORTAL).json
    bearer = {"Authorization": f"Bearer {own['registration_access_token']}"}
    assert client.get("/register/portal", headers=bearer).status_code in (401, 403)
    assert client.delete("/register/portal", headers=bearer).status_code in (401, 403)
