"""The admin API (/admin/api): who may call it, every operation on people, clients, keys
and the audit log, and every refusal."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from idp.extensions import db
from idp.store.clients import save_registration, validate_registration
from idp.store.models import (
    AuditEvent,
    Client,
    Identity,
    MfaMethod,
    PendingSignup,
    TokenFamily,
    User,
)
from tests.conftest import add_user
from tests.flows import authorize_params, exchange, get_code, query_of

ROBOT_SECRET = "robot-secret-0123456789abcdef"
JENNY = "jenny.hinsen@example.com"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def register_robot(app: Any, client_id: str, scopes: list[str]) -> None:
    """A back-end service registered for the client_credentials grant."""
    with app.app_context():
        registration = validate_registration(
            {
                "client_id": client_id,
                "name": f"Robot {client_id}",
                "type": "confidential",
                "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": ["https://robot.example/unused"],
                "grant_types": ["client_credentials"],
                "scopes": scopes,
            },
            "test",
            generated_secret=True,
        )
        save_registration(registration, app.extensions["idp"].clock.now(), "cli", ROBOT_SECRET)
        db.session.commit()


def robot_token(client: Any, client_id: str, scope: str) -> str:
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": basic(client_id, ROBOT_SECRET)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["scope"] == scope
    return str(response.json["access_token"])


class Api:
    """Calls /admin/api with one bearer token."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = f"/admin/api{path}" + (f"?{urlencode(query)}" if query else "")
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs["json"] = body
        return self.client.open(url, method=method, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **query: Any) -> Any:
        response = self.call(method, path, body, **query)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.json


@pytest.fixture
def admin(app: Any, client: Any) -> Api:
    register_robot(app, "ops-robot", ["gatehouse.admin"])
    return Api(client, robot_token(client, "ops-robot", "gatehouse.admin"))


@pytest.fixture
def support(app: Any, client: Any) -> Api:
    register_robot(app, "helpdesk-robot", ["gatehouse.support"])
    return Api(client, robot_token(client, "helpdesk-robot", "gatehouse.support"))


def object_id_of(app: Any, email: str = JENNY) -> str:
    with app.app_context():
        return str(db.session.query(User).filter_by(email=email).one().object_id)


def events(app: Any, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.query(AuditEvent).filter_by(event_type=event_type).all()
        db.session.expunge_all()
        return rows


# -- who may call ----------------------------------------------------------------------


def test_no_token_no_access(client: Any) -> None:
    response = Api(client, None).call("GET", "/users", q="jenny")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gatehouse-admin"'
    assert response.json["error"] == "authentication_required"


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer not-a-token-we-issued"])
def test_a_malformed_or_unknown_token_is_refused(client: Any, header: str) -> None:
    response = client.get("/admin/api/keys", headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_without_an_admin_scope_is_refused(client: Any) -> None:
    token = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "openid"},
        headers={"Authorization": basic("machine", "machine-secret-0123456789abcdef")},
    ).json["access_token"]
    response = Api(client, token).call("GET", "/users", q="jenny")
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_persons_access_token_is_not_an_admin_token(app: Any, client: Any, user: str) -> None:
    code, _, verifier = get_code(client)
    token = exchange(client, code, verifier).json["access_token"]
    assert Api(client, token).call("GET", "/users", q="jenny").status_code == 403


def test_admin_scopes_are_never_given_to_a_sign_in(client: Any) -> None:
    params = authorize_params(scope="openid gatehouse.admin")
    response = client.get("/authorize?" + urlencode(params))
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_scope"


def test_a_client_cannot_ask_for_an_admin_scope_it_was_not_registered_with(
    app: Any, client: Any
) -> None:
    register_robot(app, "helpdesk-robot", ["gatehouse.support"])
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "gatehouse.admin"},
        headers={"Authorization": basic("helpdesk-robot", ROBOT_SECRET)},
    )
    scope = (response.json or {}).get("scope", "")
    assert "gatehouse.admin" not in scope


def test_an_expired_token_is_refused(admin: Api, clock: Any) -> None:
    admin.ok("GET", "/keys")
    clock.advance(hours=2)
    assert admin.call("GET", "/keys").status_code == 401


def test_a_disabled_clients_token_stops_working(app: Any, admin: Api, client: Any) -> None:
    register_robot(app, "helpdesk-robot", ["gatehouse.support"])
    helpdesk = Api(client, robot_token(client, "helpdesk-robot", "gatehouse.support"))
    helpdesk.ok("GET", "/users", q="jenny")
    admin.ok("POST", "/clients/helpdesk-robot/disable")
    assert helpdesk.call("GET", "/users", q="jenny").status_code == 401


def test_support_cannot_touch_clients_or_keys(support: Api) -> None:
    for method, path, body in [
        ("GET", "/clients", None),
        ("GET", "/clients/portal", None),
        ("POST", "/clients", {"name": "X", "type": "public",
                              "redirect_uris": ["https://x.example/cb"]}),
        ("PATCH", "/clients/portal", {"name": "Renamed"}),
        ("POST", "/clients/portal/rotate-secret", {}),
        ("POST", "/clients/portal/disable", None),
        ("DELETE", "/clients/portal", None),
        ("GET", "/keys", None),
        ("POST", "/keys/rotate", {}),
    ]:
        response = support.call(method, path, body)
        assert response.status_code == 403, (method, path, response.get_data(as_text=True))
        assert response.json["error"] == "forbidden"


def test_support_reads_only_the_audit_events_about_people(
    app: Any, admin: Api, support: Api, user: str
) -> None:
    admin.ok("POST", "/keys/rotate", {}, status=201)
    admin.ok("POST", f"/users/{user}/disable")
    seen = {e["type"] for e in support.ok("GET", "/audit")["events"]}
    assert "user.disabled" in seen and "keys.rotated" not in seen
    assert "keys.rotated" in {e["type"] for e in admin.ok("GET", "/audit")["events"]}


# -- people ----------------------------------------------------------------------------


def test_search_answers_which_way_each_person_signed_up(app: Any, support: Api) -> None:
    jenny = add_user(app, phone_number="+447759140004")
    with app.app_context():
        rt = app.extensions["idp"]
        google = User(email="sam@gmail.example", given_name="Sam", family_name="Patel",
                      created_at=rt.clock.now(), updated_at=rt.clock.now(), claims={})
        google.identities.append(Identity(route="google", issuer="https://accounts.google.com",
                                          subject="1234567890", created_at=rt.clock.now()))
        db.session.add(google)
        db.session.commit()
    for term in ("jenny.hinsen", "Jenny Hinsen", "07759 140004", jenny):
        [found] = support.ok("GET", "/users", q=term)["users"]
        assert found["object_id"] == jenny and found["signs_in_with"] == ["local"]
    [sam] = support.ok("GET", "/users", q="sam patel")["users"]
    assert sam["signs_in_with"] == ["google"]
    assert support.ok("GET", "/users", q="nobody")["users"] == []


def test_search_needs_a_term(support: Api) -> None:
    for query in ({}, {"q": "   "}):
        response = support.call("GET", "/users", **query)
        assert response.status_code == 400 and response.json["field"] == "q"


def test_show_gives_routes_second_factors_consents_and_sign_ins(
    app: Any, client: Any, support: Api, user: str
) -> None:
    get_code(client)  # one sign-in
    with app.app_context():
        person = db.session.query(User).one()
        db.session.add(MfaMethod(user_id=person.id, kind="phone", phone_number="+447400123456",
                                 phone_type="mobile", created_at=person.created_at))
        db.session.commit()
    detail = support.ok("GET", f"/users/{user}")
    assert detail["identities"][0]["route"] == "local"
    assert detail["mfa_methods"][0]["phone_number"] == "+447400123456"
    assert detail["last_sign_ins"][0]["route"] == "local"
    assert detail["has_password"] is True


def test_unknown_person_is_not_found(support: Api) -> None:
    response = support.call("GET", "/users/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404 and response.json["error"] == "not_found"
    assert support.call("GET", "/users/not-an-object-id").status_code == 400


def test_a_disabled_person_cannot_sign_in_and_their_refresh_token_stops(
    app: Any, client: Any, support: Api, user: str
) -> None:
    code, _, verifier = get_code(client)
    tokens = exchange(client, code, verifier).json
    answer = support.ok("POST", f"/users/{user}/disable")
    assert answer["enabled"] is False
    refreshed = client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": "portal", "client_secret": "confidential-secret-0123456789abcdef"})
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"
    userinfo = client.get("/userinfo",
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 401
    # Signing in again is refused with the sign-in page's one answer.
    fresh = app.test_client()
    response = fresh.get("/authorize?" + urlencode(authorize_params()))
    page = fresh.get(urlsplit(response.headers["Location"]).path).get_data(as_text=True)
    from tests.flows import csrf_token, step_id

    refused = fresh.post(urlsplit(response.headers["Location"]).path, data={
        "csrf_token": csrf_token(page), "step": step_id(page), "email": JENNY,
        "password": "Correct-Horse-Battery-9"})
    assert refused.status_code == 200  # the page again, not a code
    support.ok("POST", f"/users/{user}/enable")
    assert get_code(app.test_client())[0]
    [disabled] = events(app, "user.disabled")
    assert disabled.actor == "client:helpdesk-robot"
    assert disabled.ip_address == "127.0.0.1"
    assert disabled.details["role"] == "support"
    assert disabled.details["token_families_revoked"] == 1


def test_reset_mfa_forgets_second_factors(app: Any, support: Api, user: str) -> None:
    with app.app_context():
        person = db.session.query(User).one()
        db.session.add(MfaMethod(user_id=person.id, kind="app", secret=b"sealed",
                                 created_at=person.created_at))
        person.mfa_blocked_until = person.created_at + timedelta(days=1)
        db.session.commit()
    detail = support.ok("POST", f"/users/{user}/reset-mfa")
    assert detail["mfa_methods"] == [] and detail["locked_until"] is None
    assert detail["phone_number"] is None
    assert events(app, "mfa.reset")[0].details["methods_removed"] == 1


def test_unlock_lifts_a_block(app: Any, support: Api, user: str, clock: Any) -> None:
    with app.app_context():
        db.session.query(User).one().mfa_blocked_until = clock.now() + timedelta(minutes=15)
        db.session.commit()
    assert support.ok("GET", f"/users/{user}")["locked_until"] is not None
    assert support.ok("POST", f"/users/{user}/unlock")["locked_until"] is None
    assert events(app, "user.unlocked")


def test_resend_activation_sends_a_fresh_link(app: Any, support: Api, outbox: Any,
                                              clock: Any) -> None:
    with app.app_context():
        row = PendingSignup(digest="old-digest", email="new.parent@example.com",
                            password_hash="x", claims={}, created_at=clock.now(),
                            expires_at=clock.now() + timedelta(hours=24))
        db.session.add(row)
        db.session.flush()
        row.first_id = row.id
        db.session.commit()
    [waiting] = support.ok("GET", "/users", q="new.parent")["pending_signups"]
    assert waiting["emails_sent"] == 1
    answer = support.ok("POST", "/pending-signups/resend", {"email": "new.parent@example.com"})
    assert answer["emails_sent"] == 2
    assert "/activate/" in outbox.read_text()
    missing = support.call("POST", "/pending-signups/resend", {"email": "nobody@example.com"})
    assert missing.status_code == 404 and missing.json["field"] == "email"
    bad = support.call("POST", "/pending-signups/resend", {"email": "not an address"})
    assert bad.status_code == 400 and bad.json["field"] == "email"


def test_delete_removes_the_account_and_keeps_the_audit_record(
    app: Any, admin: Api, user: str
) -> None:
    assert admin.ok("DELETE", f"/users/{user}")["object_id"] == user
    assert admin.call("GET", f"/users/{user}").status_code == 404
    with app.app_context():
        assert db.session.query(User).count() == 0
        assert db.session.query(TokenFamily).filter(TokenFamily.user_id.is_not(None)).count() == 0
    page = admin.ok("GET", "/audit", user=user)
    assert page["events"][0]["type"] == "user.deleted"
    assert page["events"][0]["actor"] == "client:ops-robot"


# -- clients ---------------------------------------------------------------------------


def test_register_use_update_rotate_disable_and_delete_a_client(
    app: Any, admin: Api, client: Any, clock: Any
) -> None:
    created = admin.ok("POST", "/clients", {
        "client_id": "reports", "name": "Reports service", "type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": ["https://reports.example/cb"], "grant_types": ["client_credentials"],
        "scopes": ["openid"],
    }, status=201)
    first = created["client_secret"]
    assert created["source"] == "api" and created["has_secret"] and len(first) > 30

    def token_with(secret: str) -> int:
        return int(client.post("/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": basic("reports", secret)}).status_code)

    assert token_with(first) == 200
    assert admin.ok("GET", "/clients/reports")["name"] == "Reports service"
    assert "reports" in [c["client_id"] for c in admin.ok("GET", "/clients")]

    changed = admin.ok("PATCH", "/clients/reports", {
        "redirect_uris": ["https://reports.example/callback"],
        "policies": ["B2C_1_signin"], "name": "Reports"})
    assert changed["redirect_uris"] == ["https://reports.example/callback"]
    assert changed["policies"] == ["B2C_1_signin"] and changed["name"] == "Reports"

    rotated = admin.ok("POST", "/clients/reports/rotate-secret", {"overlap_seconds": 600})
    second = rotated["client_secret"]
    assert rotated["previous_secret_valid_until"] is not None
    assert token_with(second) == 200 and token_with(first) == 200
    clock.advance(601)
    assert token_with(first) == 401 and token_with(second) == 200

    admin.ok("POST", "/clients/reports/disable")
    assert token_with(second) == 401
    admin.ok("POST", "/clients/reports/enable")
    assert token_with(second) == 200

    assert admin.call("DELETE", "/clients/reports").status_code == 204
    assert admin.call("GET", "/clients/reports").status_code == 404
    kinds = [e.event_type for e in events(app, "client.registered")
             + events(app, "client.updated") + events(app, "client.secret_rotated")
             + events(app, "client.disabled") + events(app, "client.deleted")]
    assert len(kinds) == 5


def test_a_public_client_gets_no_secret(admin: Api) -> None:
    created = admin.ok("POST", "/clients", {
        "name": "Parent app", "type": "public", "redirect_uris": ["com.example.parents:/cb"],
        "policies": ["B2C_1_signin"]}, status=201)
    assert created["client_secret"] is None and created["type"] == "public"
    assert created["token_endpoint_auth_method"] == "none"
    rotate = admin.call("POST", f"/clients/{created['client_id']}/rotate-secret")
    assert rotate.status_code == 409


def test_clients_from_files_are_changed_in_their_files(admin: Api) -> None:
    for method, path, body in [
        ("PATCH", "/clients/portal", {"name": "Renamed"}),
        ("POST", "/clients/portal/rotate-secret", None),
        ("DELETE", "/clients/portal", None),
    ]:
        response = admin.call(method, path, body)
        assert response.status_code == 409
        assert "clients/" in response.json["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "public", "redirect_uris": ["https://a.example/cb"]}, "name"),
        ({"name": "A", "type": "public"}, "redirect_uris"),
        ({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb#frag"]},
         "redirect_uris"),
        ({"name": "A", "type": "public", "redirect_uris": ["http://a.example/cb"]},
         "redirect_uris"),
        ({"name": "A", "type": "robot", "redirect_uris": ["https://a.example/cb"]}, "type"),
        ({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
          "policies": ["B2C_1_nonsense"]}, "policies"),
        ({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
          "scopes": ["gatehouse.admin"]}, "scopes"),
        ({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
          "colour": "red"}, "colour"),
        ({"name": "A", "type": "confidential", "redirect_uris": ["https://a.example/cb"],
          "token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
        ({"name": "   ", "type": "public", "redirect_uris": ["https://a.example/cb"]}, "name"),
        ({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
          "client_id": "has spaces"}, "client_id"),
        ({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
          "lifetimes": {"access_token": 0}}, "access_token"),
    ],
)
def test_a_bad_registration_names_the_field(admin: Api, body: dict[str, Any], field: str) -> None:
    response = admin.call("POST", "/clients", body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == field, response.json
    assert field in response.json["message"]


def test_a_client_id_cannot_be_registered_twice(admin: Api) -> None:
    body = {"client_id": "portal", "name": "A", "type": "public",
            "redirect_uris": ["https://a.example/cb"]}
    response = admin.call("POST", "/clients", body)
    assert response.status_code == 409 and response.json["field"] == "client_id"


def test_bodies_must_be_json_objects(admin: Api, client: Any) -> None:
    headers = dict(admin.headers)
    text = client.post("/admin/api/clients", data="name=A", headers={
        **headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert text.status_code == 415
    listed = client.post("/admin/api/clients", data="[1]", headers={
        **headers, "Content-Type": "application/json"})
    assert listed.status_code == 400
    broken = client.post("/admin/api/clients", data="{", headers={
        **headers, "Content-Type": "application/json"})
    assert broken.status_code == 400


def test_unknown_paths_and_methods_answer_json(admin: Api) -> None:
    missing = admin.call("GET", "/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    wrong = admin.call("PUT", "/users")
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]


# -- keys ------------------------------------------------------------------------------


def test_keys_are_listed_and_rotated(admin: Api, client: Any) -> None:
    [current] = admin.ok("GET", "/keys")
    assert current["state"] == "signing"
    added = admin.ok("POST", "/keys/rotate", {"algorithm": "ES256"}, status=201)
    assert added["state"] == "next" and added["algorithm"] == "ES256"
    kids = {k["kid"] for k in client.get("/jwks").json["keys"]}
    assert added["kid"] in kids  # published before it signs
    now = admin.ok("POST", "/keys/rotate", {"immediately": True}, status=201)
    assert now["state"] == "signing"
    bad = admin.call("POST", "/keys/rotate", {"algorithm": "HS256"})
    assert bad.status_code == 400 and bad.json["field"] == "algorithm"


# -- the audit log ---------------------------------------------------------------------


def test_audit_filters_by_person_client_type_and_time_and_pages(
    app: Any, admin: Api, user: str, clock: Any
) -> None:
    start = clock.now()
    admin.ok("POST", f"/users/{user}/disable")
    clock.advance(minutes=5)
    admin.ok("POST", f"/users/{user}/enable")
    admin.ok("POST", "/clients/basic-portal/disable")
    assert {e["type"] for e in admin.ok("GET", "/audit", user=JENNY)["events"]} == {
        "user.disabled", "user.enabled"}
    assert [e["type"] for e in admin.ok("GET", "/audit", client_id="basic-portal")["events"]] \
        == ["client.disabled"]
    assert {e["type"] for e in admin.ok("GET", "/audit", type="user.")["events"]} == {
        "user.disabled", "user.enabled"}
    later = (start + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert "user.disabled" not in {
        e["type"] for e in admin.ok("GET", "/audit", since=later)["events"]}
    assert {e["type"] for e in admin.ok("GET", "/audit", until=later)["events"]} >= {
        "user.disabled"}
    first = admin.ok("GET", "/audit", limit=1)
    assert len(first["events"]) == 1 and first["next_before"] is not None
    second = admin.ok("GET", "/audit", limit=1, before=first["next_before"])
    assert second["events"][0]["id"] < first["events"][0]["id"]
    for name, value in (("since", "yesterday"), ("limit", "0"), ("limit", "x"),
                        ("until", "2026-11-23T09:00:00")):
        response = admin.call("GET", "/audit", **{name: value})
        assert response.status_code == 400 and response.json["field"] == name


def test_the_openapi_document_describes_the_api(client: Any) -> None:
    document = client.get("/admin/api/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert "/users/{object_id}/reset-mfa" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    with client.application.app_context():
        assert db.session.query(Client).filter_by(client_id="portal").one()


def test_whole_numbers_written_with_a_decimal_point_are_whole_numbers(admin: Api) -> None:
    # JSON has one number type; schemathesis found 3600.0 refused where 3600 was not.
    created = admin.ok("POST", "/clients", {
        "name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
        "lifetimes": {"id_token": 3600.0}}, status=201)
    assert created["lifetimes"] == {"id_token": 3600}
    half = admin.call("POST", "/clients", {
        "name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"],
        "lifetimes": {"id_token": 3600.5}})
    assert half.status_code == 400 and half.json["field"] == "id_token"
