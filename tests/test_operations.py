"""Running Gatehouse: /healthz, /readyz (database and Redis), /metrics, request ids, and
logs that carry the request id and never a code, password or token."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from idp.ops import JsonFormatter, RequestIdFilter
from tests.conftest import build_app, redis_url
from tests.flows import exchange, get_code


def test_healthz_answers_without_touching_anything(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_checks_the_database(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok"}


def test_readyz_is_503_when_the_database_is_gone(settings: dict[str, Any], clock: Any) -> None:
    from idp import create_app

    app = create_app(
        test_config={**settings, "database.url": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
        clock=clock,
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("unavailable")
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_checks_redis_when_it_is_configured(settings: dict[str, Any], clock: Any) -> None:
    ready = build_app({**settings, "redis.url": redis_url()}, clock).test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["redis"] == "ok"
    gone = build_app({**settings, "redis.url": "redis://127.0.0.1:1/0"}, clock)
    response = gone.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["redis"].startswith(
        "unavailable")


def metric(client: Any, name: str, **labels: str) -> float:
    """One labelled sample from /metrics; 0 before anything was counted."""
    text = client.get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_sign_ins_tokens_and_requests(client: Any, user: str) -> None:
    signins = metric(client, "gatehouse_events_total", type="signin.succeeded")
    access = metric(client, "gatehouse_tokens_issued_total", kind="access")
    code, _, verifier = get_code(client)
    assert exchange(client, code, verifier).status_code == 200
    assert metric(client, "gatehouse_events_total", type="signin.succeeded") == signins + 1
    assert metric(client, "gatehouse_tokens_issued_total", kind="access") == access + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'gatehouse_request_seconds_count{endpoint="protocol.token",method="POST",status="2xx"}' \
        in text


def test_metrics_can_require_a_token(settings: dict[str, Any], clock: Any,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_METRICS_TOKEN", "scraper-token-0123456789")
    client = build_app(settings, clock).test_client()
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scraper-token-0123456789"})
    assert ok.status_code == 200 and b"gatehouse_events_total" in ok.data


def test_every_response_carries_a_request_id(client: Any) -> None:
    made = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{24}", made)
    kept = client.get("/healthz", headers={"X-Request-Id": "proxy-abc-12345"})
    assert kept.headers["X-Request-Id"] == "proxy-abc-12345"
    odd = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["X-Request-Id"] != "<script>"


def test_json_log_lines_carry_the_request_id_and_drop_query_strings(app: Any) -> None:
    formatter, request_filter = JsonFormatter(), RequestIdFilter()
    with app.test_request_context("/authorize"):
        from flask import g

        g.request_id = "req-0123456789"
        record = logging.LogRecord(
            "idp.test", logging.WARNING, __file__, 1,
            "callback failed at https://portal.example/cb?code=SECRETCODE&state=x", None, None)
        request_filter.filter(record)
        line = json.loads(formatter.format(record))
    assert line["request_id"] == "req-0123456789" and line["level"] == "warning"
    assert "SECRETCODE" not in line["message"]


def test_no_code_password_or_token_reaches_the_logs(
    client: Any, user: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code, _, verifier = get_code(client)
    tokens = exchange(client, code, verifier).json
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    for secret in (code, verifier, tokens["access_token"], tokens["refresh_token"],
                   "Correct-Horse-Battery-9"):
        assert secret not in logged
