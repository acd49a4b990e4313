"""Per-address throttles: too many passwords, sign-ups or code sends from one IP address
get a page that says how long to wait (429 with Retry-After), lose nothing, and are
counted across instances through Redis."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.conftest import build_app, redis_url
from tests.flows import authorize_params, csrf_token, sign_in, step_id

JENNY = "jenny.hinsen@example.com"


def at(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def visitor(app: Any) -> Any:
    """A browser at its own made-up address, so counters never meet another test's."""
    address = f"198.51.100.{secrets.randbelow(250) + 1}"
    return at(app, address), address


def journey(client: Any, policy: str | None = None) -> str:
    path = "/authorize"
    if policy:
        path = f"/leicsb2c.onmicrosoft.com/{policy}/oauth2/v2.0/authorize"
    response = client.get(f"{path}?" + urlencode(authorize_params()))
    return urlsplit(response.headers["Location"]).path


def test_too_many_passwords_from_one_address_get_a_wait_page(
    settings: dict[str, Any], clock: Any
) -> None:
    app = build_app({**settings, "throttle.signin": "3/minute"}, clock)
    client, _ = visitor(app)
    path = journey(client)
    for n in range(3):
        assert sign_in(client, path, JENNY, f"wrong-{n}").status_code == 200
    response = sign_in(client, path, JENNY, "wrong-3")
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    page = response.get_data(as_text=True)
    assert "Wait" in page and "then try again" in page
    assert "Nothing you entered has been lost" in page
    assert f'href="{path}"' in page  # "Try again" goes back to the same page
    assert client.get(path).status_code == 200  # the journey is still there
    other, _ = visitor(app)
    assert sign_in(other, journey(other), JENNY, "wrong").status_code == 200


def test_too_many_code_sends_from_one_address_are_refused(
    settings: dict[str, Any], clock: Any
) -> None:
    app = build_app({**settings, "throttle.code_send": "2/hour"}, clock)
    client, _ = visitor(app)
    path = journey(client, "B2C_1_parent_signup_signin")

    def press(action: str, **fields: str) -> Any:
        html = client.get(path).get_data(as_text=True)
        return client.post(path, data={"csrf_token": csrf_token(html), "step": step_id(html),
                                       "action": action, **fields})

    assert press("sign_up").status_code in (200, 303)
    statuses = [press("send", email=f"parent{n}@example.com").status_code for n in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429


def test_instances_count_together_through_redis(settings: dict[str, Any], clock: Any) -> None:
    shared = {**settings, "throttle.signin": "4/minute", "redis.url": redis_url()}
    first, second = build_app(shared, clock), build_app(shared, clock)
    address = f"203.0.113.{secrets.randbelow(250) + 1}-{secrets.token_hex(4)}"
    one, two = at(first, address), at(second, address)
    for n in range(2):
        assert sign_in(one, journey(one), JENNY, f"a-{n}").status_code == 200
        assert sign_in(two, journey(two), JENNY, f"b-{n}").status_code == 200
    assert sign_in(one, journey(one), JENNY, "c").status_code == 429


def test_a_broken_counter_store_lets_people_through(settings: dict[str, Any], clock: Any) -> None:
    app = build_app({**settings, "throttle.signin": "1/minute",
                     "redis.url": "redis://127.0.0.1:1/0"}, clock)
    client, _ = visitor(app)
    path = journey(client)
    for n in range(3):
        assert sign_in(client, path, JENNY, f"wrong-{n}").status_code == 200


def test_the_token_and_introspection_endpoints_answer_429_with_retry_after(
    settings: dict[str, Any], clock: Any
) -> None:
    app = build_app({**settings, "throttle.token": "2/minute",
                     "throttle.introspect": "1/minute"}, clock)
    client, _ = visitor(app)
    basic = {"Authorization": "Basic bWFjaGluZTptYWNoaW5lLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"}
    statuses = [client.post("/token", data={"grant_type": "client_credentials"},
                            headers=basic).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.post("/token", data={"grant_type": "client_credentials"}, headers=basic)
    assert refused.json["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    assert client.post("/introspect", data={"token": "x"}, headers=basic).status_code == 200
    assert client.post("/introspect", data={"token": "x"}, headers=basic).status_code == 429
