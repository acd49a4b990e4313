"""Email sending: the development outbox, SMTP against a real server, and the settings.

The SMTP tests run aiosmtpd on 127.0.0.1, so what is checked is what arrives on the wire.
"""

from __future__ import annotations

import email.policy
import fcntl
import json
import multiprocessing
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from idp.clock import FrozenClock
from idp.config import PROJECT_ROOT, ConfigError, load_settings
from idp.messaging import (
    Email,
    EmailNotSent,
    OutboxSender,
    SmtpSender,
    email_sender_from_settings,
    read_outbox,
)
from idp.security.devcert import write_dev_certificate

FROM = "Example Council <no-reply@example.org>"
USER = "gatehouse"
PASSWORD = "smtp-password-that-must-not-leak"
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def an_email(to: str = "amina@example.com", **changes: Any) -> Email:
    values: dict[str, Any] = {
        "to": to,
        "subject": "Your verification code",
        "text": "Your code is 123456.",
        "html": "<p>Your code is <strong>123456</strong>.</p>",
        "kind": "verification_code",
        "data": {"code": "123456"},
    }
    values.update(changes)
    return Email(**values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a real SMTP server ---------------------------------------------------------------


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    over_tls: bool
    logged_in_as: str | None


@dataclass
class RecordingHandler:
    deliveries: list[Delivery] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if session.authenticated else None
        parsed = message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.deliveries.append(
            Delivery(envelope.mail_from, envelope.rcpt_tos, parsed, raw, over_tls, login)
        )
        return "250 Message accepted"


def check_password(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
    accepted = isinstance(auth_data, LoginPassword) and auth_data == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False lets aiosmtpd answer a refusal with 535 itself.
    return AuthResult(success=accepted, handled=False, auth_data=auth_data)


@dataclass
class Server:
    handler: RecordingHandler
    port: int

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., Server]]:
    """Start aiosmtpd with the given SMTP options; every server stops when the test ends."""
    controllers: list[Controller] = []

    def start(**options: Any) -> Server:
        handler = RecordingHandler()
        port = free_port()
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            # A fixed name spares aiosmtpd a reverse lookup of this host.
            server_hostname="smtp.test",
            **options,
        )
        controller.start()
        controllers.append(controller)
        return Server(handler, port)

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_dev_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A client context that trusts only the test server's self-signed certificate."""
    return ssl.create_default_context(cafile=str(certificate[0]))


def smtp_sender(port: int, tls: str = "none", **options: Any) -> SmtpSender:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "tls": tls,
        "username": "",
        "password": "",
        "timeout": 2,
        "from_address": FROM,
        "clock": FrozenClock(NOON),
    }
    values.update(options)
    return SmtpSender(**values)


# -- SMTP -----------------------------------------------------------------------------


def test_smtp_sender_delivers_text_and_html_parts(start_smtp_server):
    server = start_smtp_server()

    smtp_sender(server.port).send(an_email())

    [delivery] = server.deliveries
    assert delivery.mail_from == "no-reply@example.org"
    assert delivery.rcpt_tos == ["amina@example.com"]
    message = delivery.message
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "Your code is 123456."
    assert html.get_content().strip() == "<p>Your code is <strong>123456</strong>.</p>"


def test_smtp_message_names_sender_recipient_subject_date_and_id(start_smtp_server):
    server = start_smtp_server()

    smtp_sender(server.port).send(an_email())

    message = server.deliveries[0].message
    assert message["From"] == FROM
    assert message["To"] == "amina@example.com"
    assert message["Subject"] == "Your verification code"
    assert message["Date"].datetime == NOON
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith("@example.org>")


def test_kind_and_data_never_leave_gatehouse_over_smtp(start_smtp_server):
    server = start_smtp_server()

    smtp_sender(server.port).send(
        an_email(kind="activation-kind-marker", data={"note": "outbox-only-marker"})
    )

    raw = server.deliveries[0].raw
    assert b"activation-kind-marker" not in raw
    assert b"outbox-only-marker" not in raw


def test_smtp_sender_sends_without_logging_in_when_no_user_name_is_set(start_smtp_server):
    server = start_smtp_server(authenticator=check_password, auth_require_tls=False)

    smtp_sender(server.port).send(an_email())

    assert server.deliveries[0].logged_in_as is None


def test_smtp_sender_logs_in_when_a_user_name_is_set(start_smtp_server):
    server = start_smtp_server(authenticator=check_password, auth_require_tls=False)

    smtp_sender(server.port, username=USER, password=PASSWORD).send(an_email())

    assert server.deliveries[0].logged_in_as == USER


def test_refused_login_says_which_server_and_never_shows_the_password(start_smtp_server):
    server = start_smtp_server(authenticator=check_password, auth_require_tls=False)
    body = an_email(text="private body text", html="<p>private body html</p>")

    with pytest.raises(EmailNotSent) as raised:
        smtp_sender(server.port, username=USER, password=PASSWORD + "-wrong").send(body)

    message = str(raised.value)
    assert f"127.0.0.1:{server.port}" in message
    assert "refused the user name or password" in message
    assert PASSWORD not in message
    assert "private body" not in message
    assert server.deliveries == []


def test_starttls_upgrades_the_connection_before_logging_in(
    start_smtp_server, server_tls, client_tls
):
    # aiosmtpd refuses AUTH before TLS by default, so a login here proves the upgrade.
    server = start_smtp_server(
        tls_context=server_tls, require_starttls=True, authenticator=check_password
    )
    sender = smtp_sender(
        server.port, tls="starttls", username=USER, password=PASSWORD, ssl_context=client_tls
    )

    sender.send(an_email())

    [delivery] = server.deliveries
    assert delivery.over_tls
    assert delivery.logged_in_as == USER


def test_starttls_refuses_to_send_in_clear_when_the_server_does_not_offer_it(
    start_smtp_server, client_tls
):
    server = start_smtp_server()

    with pytest.raises(EmailNotSent, match="does not offer STARTTLS") as raised:
        smtp_sender(server.port, tls="starttls", ssl_context=client_tls).send(an_email())

    assert f"127.0.0.1:{server.port}" in str(raised.value)
    assert server.deliveries == []


def test_starttls_refuses_a_certificate_nobody_trusts(start_smtp_server, server_tls):
    server = start_smtp_server(tls_context=server_tls, require_starttls=True)

    with pytest.raises(EmailNotSent, match="certificate is not trusted"):
        smtp_sender(server.port, tls="starttls").send(an_email())

    assert server.deliveries == []


def test_implicit_tls_speaks_tls_from_the_first_byte(start_smtp_server, server_tls, client_tls):
    server = start_smtp_server(ssl_context=server_tls)

    smtp_sender(server.port, tls="implicit", ssl_context=client_tls).send(an_email())

    assert server.deliveries[0].over_tls


def test_nothing_listening_gives_a_clear_email_not_sent():
    port = free_port()

    with pytest.raises(EmailNotSent) as raised:
        smtp_sender(port).send(an_email())

    assert str(raised.value) == (
        f"email not sent through 127.0.0.1:{port}: the connection was refused "
        "(is an SMTP server listening there?)"
    )


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:
        # Listening without ever accepting: the connection opens, no greeting comes.
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        with pytest.raises(EmailNotSent, match=r"no answer within 0\.2 seconds"):
            smtp_sender(port, timeout=0.2).send(an_email())


def test_a_subject_with_a_line_break_is_not_sent(start_smtp_server):
    server = start_smtp_server()

    with pytest.raises(EmailNotSent, match="could not be composed"):
        smtp_sender(server.port).send(an_email(subject="Hello\r\nBcc: victim@example.com"))

    assert server.deliveries == []


def test_smtp_sender_refuses_an_unknown_tls_mode():
    with pytest.raises(ValueError, match="starttls, implicit, none"):
        smtp_sender(25, tls="ssl")


# -- outbox ---------------------------------------------------------------------------


def test_outbox_appends_one_json_line_per_email_in_a_new_folder(tmp_path):
    path = tmp_path / "instance" / "outbox.jsonl"
    sender = OutboxSender(path, FROM, FrozenClock(NOON))

    sender.send(an_email())
    sender.send(an_email(to="ben@example.com", kind="activation", data={"link": "https://x"}))

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == {
        "channel": "email",
        "kind": "verification_code",
        "to": "amina@example.com",
        "from": FROM,
        "subject": "Your verification code",
        "body": "Your code is 123456.",
        "text": "Your code is 123456.",
        "html": "<p>Your code is <strong>123456</strong>.</p>",
        "data": {"code": "123456"},
        "sent_at": "2026-03-02T12:00:00+00:00",
    }
    assert json.loads(lines[1])["data"] == {"link": "https://x"}


def test_read_outbox_returns_messages_oldest_first(tmp_path):
    path = tmp_path / "outbox.jsonl"
    clock = FrozenClock(NOON)
    sender = OutboxSender(path, FROM, clock)
    for code in ("111111", "222222", "333333"):
        sender.send(an_email(data={"code": code}))
        clock.advance(seconds=1)

    assert [message["data"]["code"] for message in read_outbox(path)] == [
        "111111",
        "222222",
        "333333",
    ]


def test_read_outbox_filters_by_recipient_ignoring_case(tmp_path):
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path, FROM, FrozenClock(NOON))
    sender.send(an_email(to="Amina@Example.com"))
    sender.send(an_email(to="ben@example.com"))

    found = read_outbox(path, to="amina@EXAMPLE.com")

    assert [message["to"] for message in found] == ["Amina@Example.com"]
    assert read_outbox(path, to="nobody@example.com") == []


def test_read_outbox_of_a_missing_file_is_empty(tmp_path):
    assert read_outbox(tmp_path / "never-written.jsonl") == []


def _send_many(path: Path, writer: int) -> None:
    sender = OutboxSender(path, FROM, FrozenClock(NOON))
    # Lines of hundreds of kilobytes, far past any buffer, so interleaving would show.
    text = str(writer) * 200_000
    for number in range(10):
        sender.send(an_email(text=text, data={"writer": writer, "number": number}))


def test_outbox_lines_stay_whole_when_processes_write_at_once(tmp_path):
    path = tmp_path / "outbox.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_send_many, args=(path, n)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=10)
        assert writer.exitcode == 0

    messages = read_outbox(path)

    assert len(messages) == 40
    for message in messages:
        assert message["text"] == str(message["data"]["writer"]) * 200_000


def test_outbox_waits_while_another_process_holds_the_lock(tmp_path):
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path, FROM, FrozenClock(NOON))
    with path.open("a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        writer = threading.Thread(target=sender.send, args=(an_email(),))
        writer.start()
        writer.join(timeout=0.2)
        blocked_while_held = writer.is_alive() and path.read_text() == ""
        fcntl.flock(holder, fcntl.LOCK_UN)
    writer.join(timeout=5)

    assert blocked_while_held
    assert len(read_outbox(path)) == 1


def test_outbox_that_cannot_be_written_raises_email_not_sent(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    sender = OutboxSender(blocker / "outbox.jsonl", FROM, FrozenClock(NOON))

    with pytest.raises(EmailNotSent, match="outbox file"):
        sender.send(an_email())


# -- settings -------------------------------------------------------------------------


def settings(**overrides: Any) -> dict[str, Any]:
    return load_settings(
        overrides={key.replace("__", "."): value for key, value in overrides.items()},
        environ={},
    )


def test_outbox_setting_warns_and_writes_beside_the_project(tmp_path):
    with pytest.warns(UserWarning, match="outbox file .* not to people"):
        sender = email_sender_from_settings(
            settings(
                server__development=True,
                email__sender="outbox",
                email__outbox_path="instance/test-outbox.jsonl",
            ),
            FrozenClock(NOON),
        )

    assert isinstance(sender, OutboxSender)
    assert sender.path == PROJECT_ROOT / "instance" / "test-outbox.jsonl"


def test_outbox_setting_keeps_an_absolute_path(tmp_path):
    with pytest.warns(UserWarning):
        sender = email_sender_from_settings(
            settings(
                server__development=True,
                email__sender="outbox",
                email__outbox_path=str(tmp_path / "o.jsonl"),
            ),
            FrozenClock(NOON),
        )

    assert isinstance(sender, OutboxSender)
    assert sender.path == tmp_path / "o.jsonl"


def test_smtp_settings_deliver_through_the_configured_server(start_smtp_server):
    server = start_smtp_server(authenticator=check_password, auth_require_tls=False)
    chosen = settings(
        email__from_address=FROM,
        smtp__port=server.port,
        smtp__tls="none",
        smtp__username=USER,
        smtp__password_env="TEST_SMTP_PASSWORD",
    )

    sender = email_sender_from_settings(
        chosen, FrozenClock(NOON), environ={"TEST_SMTP_PASSWORD": PASSWORD}
    )
    sender.send(an_email())

    assert isinstance(sender, SmtpSender)
    assert sender.timeout == 10
    [delivery] = server.deliveries
    assert delivery.logged_in_as == USER
    assert delivery.message["Date"].datetime == NOON


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("email.sender", "pigeon", "smtp, notify, outbox"),
        ("smtp.tls", "ssl", "starttls, implicit, none"),
        ("smtp.tls", "STARTTLS", "starttls, implicit, none"),
    ],
)
def test_unknown_choices_are_refused_naming_the_setting(setting, value, allowed):
    with pytest.raises(ConfigError) as raised:
        email_sender_from_settings(
            settings(**{setting.replace(".", "__"): value}), FrozenClock(NOON)
        )

    assert str(raised.value) == f"{setting} must be one of {allowed}, not {value!r}"


def test_a_user_name_without_a_password_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="IDP_SMTP_PASSWORD"):
        email_sender_from_settings(settings(smtp__username=USER), FrozenClock(NOON), environ={})


def test_the_email_outbox_is_refused_outside_development():
    with pytest.raises(ConfigError, match=r"allowed only with server\.development = true"):
        email_sender_from_settings(settings(email__sender="outbox"), FrozenClock(NOON))
