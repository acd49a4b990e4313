"""Loopback fakes of GOV.UK Notify and Twilio: real HTTP servers that answer as they do.

Each runs ``http.server`` on a thread at 127.0.0.1 on a free port, records every request
it is sent as a parsed dict, and answers the requests Gatehouse's clients make with the
shapes the real APIs use, including their error bodies::

    with FakeNotify(api_key=KEY) as notify:
        sender = NotifySender(KEY, notify.url, EMAIL_TEMPLATE, SMS_TEMPLATE, timeout=2)
        sender.send_sms(TextMessage(to="+447700900123", body="Your code is 481592"))
        assert notify.requests[-1]["json"]["personalisation"] == {"body": "Your code is 481592"}

        notify.fail_next(500)       # the next request gets Notify's 500 answer
        notify.stall_next(5)        # the next request is answered 5 seconds late
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

import jwt

Answer = tuple[int, dict[str, Any]]


class FakeHttpService:
    """A real HTTP server on 127.0.0.1 that records requests and answers through ``answer``.

    Subclasses implement ``answer(request)`` and ``failure(status, request)``.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._failures: list[tuple[int, str | None]] = []
        self._stalls: list[float] = []
        # Set at stop(), so a stalled answer does not keep its thread alive past the test.
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, status: int = 500, message: str | None = None) -> None:
        """Answer the next request with the real API's error body for ``status``."""
        with self._lock:
            self._failures.append((status, message))

    def stall_next(self, seconds: float) -> None:
        """Answer the next request only after ``seconds`` (or when the fake stops)."""
        with self._lock:
            self._stalls.append(seconds)

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- for subclasses ------------------------------------------------------------

    def answer(self, request: dict[str, Any]) -> Answer:
        raise NotImplementedError

    def failure(self, status: int, message: str | None, request: dict[str, Any]) -> Answer:
        raise NotImplementedError

    def parse_body(self, content_type: str, body: bytes) -> dict[str, Any]:
        return {}

    # -- the handler calls this ----------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request: dict[str, Any] = {
            "method": handler.command,
            "path": handler.path,
            "headers": {name.lower(): value for name, value in handler.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        request.update(self.parse_body(handler.headers.get("Content-Type", ""), body))
        with self._lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
            stall = self._stalls.pop(0) if self._stalls else 0.0
        if stall:
            self._stopping.wait(stall)
        status, payload = (
            self.failure(failure[0], failure[1], request) if failure else self.answer(request)
        )
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a timeout test); nobody is left to answer.
            pass


def _handler_for(service: FakeHttpService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            service.handle(self)

        def do_POST(self) -> None:
            service.handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # Keep test output quiet.

    return Handler


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


# -- GOV.UK Notify ------------------------------------------------------------------

# As the real API words them (docs.notifications.service.gov.uk, "Error codes").
NOTIFY_ERRORS = {
    400: ("BadRequestError", "Can't send to this recipient using a team-only API key"),
    403: ("AuthError", "Invalid token: API key not found"),
    429: (
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    ),
    500: ("Exception", "Internal server error"),
}


def _notify_error(status: int, error: str, message: str) -> Answer:
    return status, {"status_code": status, "errors": [{"error": error, "message": message}]}


class FakeNotify(FakeHttpService):
    """GOV.UK Notify's ``POST /v2/notifications/email`` and ``/v2/notifications/sms``.

    Every request must carry ``Authorization: Bearer <JWT>``. Given ``api_key``, the fake
    also checks the token as Notify does: HS256, signed with the key's secret, issued by
    its service id within the last 30 seconds. Each request dict has ``json`` (the body)
    and ``jwt`` (the token's claims).

    Example::

        with FakeNotify() as notify:
            ...
            assert notify.requests[0]["json"]["template_id"] == SMS_TEMPLATE
    """

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        super().__init__()

    def parse_body(self, content_type: str, body: bytes) -> dict[str, Any]:
        return {"json": _parse_json(body)}

    def answer(self, request: dict[str, Any]) -> Answer:
        refused = self._check_token(request)
        if refused:
            return refused
        kind = {"/v2/notifications/email": "email", "/v2/notifications/sms": "sms"}.get(
            request["path"]
        )
        if request["method"] != "POST" or kind is None:
            return _notify_error(404, "NotFound", "The requested URL was not found on the server.")
        notification = request["json"]
        if not isinstance(notification, dict):
            return _notify_error(400, "ValidationError", "Invalid JSON supplied in POST data")
        recipient = "email_address" if kind == "email" else "phone_number"
        for field in (recipient, "template_id"):
            if not notification.get(field):
                return _notify_error(400, "ValidationError", f"{field} is a required property")
        personalisation = notification.get("personalisation") or {}
        needed = ("subject", "body") if kind == "email" else ("body",)
        missing = [name for name in needed if name not in personalisation]
        if missing:
            return _notify_error(
                400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}"
            )
        return HTTPStatus.CREATED, self._created(kind, notification, personalisation)

    def failure(self, status: int, message: str | None, request: dict[str, Any]) -> Answer:
        error, default = NOTIFY_ERRORS.get(status, ("Exception", "Internal server error"))
        return _notify_error(status, error, message or default)

    def _check_token(self, request: dict[str, Any]) -> Answer | None:
        scheme, _, token = request["headers"].get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return _notify_error(
                401, "AuthError", "Unauthorized: authentication token must be provided"
            )
        try:
            if self.api_key is None:
                claims = jwt.decode(token, options={"verify_signature": False})
            else:
                claims = jwt.decode(
                    token, self.api_key[-36:], algorithms=["HS256"], issuer=self.api_key[-73:-37]
                )
        except jwt.PyJWTError:
            return _notify_error(403, "AuthError", "Invalid token: signature, api token not found")
        if abs(time.time() - int(claims.get("iat", 0))) > 30:
            return _notify_error(403, "AuthError", "Error: Your system clock must be accurate")
        request["jwt"] = claims
        return None

    def _created(
        self, kind: str, notification: dict[str, Any], personalisation: dict[str, Any]
    ) -> dict[str, Any]:
        notification_id = str(uuid.uuid4())
        template_id = notification["template_id"]
        content: dict[str, Any] = {"body": personalisation["body"]}
        if kind == "email":
            content.update(subject=personalisation["subject"], from_email="council@notify.test")
        else:
            content.update(from_number="GOVUK")
        return {
            "id": notification_id,
            "reference": notification.get("reference"),
            "content": content,
            "uri": f"{self.url}/v2/notifications/{notification_id}",
            "template": {
                "id": template_id,
                "version": 1,
                "uri": f"{self.url}/services/fake/templates/{template_id}",
            },
            "scheduled_for": None,
        }


# -- Twilio -------------------------------------------------------------------------

# As the real API words them (twilio.com/docs/api/errors).
TWILIO_ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
}


def _twilio_error(status: int, code: int, message: str) -> Answer:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio(FakeHttpService):
    """Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``/Calls.json``.

    Requests must use basic auth as ``account_sid``:``auth_token`` and name that account
    in the path. Each request dict has ``form`` (the form-encoded parameters, one value
    each) and ``auth`` (the user name and password).

    Example::

        with FakeTwilio("AC" + "0" * 32, "token") as twilio:
            ...
            assert twilio.requests[0]["form"]["Body"] == "Your code is 481592"
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        super().__init__()

    def parse_body(self, content_type: str, body: bytes) -> dict[str, Any]:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        return {"form": {name: values[0] for name, values in fields.items()}}

    def answer(self, request: dict[str, Any]) -> Answer:
        request["auth"] = _basic_auth(request["headers"].get("authorization", ""))
        if request["auth"] != (self.account_sid, self.auth_token):
            return _twilio_error(401, *TWILIO_ERRORS[401])
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/"
        path = request["path"]
        resource = path.removeprefix(prefix) if path.startswith(prefix) else None
        if request["method"] != "POST" or resource not in ("Messages.json", "Calls.json"):
            return _twilio_error(
                404, 20404, f"The requested resource {request['path']} was not found"
            )
        form = request["form"]
        if not form.get("To"):
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From"):
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if resource == "Messages.json":
            if not form.get("Body"):
                return _twilio_error(400, 21602, "Message body is required.")
            return HTTPStatus.CREATED, self._resource("SM", "Messages", form, body=form["Body"])
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return _twilio_error(400, 21205, "Url parameter is required.")
        return HTTPStatus.CREATED, self._resource("CA", "Calls", form)

    def failure(self, status: int, message: str | None, request: dict[str, Any]) -> Answer:
        code, default = TWILIO_ERRORS.get(status, (20500, "An internal server error has occurred"))
        return _twilio_error(status, code, message or default)

    def _resource(
        self, prefix: str, collection: str, form: dict[str, str], **extra: Any
    ) -> dict[str, Any]:
        sid = prefix + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "price": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{collection}/{sid}.json",
            **extra,
        }


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    except ValueError:
        return None
    return user, password
