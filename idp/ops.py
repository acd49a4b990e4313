"""Running Gatehouse: health and readiness, Prometheus metrics, request ids and JSON logs.

* ``GET /healthz``: the process answers (a liveness probe; touches nothing else).
* ``GET /readyz``: the database, and Redis when ``redis.url`` is set, answer; 503 names
  the one that does not, so a load balancer stops sending people to this instance.
* ``GET /metrics``: Prometheus text (idp/metrics.py). With ``metrics.token_env`` set, it
  needs that bearer token; keep it off the public internet either way.
* Every request gets an id: the proxy's ``X-Request-Id`` when it is a plain token, else a
  new one; it is in the response's ``X-Request-Id`` and in every log line the request
  writes. ``logging.format = "json"`` writes one JSON object per line.

Nothing secret reaches a log: codes, passwords and tokens are never logged, and the JSON
formatter drops query strings from any URL in a message.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from idp.extensions import db
from idp.metrics import MESSAGES, REQUEST_SECONDS

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_from(given: str) -> str:
    """The request's id: the caller's X-Request-Id when it is a plain token (a proxy's or
    gateway's, so logs join up), else a new one."""
    return given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(12)


_QUERY = re.compile(r"(https?://[^\s?]+)\?\S*")


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id."""

    def format(self, record: logging.LogRecord) -> str:
        message = _QUERY.sub(r"\1?…", record.getMessage())
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
            "request_id": getattr(record, "request_id", None) or request_id(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: str) -> None:
    """Logs to standard error, as gunicorn and containers expect; ``none`` leaves logging
    to whatever embeds Gatehouse."""
    # authlib's debug lines print tokens, codes and client secrets in full: never let
    # them through, whatever else is configured.
    logging.getLogger("authlib").setLevel(logging.INFO)
    if log_format == "none":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    for name in ("idp", "gunicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "_gatehouse", False)]
        handler._gatehouse = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(level.upper())


class CountedSender:
    """Wraps an email, SMS or voice sender to count what it sends and what fails."""

    def __init__(self, sender: Any, channel: str) -> None:
        self._sender = sender
        self._channel = channel

    def _counted(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = getattr(self._sender, method)(*args, **kwargs)
        except Exception:
            MESSAGES.labels(channel=self._channel, outcome="failed").inc()
            raise
        MESSAGES.labels(channel=self._channel, outcome="sent").inc()
        return result

    def send(self, *args: Any, **kwargs: Any) -> Any:
        return self._counted("send", *args, **kwargs)

    def send_sms(self, *args: Any, **kwargs: Any) -> Any:
        return self._counted("send_sms", *args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        return self._counted("call", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sender, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # Settings changed on the sender (a new SMTP port) reach the real one.
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._sender, name, value)


#: Paths that answer machines: a 503 there is JSON, not a page.
_API_PATHS = re.compile(
    r"^/(admin/api/|register|token|userinfo|revoke|introspect|jwks|\.well-known/)"
    r"|/oauth2/v2\.0/(token|revoke|introspect)$|/openid/v2\.0/userinfo$|/discovery/v2\.0/keys$"
    r"|/v2\.0/\.well-known/"
)


def service_unavailable(error: Exception) -> Response:
    """The database stopped answering: nothing was written (the transaction rolled back),
    so say "try again shortly" — a page for people, 503 with Retry-After for APIs."""
    from flask import render_template

    db.session.rollback()
    logging.getLogger("idp.ops").error("database unavailable: %s", type(error).__name__)
    headers = {"Retry-After": "30", "Cache-Control": "no-store"}
    if _API_PATHS.search(request.path):
        body = {"error": "temporarily_unavailable",
                "error_description": "The service is unavailable. Try again shortly."}
        return Response(json.dumps(body), 503, {**headers, "Content-Type": "application/json"})
    again = request.full_path if request.method == "GET" else request.path
    return Response(render_template("unavailable.html", again=again), 503, headers)


def _redis_ping(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def init_app(app: Flask, settings: dict[str, Any]) -> None:
    runtime = app.extensions["idp"]
    runtime.mailer = CountedSender(runtime.mailer, "email")
    runtime.sms = CountedSender(runtime.sms, "sms")
    runtime.voice = CountedSender(runtime.voice, "voice")
    configure_logging(settings["logging.format"], settings["logging.level"])
    metrics_token = os.environ.get(settings["metrics.token_env"] or "", "")

    @app.before_request
    def start_request() -> None:
        g.request_id = request_id_from(request.headers.get("X-Request-Id", ""))
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        started = g.get("started")
        if started is not None:
            REQUEST_SECONDS.labels(
                endpoint=request.endpoint or "unknown",
                method=request.method,
                status=f"{response.status_code // 100}xx",
            ).observe(time.perf_counter() - started)
        return response

    from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

    for failure in (OperationalError, DisconnectionError):
        app.register_error_handler(failure, service_unavailable)

    def database_error(error: DBAPIError) -> Response:
        if error.connection_invalidated:
            return service_unavailable(error)
        raise error

    app.register_error_handler(DBAPIError, database_error)

    @app.get("/healthz")
    def healthz() -> Response:
        response = jsonify({"status": "ok"})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/readyz")
    def readyz() -> Response:
        checks: dict[str, str] = {}
        try:
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
            checks["database"] = "ok"
        except Exception as error:  # any failure means not ready
            db.session.rollback()
            checks["database"] = f"unavailable: {type(error).__name__}"
        if settings["redis.url"]:
            try:
                _redis_ping(settings["redis.url"])
                checks["redis"] = "ok"
            except Exception as error:
                checks["redis"] = f"unavailable: {type(error).__name__}"
        ready = all(value == "ok" for value in checks.values())
        response = jsonify({"status": "ok" if ready else "unavailable", "checks": checks})
        response.status_code = 200 if ready else 503
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        if metrics_token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), metrics_token.encode()):
                return Response("metrics need the bearer token\n", 401,
                                {"WWW-Authenticate": 'Bearer realm="metrics"'})
        registry: Any = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import CollectorRegistry, multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST,
                                                         "Cache-Control": "no-store"})
