"""Discovery and JWKS answered again from memory, without the framework, while they hold.

Both documents change only with the signing keys and the settings, yet every portal and
API gateway fetches them, and Flask's request cycle is most of what they cost. A view marks
its answer publishable (``publish``) with the instant, on Gatehouse's clock, when the keys'
publication windows next change what it would say; this WSGI layer keeps the finished
answer (status, every header the after-request hooks added, body) and gives it to the next
GET for the same address until then, or until the signing keys are next read afresh
(``keys.cache_seconds``, or at once after a rotation here), whichever is sooner. A
replayed answer gets its own X-Request-Id and is counted in the request metrics like any
other. Anything that could make the answer differ (a cookie set, a Vary header, a status
other than 200) is never kept, and at most ``LIMIT`` addresses are (query strings are
free to vary).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask, request

from idp.metrics import REQUEST_SECONDS
from idp.ops import request_id_from
from idp.protocol import keys

#: Addresses kept at once per key set; more are answered the ordinary way.
LIMIT = 256
_MARK = "idp.publish_until"
_ENDPOINT = "idp.published_endpoint"

StartResponse = Callable[..., Any]
Kept = tuple[datetime, str, list[tuple[str, str]], bytes, Any]


def publish(valid_until: datetime) -> None:
    """Let this GET's answer be replayed until ``valid_until`` (on the runtime clock)."""
    request.environ[_MARK] = valid_until
    request.environ[_ENDPOINT] = request.endpoint or "unknown"


def _address(environ: dict[str, Any]) -> tuple[str, ...]:
    return (environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""))


class PublishedAnswers:
    """The WSGI layer (inside any ProxyFix, so addresses are the ones the app saw)."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def _kept(self) -> dict[Any, Any] | None:
        """This app's derived-answer cache, while the key records it hangs on are fresh."""
        cache = self.app.extensions.get(keys.CACHE_NAME)
        if not cache:
            return None
        records = cache.get("records")
        ttl = float(self.app.extensions["idp"].settings.get("keys.cache_seconds", 0))
        if records is None or ttl <= 0 or time.monotonic() - records[0] >= ttl:
            return None
        derived = cache.get("derived")
        if derived is None:
            return None
        kept: dict[Any, Any] = derived.setdefault("published", {})
        return kept

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        kept = self._kept()
        address = _address(environ)
        hit: Kept | None = kept.get(address) if kept is not None else None
        if hit is not None:
            valid_until, status, headers, body, metric = hit
            if self.app.extensions["idp"].clock.now() < valid_until:
                request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
                start_response(status, [*headers, ("X-Request-Id", request_id)])
                metric.observe(time.perf_counter() - started)
                return [body]
        return self._answer(environ, start_response, address)

    def _answer(self, environ: dict[str, Any], start_response: StartResponse,
                address: tuple[str, ...]) -> Iterable[bytes]:
        seen: list[Any] = []

        def keep_status(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            seen[:] = [status, headers]
            return start_response(status, headers, *exc)

        answer = self.wsgi_app(environ, keep_status)
        valid_until = environ.get(_MARK)
        if valid_until is None or not seen or not seen[0].startswith("200 "):
            return answer
        status, headers = seen
        names = {name.lower() for name, _ in headers}
        kept = self._kept()
        if "set-cookie" in names or "vary" in names or kept is None or len(kept) >= LIMIT:
            return answer
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        metric = REQUEST_SECONDS.labels(endpoint=environ.get(_ENDPOINT, "unknown"),
                                        method="GET", status="2xx")
        kept[address] = (valid_until, status,
                         [(n, v) for n, v in headers if n.lower() != "x-request-id"],
                         body, metric)
        return [body]


def init_app(app: Flask) -> None:
    app.wsgi_app = PublishedAnswers(app, app.wsgi_app)  # type: ignore[method-assign]
