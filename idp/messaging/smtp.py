"""Sending email through an SMTP server, over TLS unless told otherwise.

Example::

    sender = SmtpSender(host="smtp.example.org", port=587, tls="starttls",
                        username="gatehouse", password=os.environ["IDP_SMTP_PASSWORD"],
                        timeout=10, from_address="Example Council <no-reply@example.org>")
    sender.send(email)   # or EmailNotSent("email not sent through smtp.example.org:587: ...")
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from idp.clock import Clock, SystemClock
from idp.messaging.email import Email, EmailNotSent

# starttls: upgrade a plain connection (port 587); implicit: TLS from the first byte
# (port 465); none: only for a relay on the same host.
TLS_MODES = ("starttls", "implicit", "none")


class SmtpSender:
    """Sends each email as multipart/alternative (text and HTML) through one SMTP server.

    With ``tls="starttls"`` a server that does not offer STARTTLS gets nothing, so a
    misconfigured or tampered-with server cannot downgrade the connection to clear text.
    It logs in only when ``username`` is non-empty. ``ssl_context`` exists so tests can
    trust a self-signed certificate; ``clock`` stamps the Date header.

    Example::

        SmtpSender("127.0.0.1", 25, "none", "", "", 10, "no-reply@example.org")
    """

    def __init__(
        self,
        host: str,
        port: int,
        tls: str,
        username: str,
        password: str,
        timeout: float,
        from_address: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self._password = password
        self.timeout = timeout
        self.from_address = from_address
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.clock = clock or SystemClock()

    def compose(self, email: Email) -> EmailMessage:
        """The message as it goes on the wire; ``kind`` and ``data`` stay behind."""
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = format_datetime(self.clock.now())
        # make_msgid would otherwise name this host (socket.getfqdn), which is slow to
        # look up on some hosts and tells recipients about our infrastructure.
        message["Message-ID"] = make_msgid(domain=self._sender_domain())
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def send(self, email: Email) -> None:
        try:
            message = self.compose(email)
        except ValueError as error:
            # Header values with line breaks are refused here, before anything is sent.
            raise EmailNotSent(f"email to {email.to!r} could not be composed: {error}") from None
        try:
            with self._connect() as connection:
                self._secure(connection)
                if self.username:
                    connection.login(self.username, self._password)
                connection.send_message(
                    message, from_addr=parseaddr(self.from_address)[1], to_addrs=[email.to]
                )
        except (smtplib.SMTPException, OSError) as error:
            raise EmailNotSent(self._failure(self._reason(error))) from error

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "implicit":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _secure(self, connection: smtplib.SMTP) -> None:
        if self.tls != "starttls":
            return
        connection.ehlo()
        if not connection.has_extn("starttls"):
            raise EmailNotSent(
                self._failure(
                    "the server does not offer STARTTLS, and smtp.tls = starttls "
                    "forbids sending in clear text"
                )
            )
        connection.starttls(context=self.ssl_context)
        # RFC 3207 §4.2: what the server said before TLS is forgotten; ask again.
        connection.ehlo()

    def _sender_domain(self) -> str:
        address = parseaddr(self.from_address)[1]
        return address.rpartition("@")[2] or "gatehouse.invalid"

    def _failure(self, reason: str) -> str:
        return f"email not sent through {self.host}:{self.port}: {reason}"

    def _reason(self, error: BaseException) -> str:
        """Why sending failed, in words, from the server's answer and never our secrets."""
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return f"the server refused the user name or password ({_answer(error)})"
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            answers = "; ".join(f"{code} {_text(text)}" for code, text in error.recipients.values())
            return f"the server refused the recipient ({answers})"
        if isinstance(error, smtplib.SMTPResponseException):
            return f"the server answered {_answer(error)}"
        if isinstance(error, smtplib.SMTPServerDisconnected):
            # smtplib reports a read that timed out as a disconnection.
            if isinstance(error.__context__, TimeoutError):
                return f"no answer within {self.timeout:g} seconds"
            return "the server closed the connection"
        if isinstance(error, smtplib.SMTPException):
            return str(error) or type(error).__name__
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted ({error.verify_message})"
        if isinstance(error, ssl.SSLError):
            return f"TLS failed ({error.reason or error})"
        if isinstance(error, ConnectionRefusedError):
            return "the connection was refused (is an SMTP server listening there?)"
        if isinstance(error, TimeoutError):
            return f"no answer within {self.timeout:g} seconds"
        if isinstance(error, socket.gaierror):
            return f"the host name could not be resolved ({error.strerror})"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        return str(error) or type(error).__name__


def _answer(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
