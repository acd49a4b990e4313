"""Journey emails through a real SMTP server, as production sends them; and a server that
is down gives the person a clear message and loses nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import build_app
from tests.pages import Visitor
from tests.test_messaging import free_port, start_smtp_server  # noqa: F401  (a fixture)
from tests.test_seed_journeys import PARENT, start

JENNY = "jenny.hinsen@outlook.com"


@pytest.fixture
def smtp_app(settings: dict[str, Any], clock: Any) -> Any:
    def make(port: int) -> Any:
        return build_app(
            {
                **settings,
                "email.sender": "smtp",
                "smtp.host": "127.0.0.1",
                "smtp.port": port,
                "smtp.tls": "none",
            },
            clock,
        )

    return make


def test_a_verification_code_arrives_by_smtp_with_text_and_html_parts(
    smtp_app: Any,
    start_smtp_server: Any,  # noqa: F811
) -> None:
    server = start_smtp_server()
    client = smtp_app(server.port).test_client()
    visitor, _ = start(client, PARENT)
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": JENNY})
    assert not visitor.errors()
    (delivery,) = server.deliveries
    message = delivery.message
    assert delivery.rcpt_tos == [JENNY]
    assert message["From"] == "Leicestershire County Council <no-reply@leics.example>"
    assert message["Subject"].startswith("Your verification code")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    code = re.search(r"Your verification code is (\d{6})", text).group(1)
    assert code in html
    visitor.press("Verify code", {"Verification code": code})
    assert visitor.heading() == "User Details" and "Create" in visitor.buttons()


def test_a_mail_server_that_is_down_gets_a_clear_message_and_a_retry(
    smtp_app: Any,
    start_smtp_server: Any,  # noqa: F811
) -> None:
    port = free_port()  # nothing listens here yet
    app = smtp_app(port)
    visitor, _ = start(app.test_client(), PARENT)
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": JENNY})
    assert visitor.errors() == [
        "We could not send the email just now. Check the address, then try again in a few minutes"
    ]
    assert visitor.field_value("Email address") == JENNY  # nothing typed is lost
    # The mail server comes back; the same page, pressed again, sends the code.
    server = start_smtp_server()
    app.extensions["idp"].mailer.port = server.port
    visitor.press("Send verification code")
    assert not visitor.errors() and len(server.deliveries) == 1
    assert isinstance(visitor, Visitor)
