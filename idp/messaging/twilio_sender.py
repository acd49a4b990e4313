"""Sending text messages and making voice calls through Twilio.

(The module is not called ``twilio.py`` so that it can never hide the ``twilio`` package.)

A call reads ``VoiceCall.spoken`` with a British English voice from TwiML sent with the
call itself, so Gatehouse needs no public URL for Twilio to fetch instructions from::

    sender = TwilioSender(account_sid="AC...", auth_token=os.environ["IDP_TWILIO_AUTH_TOKEN"],
                          from_number="+441164960000", base_url="https://api.twilio.com",
                          timeout=10)
    sender.send_sms(TextMessage(to="+447700900123", body="Your security code is 481592"))
    sender.call(VoiceCall(to="+441164960123", spoken=spoken_code("481592")))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from idp.messaging.errors import MessageNotSent, redact
from idp.messaging.phone import TextMessage, VoiceCall, is_e164, spoken_paragraphs

SERVICE = "Twilio"
# An Amazon Polly voice Twilio offers for en-GB; its default voice sounds American.
DEFAULT_VOICE = "Polly.Amy"


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio has no types
    """Twilio's HTTP client, sending every request to ``base_url`` with one timeout.

    Twilio's ``Client`` builds URLs on https://api.twilio.com; this hook, passed as
    ``Client(http_client=...)``, swaps the scheme and host (and prefixes any path that
    ``base_url`` has) so a deployment can go through a proxy and tests through a fake.

    Example::

        BaseUrlHttpClient("http://127.0.0.1:8025", timeout=10).rewrite(
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
        )   # "http://127.0.0.1:8025/2010-04-01/Accounts/AC1/Messages.json"
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        base = urlsplit(base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"base_url must be an http or https URL, not {base_url!r}")
        self.base = base

    def rewrite(self, url: str) -> str:
        """``url`` moved onto ``base_url``, keeping its path and query."""
        parts = urlsplit(url)
        path = self.base.path.rstrip("/") + parts.path
        return urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, ""))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=self.timeout if timeout is None else timeout,
            allow_redirects=allow_redirects,
        )


class TwilioSender:
    """Sends text messages (Messages API) and makes calls (Calls API) from ``from_number``.

    ``timeout`` is how many seconds to wait for Twilio to accept the connection and for
    each read of its answer. ``voice`` is a Twilio text-to-speech voice for en-GB.

    Example::

        TwilioSender("AC0123...", token, "+441164960000", "https://api.twilio.com", 10)
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = "https://api.twilio.com",
        timeout: float = 10,
        *,
        voice: str = DEFAULT_VOICE,
    ) -> None:
        if not is_e164(from_number):
            raise ValueError(
                f"from_number must be a phone number in E.164 form, not {from_number!r}"
            )
        if timeout <= 0:
            raise ValueError(f"timeout must be more than 0 seconds, not {timeout!r}")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.voice = voice
        # A client holds a requests.Session; one per thread keeps threads from sharing it.
        self._local = threading.local()

    def send_sms(self, message: TextMessage) -> None:
        self._create(
            "text message",
            lambda client: client.api.v2010.accounts(self.account_sid).messages.create(
                to=message.to, from_=self.from_number, body=message.body
            ),
            secrets=[message.body, *message.data.values()],
        )

    def call(self, call: VoiceCall) -> None:
        twiml = self.twiml(call.spoken)
        self._create(
            "voice call",
            lambda client: client.api.v2010.accounts(self.account_sid).calls.create(
                to=call.to, from_=self.from_number, twiml=twiml
            ),
            secrets=[call.spoken, *call.data.values()],
        )

    def twiml(self, spoken: str) -> str:
        """The TwiML that reads ``spoken``: one <Say> per paragraph, a pause between.

        Example::

            sender.twiml("Hello.\\n\\nGoodbye.")
            # <Response><Say language="en-GB" voice="Polly.Amy">Hello.</Say>
            #   <Pause length="1" /><Say ...>Goodbye.</Say></Response>
        """
        # VoiceResponse builds the XML with ElementTree, which escapes <, & and quotes.
        response = VoiceResponse()
        for number, paragraph in enumerate(spoken_paragraphs(spoken)):
            if number:
                response.pause(length=1)
            response.say(paragraph, voice=self.voice, language="en-GB")
        return str(response.to_xml(xml_declaration=False))

    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(
                self.account_sid,
                self._auth_token,
                http_client=BaseUrlHttpClient(self.base_url, self.timeout),
            )
            self._local.client = client
        return client

    def _create(self, what: str, request: Callable[[Client], Any], secrets: list[Any]) -> None:
        try:
            request(self._client())
        except (TwilioException, requests.RequestException) as error:
            reason = redact(self._reason(error), [self._auth_token, *secrets])
            raise MessageNotSent(f"{what} not sent through {SERVICE}: {reason}") from error

    def _reason(self, error: Exception) -> str:
        """Why Twilio did not take the message, in words, from its answer."""
        if isinstance(error, TwilioRestException):
            return f"the service answered {error.status} (error {error.code}: {error.msg})"
        if isinstance(error, TwilioServiceException):
            said = f"{error.title}: {error.detail}" if error.detail else error.title
            return f"the service answered {error.status} (error {error.code}: {said})"
        if isinstance(error, requests.Timeout):
            return f"no answer within {self.timeout:g} seconds"
        if isinstance(error, requests.ConnectionError):
            return f"could not connect to {self.base_url}"
        # str() of other Twilio and requests errors may include the request URL or the
        # client's own wording; the type is enough to go on.
        return type(error).__name__
