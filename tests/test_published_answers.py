"""Discovery and JWKS replayed from memory (protocol/published.py): the same answer as the
framework gives, never one the keys or the clock have made wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import request_started

from idp.protocol import published
from tests.conftest import build_app

DISCOVERY = "/.well-known/openid-configuration"
B2C_JWKS = "/leicsb2c.onmicrosoft.com/B2C_1_signin/discovery/v2.0/keys"


@pytest.fixture
def reached(app: Any) -> Iterator[list[str]]:
    """The paths of the requests that reached Flask (a replay does not)."""
    paths: list[str] = []

    def seen(sender: Any, **extra: Any) -> None:
        from flask import request

        paths.append(request.path)

    request_started.connect(seen, app)
    yield paths
    request_started.disconnect(seen, app)


def _rotate(app: Any) -> str:
    from idp.admin import operations
    from idp.admin.roles import Actor

    with app.test_request_context():
        return str(operations.rotate_keys(Actor("test", "admin"), immediately=True)["kid"])


def _kids(response: Any) -> set[str]:
    return {key["kid"] for key in response.json["keys"]}


@pytest.mark.parametrize("path", [DISCOVERY, "/jwks", B2C_JWKS,
                                  "/leicsb2c.onmicrosoft.com/v2.0/.well-known/"
                                  "openid-configuration?p=B2C_1_signin"])
def test_a_replay_is_the_framework_answer_with_its_own_request_id(
    client: Any, reached: list[str], path: str
) -> None:
    first = client.get(path)
    second = client.get(path)

    assert first.status_code == second.status_code == 200
    assert second.data == first.data
    without_id = [(n, v) for n, v in first.headers if n != "X-Request-Id"]
    assert [(n, v) for n, v in second.headers if n != "X-Request-Id"] == without_id
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    assert len(reached) == 1


def test_a_replay_keeps_a_request_id_the_caller_gave(client: Any) -> None:
    client.get("/jwks")
    assert client.get("/jwks", headers={"X-Request-Id": "gateway-1234"}).headers[
        "X-Request-Id"] == "gateway-1234"
    assert client.get("/jwks", headers={"X-Request-Id": "<bad>"}).headers[
        "X-Request-Id"] != "<bad>"


def test_a_key_rotated_here_is_published_at_once(app: Any, client: Any) -> None:
    before = _kids(client.get("/jwks"))
    client.get(DISCOVERY)

    new = _rotate(app)

    assert _kids(client.get("/jwks")) == before | {new}
    assert new not in before


def test_a_key_whose_publication_ends_leaves_jwks_when_the_clock_passes_it(
    app: Any, client: Any, clock: Any, reached: list[str]
) -> None:
    [old] = _kids(client.get("/jwks"))
    new = _rotate(app)
    assert _kids(client.get("/jwks")) == {old, new}
    with app.app_context():
        from idp.protocol import keys

        until = next(r.publish_until for r in keys._records() if r.kid == old)
    assert until is not None

    clock.advance((until - clock.now()).total_seconds() - 1)
    assert _kids(client.get("/jwks")) == {old, new}
    clock.advance(1)
    assert _kids(client.get("/jwks")) == {new}


def test_only_gets_that_succeed_are_replayed(client: Any, reached: list[str]) -> None:
    for _ in range(2):
        assert client.get("/nobody/B2C_1_signin/discovery/v2.0/keys").status_code == 404
        assert client.head("/jwks").status_code == 200
        client.post("/jwks")
    assert len(reached) == 6


def test_without_a_key_cache_nothing_is_replayed(settings: dict[str, Any], clock: Any) -> None:
    app = build_app({**settings, "keys.cache_seconds": 0}, clock)
    paths: list[str] = []
    request_started.connect(lambda sender, **extra: paths.append("x"), app, weak=False)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/jwks").status_code == 200
    assert len(paths) == 3


def test_query_strings_cannot_fill_memory(app: Any, client: Any, reached: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(published, "LIMIT", 3)
    for _round in range(2):
        for n in range(6):
            assert client.get(f"/jwks?n={n}").status_code == 200
    # Three kept from the first round (replayed in the second); the rest asked Flask twice.
    assert len(reached) == 3 + 3 * 2


def test_replays_are_counted_in_the_request_metrics(client: Any, reached: list[str]) -> None:
    from prometheus_client import REGISTRY

    def count() -> float:
        return REGISTRY.get_sample_value("gatehouse_request_seconds_count", {
            "endpoint": "protocol.jwks", "method": "GET", "status": "2xx"}) or 0.0

    start = count()
    for _ in range(3):
        client.get("/jwks")
    assert count() - start == 3
    assert len(reached) == 1


def test_a_replay_never_outlives_the_key_cache(app: Any, client: Any,
                                               monkeypatch: pytest.MonkeyPatch,
                                               reached: list[str]) -> None:
    import time

    client.get("/jwks")
    client.get("/jwks")
    assert len(reached) == 1
    real = time.monotonic
    ttl = app.extensions["idp"].settings["keys.cache_seconds"]
    monkeypatch.setattr(time, "monotonic", lambda: real() + ttl + 1)
    client.get("/jwks")
    assert len(reached) == 2
