"""Two Gatehouse processes on one PostgreSQL and one Redis serve one deployment: a journey
started on one finishes on the other, tokens from one refresh and introspect on the
other, a key rotated on one signs on both, and throttles count together."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from idp.extensions import db
from tests.conftest import PASSWORD, add_user, build_app, redis_url
from tests.flows import authorize_params, csrf_token, exchange, pkce_pair, query_of, step_id

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
JENNY = "jenny.hinsen@example.com"
SECRET = "confidential-secret-0123456789abcdef"


@pytest.fixture
def pair(settings: dict[str, Any], clock: Any) -> Any:
    """Two instances of one deployment: same database, Redis, secrets and base URL."""
    shared = {**settings, "redis.url": redis_url(), "throttle.signin": "6/minute"}
    first, second = build_app(shared, clock), build_app(shared, clock)
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def hand_over(source: Any, target: Any) -> None:
    """The browser's cookies, as a load balancer would let it take them to the other."""
    for name in ("gatehouse_session",):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def browser(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_journey_started_on_one_instance_finishes_on_the_other(pair: Any) -> None:
    first, second = pair
    add_user(first)
    verifier, challenge = pkce_pair()
    on_first, on_second = browser(first, "198.51.100.7"), browser(second, "198.51.100.7")
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    path = urlsplit(on_first.get("/authorize?" + urlencode(params)).headers["Location"]).path
    html = on_first.get(path).get_data(as_text=True)
    hand_over(on_first, on_second)
    response = on_second.post(path, data={"csrf_token": csrf_token(html), "step": step_id(html),
                                          "email": JENNY, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    code = query_of(response.headers["Location"])["code"]
    tokens = exchange(on_first, code, verifier).json
    # Issued by the first; refreshed and introspected by the second.
    refreshed = on_second.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": "portal", "client_secret": SECRET})
    assert refreshed.status_code == 200
    basic = base64.b64encode(f"portal:{SECRET}".encode()).decode()
    answer = on_second.post("/introspect", data={"token": refreshed.json["access_token"]},
                            headers={"Authorization": f"Basic {basic}"})
    assert answer.json["active"] is True
    # The first instance knows the old refresh token was used: reuse is caught there too.
    reused = on_first.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": "portal", "client_secret": SECRET})
    assert reused.json["error"] == "invalid_grant"


def test_a_key_rotated_on_one_instance_is_published_and_used_by_both(pair: Any) -> None:
    from idp.admin import operations
    from idp.admin.roles import Actor

    first, second = pair
    with first.test_request_context():
        new = operations.rotate_keys(Actor("test", "admin"), immediately=True)
    for app in (first, second):
        client = app.test_client()
        assert new["kid"] in {k["kid"] for k in client.get("/jwks").json["keys"]}
        token = client.post("/token", data={"grant_type": "client_credentials"}, headers={
            "Authorization": "Basic " + base64.b64encode(
                b"machine:machine-secret-0123456789abcdef").decode()}).json["access_token"]
        header = token.split(".")[0]
        assert new["kid"] in base64.urlsafe_b64decode(header + "==").decode()


def test_an_instance_that_has_the_keys_cached_picks_up_a_rotation_within_the_cache_time(
    settings: dict[str, Any], clock: Any
) -> None:
    import time

    from idp.admin import operations
    from idp.admin.roles import Actor

    shared = {**settings, "redis.url": redis_url(), "keys.cache_seconds": 1}
    first, second = build_app(shared, clock), build_app(shared, clock)
    reader = second.test_client()
    before = {k["kid"] for k in reader.get("/jwks").json["keys"]}
    with first.test_request_context():
        new = operations.rotate_keys(Actor("test", "admin"), immediately=True)
    # The rotating instance forgets its cached keys at once; the other within a second.
    assert new["kid"] in {k["kid"] for k in first.test_client().get("/jwks").json["keys"]}
    assert {k["kid"] for k in reader.get("/jwks").json["keys"]} == before
    time.sleep(1.1)
    assert new["kid"] in {k["kid"] for k in reader.get("/jwks").json["keys"]}
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_throttles_and_lockouts_count_across_instances(pair: Any) -> None:
    first, second = pair
    add_user(first)
    address = f"203.0.113.{secrets.randbelow(200) + 1}"
    statuses = []
    for n in range(7):
        app = first if n % 2 == 0 else second
        client = browser(app, address)
        params = authorize_params()
        path = urlsplit(client.get("/authorize?" + urlencode(params)).headers["Location"]).path
        html = client.get(path).get_data(as_text=True)
        statuses.append(client.post(path, data={
            "csrf_token": csrf_token(html), "step": step_id(html), "email": JENNY,
            "password": f"wrong-{n}"}).status_code)
    assert statuses[:6] == [200] * 6 and statuses[6] == 429


def test_a_refresh_token_presented_twice_at_once_succeeds_once_and_revokes_its_family(
    settings: dict[str, Any], clock: Any
) -> None:
    """Two instances get the same refresh token at the same moment: exactly one answers
    with tokens, and the reuse rule (RFC 9700 §4.14.2) revokes the family, so the winner's
    new refresh token is refused too."""
    import threading

    from tests.conftest import LiveServer
    from tests.flows import get_code

    servers = [LiveServer(settings, clock) for _ in range(2)]
    try:
        add_user(servers[0].app)
        client = servers[0].app.test_client()
        code, _, verifier = get_code(client)
        refresh = exchange(client, code, verifier).json["refresh_token"]
        import requests

        barrier = threading.Barrier(2)
        answers: list[Any] = [None, None]

        def present(index: int) -> None:
            barrier.wait()
            answers[index] = requests.post(f"{servers[index].url}/token", data={
                "grant_type": "refresh_token", "refresh_token": refresh,
                "client_id": "portal", "client_secret": SECRET}, timeout=30)

        threads = [threading.Thread(target=present, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 400], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()
        loser = next(a for a in answers if a.status_code == 400).json()
        assert loser["error"] == "invalid_grant"
        again = client.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": winner["refresh_token"],
            "client_id": "portal", "client_secret": SECRET})
        assert again.json["error"] == "invalid_grant"
    finally:
        for server in servers:
            server.stop()
