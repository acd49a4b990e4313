"""Sending email and text messages through GOV.UK Notify.

Notify sends only from templates made in its web interface, so a deployment makes one
email template whose subject is ``((subject))`` and whose body is ``((body))``, and one
text message template whose body is ``((body))``; Gatehouse fills them in::

    sender = NotifySender(api_key=os.environ["IDP_NOTIFY_API_KEY"],
                          base_url="https://api.notifications.service.gov.uk",
                          email_template_id="6c0e...", sms_template_id="9b1d...", timeout=10)
    sender.send(email)         # or EmailNotSent("email not sent through GOV.UK Notify: ...")
    sender.send_sms(message)   # or MessageNotSent("text message not sent through ...")

Notify formats ``body`` itself, so an email's ``html`` is not sent, and neither are
``kind`` and ``data``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import requests
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from idp.messaging.email import Email, EmailNotSent
from idp.messaging.errors import MessageNotSent, redact
from idp.messaging.phone import TextMessage

SERVICE = "GOV.UK Notify"

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A Notify API key is "{key name}-{service id}-{secret}"; the client slices the two
# UUIDs off the end, and fails with a bare AssertionError if they are not there.
_API_KEY = re.compile(rf".*{_UUID}-{_UUID}", re.DOTALL)


def is_notify_api_key(value: str) -> bool:
    """Whether ``value`` has the shape of a Notify API key (name, service id, secret)."""
    return _API_KEY.fullmatch(value) is not None


class NotifySender:
    """Sends emails and text messages through GOV.UK Notify's API at ``base_url``.

    ``timeout`` is how many seconds to wait for Notify to accept the connection and for
    each read of its answer. Either template id may be empty when that channel is not
    sent through Notify; a message for it is then refused with ``MessageNotSent``.

    Example::

        NotifySender(key, "https://api.notifications.service.gov.uk", email_template_id="",
                     sms_template_id="9b1d2c3e-...", timeout=10)
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        email_template_id: str,
        sms_template_id: str,
        timeout: float,
    ) -> None:
        if not is_notify_api_key(api_key):
            # The key stays out of the message, which may be logged.
            raise ValueError(
                "api_key is not a GOV.UK Notify API key: it should end with the service id "
                "and the secret, two UUIDs"
            )
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.email_template_id = email_template_id
        self.sms_template_id = sms_template_id
        self.timeout = timeout
        # The client keeps a requests.Session and says it is not thread-safe; Gatehouse
        # serves requests on several threads, so each thread gets its own.
        self._local = threading.local()

    def send(self, email: Email) -> None:
        if not self.email_template_id:
            raise EmailNotSent(self._failure("email", "no email template is configured"))
        self._post(
            "email",
            EmailNotSent,
            lambda client: client.send_email_notification(  # type: ignore[no-untyped-call]
                email_address=email.to,
                template_id=self.email_template_id,
                personalisation={"subject": email.subject, "body": email.text},
            ),
            secrets=[email.text, email.html, *email.data.values()],
        )

    def send_sms(self, message: TextMessage) -> None:
        if not self.sms_template_id:
            raise MessageNotSent(
                self._failure("text message", "no text message template is configured")
            )
        self._post(
            "text message",
            MessageNotSent,
            lambda client: client.send_sms_notification(  # type: ignore[no-untyped-call]
                phone_number=message.to,
                template_id=self.sms_template_id,
                personalisation={"body": message.body},
            ),
            secrets=[message.body, *message.data.values()],
        )

    def _client(self) -> NotificationsAPIClient:
        client: NotificationsAPIClient | None = getattr(self._local, "client", None)
        if client is None:
            client = NotificationsAPIClient(  # type: ignore[no-untyped-call]
                self._api_key, base_url=self.base_url, timeout=self.timeout
            )
            self._local.client = client
        return client

    def _post(
        self,
        what: str,
        failure: type[MessageNotSent],
        request: Callable[[NotificationsAPIClient], Any],
        secrets: list[Any],
    ) -> None:
        try:
            request(self._client())
        except APIError as error:
            reason = redact(self._reason(error), [self._api_key, *secrets])
            raise failure(self._failure(what, reason)) from error

    def _failure(self, what: str, reason: str) -> str:
        return f"{what} not sent through {SERVICE}: {reason}"

    def _reason(self, error: APIError) -> str:
        """Why Notify did not take the message, in words, from its answer."""
        # The client wraps every requests failure in its HTTPError, with a made-up 503
        # when there was no answer at all; the real cause is kept as __cause__.
        cause = error.__cause__
        if isinstance(cause, requests.Timeout):
            return f"no answer within {self.timeout:g} seconds"
        if isinstance(cause, requests.ConnectionError):
            return f"could not connect to {self.base_url}"
        response = error.response
        if response is None:
            return type(cause or error).__name__
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            return f"the service answered {status} with something other than JSON"
        return f"the service answered {status} ({_errors(payload)})"


def _errors(payload: Any) -> str:
    """Notify's ``errors`` list, e.g. "BadRequestError: Can't send to this recipient"."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return "no error given"
    parts = [
        ": ".join(str(item[key]) for key in ("error", "message") if item.get(key))
        for item in errors
        if isinstance(item, dict)
    ]
    return "; ".join(part for part in parts if part) or "no error given"
