"""Text messages and voice calls: the outbox, GOV.UK Notify, Twilio, and the settings.

Notify and Twilio are loopback fakes (tests/fakes_http.py) that speak HTTP as the real
services do, so what is checked is what Gatehouse's clients put on the wire.
"""

from __future__ import annotations

import json
import re
import socket
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from typing import Any

import pytest

from idp.clock import FrozenClock
from idp.config import ConfigError, load_settings
from idp.messaging import (
    Email,
    EmailNotSent,
    MessageNotSent,
    NotifySender,
    OutboxSender,
    TextMessage,
    TwilioSender,
    VoiceCall,
    email_sender_from_settings,
    read_outbox,
    sms_sender_from_settings,
    spoken_code,
    voice_sender_from_settings,
)
from idp.messaging.twilio_sender import BaseUrlHttpClient
from tests.fakes_http import FakeNotify, FakeTwilio

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FROM = "Example Council <no-reply@example.org>"
PHONE = "+447700900123"
CODE = "481592"
TEXT = f"Your Example Council security code is {CODE}"

SERVICE_ID = "6fa9d8f0-1592-4231-916b-6218775e7a0d"
NOTIFY_SECRET = "0b4a8a3e-7f55-4d5c-9c0f-2b8f6d1e9a77"
NOTIFY_KEY = f"gatehouse_live-{SERVICE_ID}-{NOTIFY_SECRET}"
EMAIL_TEMPLATE = "c0f0a6a5-1f0e-4b8a-9f43-1c3a8f6b2d10"
SMS_TEMPLATE = "9b1d2c3e-4f5a-4b6c-8d7e-0f1a2b3c4d5e"

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "twilio-auth-token-that-must-not-leak"
TWILIO_NUMBER = "+441164960000"


def a_text(**changes: Any) -> TextMessage:
    values: dict[str, Any] = {
        "to": PHONE,
        "body": TEXT,
        "kind": "mfa_code",
        "data": {"code": CODE},
    }
    values.update(changes)
    return TextMessage(**values)


def a_call(**changes: Any) -> VoiceCall:
    values: dict[str, Any] = {
        "to": PHONE,
        "spoken": spoken_code(CODE),
        "kind": "mfa_code",
        "data": {"code": CODE},
    }
    values.update(changes)
    return VoiceCall(**values)


def an_email(**changes: Any) -> Email:
    values: dict[str, Any] = {
        "to": "amina@example.com",
        "subject": "Your verification code",
        "text": f"Your code is {CODE}.",
        "html": f"<p>Your code is <strong>{CODE}</strong>.</p>",
        "kind": "verification_code",
        "data": {"code": CODE},
    }
    values.update(changes)
    return Email(**values)


def notify_sender(url: str, timeout: float = 2, **changes: Any) -> NotifySender:
    values: dict[str, Any] = {
        "api_key": NOTIFY_KEY,
        "base_url": url,
        "email_template_id": EMAIL_TEMPLATE,
        "sms_template_id": SMS_TEMPLATE,
        "timeout": timeout,
    }
    values.update(changes)
    return NotifySender(**values)


def twilio_sender(url: str, timeout: float = 2, token: str = AUTH_TOKEN) -> TwilioSender:
    return TwilioSender(ACCOUNT_SID, token, TWILIO_NUMBER, url, timeout)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_keeps_secrets(message: str) -> None:
    for secret in (NOTIFY_KEY, NOTIFY_SECRET, AUTH_TOKEN, CODE, TEXT):
        assert secret not in message


@pytest.fixture
def notify() -> Any:
    with FakeNotify(api_key=NOTIFY_KEY) as fake:
        yield fake


@pytest.fixture
def twilio() -> Any:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        yield fake


def said(twiml: str) -> list[str]:
    """The text of each <Say>, in order, after checking the TwiML's shape."""
    response = ElementTree.fromstring(twiml)
    assert response.tag == "Response"
    for element in response:
        assert element.tag in ("Say", "Pause")
        if element.tag == "Say":
            assert element.get("language") == "en-GB"
            assert element.get("voice")
    return [element.text or "" for element in response if element.tag == "Say"]


# -- messages -------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["07700900123", "+44 7700 900123", "447700900123", ""])
def test_a_text_or_call_needs_a_number_in_e164_form(number):
    with pytest.raises(ValueError, match=r"E\.164") as raised:
        TextMessage(to=number, body=TEXT)
    with pytest.raises(ValueError, match=r"E\.164"):
        VoiceCall(to=number, spoken="Hello")

    if number:
        assert number not in str(raised.value)


def test_spoken_code_reads_each_digit_apart_and_says_the_code_twice():
    spoken = spoken_code("481592")

    assert spoken == (
        "Your security code is 4, 8, 1, 5, 9, 2.\n\nI will say that again. 4, 8, 1, 5, 9, 2."
    )


def test_spoken_code_of_nothing_is_refused():
    with pytest.raises(ValueError, match="no code"):
        spoken_code("  ")


def test_email_not_sent_is_a_message_not_sent():
    assert issubclass(EmailNotSent, MessageNotSent)


# -- outbox ---------------------------------------------------------------------------


def test_outbox_writes_a_text_message_as_an_sms_line_with_its_data(tmp_path):
    path = tmp_path / "outbox.jsonl"

    OutboxSender(path, FROM, FrozenClock(NOON)).send_sms(a_text())

    [line] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {
        "channel": "sms",
        "kind": "mfa_code",
        "to": PHONE,
        "body": TEXT,
        "data": {"code": CODE},
        "sent_at": "2026-03-02T12:00:00+00:00",
    }


def test_outbox_writes_a_voice_call_as_a_voice_line_with_what_is_spoken(tmp_path):
    path = tmp_path / "outbox.jsonl"

    OutboxSender(path, FROM, FrozenClock(NOON)).call(a_call())

    [line] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {
        "channel": "voice",
        "kind": "mfa_code",
        "to": PHONE,
        "body": spoken_code(CODE),
        "data": {"code": CODE},
        "sent_at": "2026-03-02T12:00:00+00:00",
    }


def test_outbox_marks_emails_with_their_channel_and_keeps_their_fields(tmp_path):
    path = tmp_path / "outbox.jsonl"

    OutboxSender(path, FROM, FrozenClock(NOON)).send(an_email())

    [message] = read_outbox(path)
    assert message["channel"] == "email"
    assert message["body"] == message["text"] == f"Your code is {CODE}."
    assert message["subject"] == "Your verification code"
    assert message["from"] == FROM
    assert message["html"].startswith("<p>")


def test_read_outbox_filters_by_channel_and_recipient(tmp_path):
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path, FROM, FrozenClock(NOON))
    sender.send(an_email())
    sender.send_sms(a_text())
    sender.send_sms(a_text(to="+447700900999"))
    sender.call(a_call())

    assert [m["channel"] for m in read_outbox(path)] == ["email", "sms", "sms", "voice"]
    assert [m["to"] for m in read_outbox(path, channel="sms")] == [PHONE, "+447700900999"]
    assert [m["channel"] for m in read_outbox(path, to=PHONE)] == ["sms", "voice"]
    [call] = read_outbox(path, to=PHONE, channel="voice")
    assert call["data"] == {"code": CODE}


def test_read_outbox_counts_lines_without_a_channel_as_emails(tmp_path):
    path = tmp_path / "outbox.jsonl"
    path.write_text(json.dumps({"to": "amina@example.com", "data": {}}) + "\n")

    assert len(read_outbox(path, channel="email")) == 1
    assert read_outbox(path, channel="sms") == []


def test_read_outbox_refuses_an_unknown_channel(tmp_path):
    with pytest.raises(ValueError, match="email, sms, voice"):
        read_outbox(tmp_path / "outbox.jsonl", channel="fax")


def test_outbox_that_cannot_be_written_raises_message_not_sent_for_texts_and_calls(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    sender = OutboxSender(blocker / "outbox.jsonl", FROM, FrozenClock(NOON))

    with pytest.raises(MessageNotSent, match="could not write the text message"):
        sender.send_sms(a_text())
    with pytest.raises(MessageNotSent, match="could not write the voice call"):
        sender.call(a_call())


# -- GOV.UK Notify --------------------------------------------------------------------


def test_notify_email_reaches_the_service_with_the_email_template_subject_and_body(notify):
    notify_sender(notify.url).send(an_email())

    [request] = notify.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v2/notifications/email"
    assert request["json"] == {
        "email_address": "amina@example.com",
        "template_id": EMAIL_TEMPLATE,
        "personalisation": {"subject": "Your verification code", "body": f"Your code is {CODE}."},
    }


def test_notify_sms_reaches_the_service_with_the_sms_template_and_body(notify):
    notify_sender(notify.url).send_sms(a_text())

    [request] = notify.requests
    assert request["path"] == "/v2/notifications/sms"
    assert request["json"] == {
        "phone_number": PHONE,
        "template_id": SMS_TEMPLATE,
        "personalisation": {"body": TEXT},
    }


def test_notify_requests_carry_a_token_signed_with_the_api_key(notify):
    notify_sender(notify.url).send_sms(a_text())

    [request] = notify.requests
    # The fake checked the signature with the key's secret; the issuer is the service.
    assert request["jwt"]["iss"] == SERVICE_ID
    assert NOTIFY_SECRET not in request["headers"]["authorization"]


def test_kind_data_and_html_never_leave_gatehouse_through_notify(notify):
    notify_sender(notify.url).send(
        an_email(html="<p>html-only-marker</p>", kind="kind-marker", data={"x": "data-marker"})
    )

    body = notify.requests[0]["body"]
    for marker in ("html-only-marker", "kind-marker", "data-marker"):
        assert marker not in body


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (400, "BadRequestError: Can't send to this recipient using a team-only API key"),
        (403, "AuthError: Invalid token: API key not found"),
        (429, "RateLimitError: Exceeded rate limit"),
        (500, "Exception: Internal server error"),
    ],
)
def test_notify_refusing_a_text_names_the_service_and_status_and_keeps_secrets(
    notify, status, answer
):
    notify.fail_next(status)

    with pytest.raises(MessageNotSent) as raised:
        notify_sender(notify.url).send_sms(a_text())

    message = str(raised.value)
    assert message.startswith(
        f"text message not sent through GOV.UK Notify: the service answered {status} ({answer}"
    )
    assert_keeps_secrets(message)


def test_notify_refusing_an_email_raises_email_not_sent(notify):
    notify.fail_next(500)

    with pytest.raises(EmailNotSent) as raised:
        notify_sender(notify.url).send(an_email())

    assert str(raised.value) == (
        "email not sent through GOV.UK Notify: the service answered 500 "
        "(Exception: Internal server error)"
    )


def test_a_code_that_notify_echoes_back_is_redacted(notify):
    notify.fail_next(400, message=f"Bad body: {TEXT}")

    with pytest.raises(MessageNotSent) as raised:
        notify_sender(notify.url).send_sms(a_text())

    assert "Bad body: [redacted]" in str(raised.value)
    assert_keeps_secrets(str(raised.value))


def test_notify_that_never_answers_times_out(notify):
    notify.stall_next(5)

    with pytest.raises(MessageNotSent) as raised:
        notify_sender(notify.url, timeout=0.2).send_sms(a_text())

    assert str(raised.value) == (
        "text message not sent through GOV.UK Notify: no answer within 0.2 seconds"
    )


def test_notify_that_is_not_listening_gives_a_clear_message_not_sent():
    url = closed_port_url()

    with pytest.raises(MessageNotSent) as raised:
        notify_sender(url).send_sms(a_text())

    assert str(raised.value) == (
        f"text message not sent through GOV.UK Notify: could not connect to {url}"
    )


def test_notify_without_a_template_for_the_channel_sends_nothing(notify):
    sender = notify_sender(notify.url, sms_template_id="")

    with pytest.raises(MessageNotSent, match="no text message template is configured"):
        sender.send_sms(a_text())
    assert notify.requests == []


def test_notify_sender_refuses_a_key_of_the_wrong_shape_without_repeating_it():
    with pytest.raises(ValueError, match=r"not a GOV\.UK Notify API key") as raised:
        notify_sender("http://127.0.0.1:1", api_key="not-a-real-key-value")

    assert "not-a-real-key-value" not in str(raised.value)


# -- Twilio ---------------------------------------------------------------------------


def test_twilio_text_reaches_the_service_from_our_number_with_the_body(twilio):
    twilio_sender(twilio.url).send_sms(a_text())

    [request] = twilio.requests
    assert request["method"] == "POST"
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    assert request["form"] == {"To": PHONE, "From": TWILIO_NUMBER, "Body": TEXT}


def test_twilio_call_reaches_the_service_with_twiml_that_says_the_code_twice(twilio):
    twilio_sender(twilio.url).call(a_call())

    [request] = twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    form = request["form"]
    assert (form["To"], form["From"]) == (PHONE, TWILIO_NUMBER)
    assert "Url" not in form
    spoken = said(form["Twiml"])
    assert spoken == [
        "Your security code is 4, 8, 1, 5, 9, 2.",
        "I will say that again. 4, 8, 1, 5, 9, 2.",
    ]
    assert '<Pause length="1" />' in form["Twiml"]


def test_kind_and_data_never_leave_gatehouse_through_twilio(twilio):
    twilio_sender(twilio.url).send_sms(a_text(kind="kind-marker", data={"x": "data-marker"}))

    assert "kind-marker" not in twilio.requests[0]["body"]
    assert "data-marker" not in twilio.requests[0]["body"]


def test_twiml_escapes_what_it_says():
    sender = twilio_sender("http://127.0.0.1:1")
    awkward = 'Fish & chips <b>for</b> "Amina"'

    twiml = sender.twiml(f"{awkward}\n\nGoodbye & thanks.")

    assert "<b>" not in twiml
    assert said(twiml) == [awkward, "Goodbye & thanks."]


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (400, "error 21211: Unable to create record: The 'To' number is not a valid phone"),
        (429, "error 20429: Unable to create record: Too Many Requests"),
        (500, "error 20500: Unable to create record: An internal server error has occurred"),
    ],
)
@pytest.mark.parametrize(
    ("what", "send"),
    [
        ("text message", lambda sender: sender.send_sms(a_text())),
        ("voice call", lambda sender: sender.call(a_call())),
    ],
)
def test_twilio_refusing_names_the_service_and_status_and_keeps_secrets(
    twilio, status, answer, what, send
):
    twilio.fail_next(status)

    with pytest.raises(MessageNotSent) as raised:
        send(twilio_sender(twilio.url))

    message = str(raised.value)
    assert message.startswith(
        f"{what} not sent through Twilio: the service answered {status} ({answer}"
    )
    assert_keeps_secrets(message)


def test_a_wrong_twilio_auth_token_is_refused_without_showing_it(twilio):
    with pytest.raises(MessageNotSent) as raised:
        twilio_sender(twilio.url, token="a-wrong-token-value").send_sms(a_text())

    assert str(raised.value) == (
        "text message not sent through Twilio: the service answered 401 "
        "(error 20003: Unable to create record: Authenticate)"
    )
    assert "a-wrong-token-value" not in str(raised.value)


def test_twilio_that_never_answers_times_out(twilio):
    twilio.stall_next(5)

    with pytest.raises(MessageNotSent) as raised:
        twilio_sender(twilio.url, timeout=0.2).call(a_call())

    assert str(raised.value) == "voice call not sent through Twilio: no answer within 0.2 seconds"


def test_twilio_that_is_not_listening_gives_a_clear_message_not_sent():
    url = closed_port_url()

    with pytest.raises(MessageNotSent) as raised:
        twilio_sender(url).send_sms(a_text())

    assert str(raised.value) == f"text message not sent through Twilio: could not connect to {url}"


def test_twilio_requests_move_to_the_base_url_keeping_path_and_query():
    client = BaseUrlHttpClient("http://127.0.0.1:8025/proxy/", timeout=3)

    moved = client.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?Page=2")

    assert moved == "http://127.0.0.1:8025/proxy/2010-04-01/Accounts/AC1/Calls.json?Page=2"
    assert client.timeout == 3


# -- settings -------------------------------------------------------------------------


def settings(**overrides: Any) -> dict[str, Any]:
    return load_settings(
        overrides={key.replace("__", "."): value for key, value in overrides.items()},
        environ={},
    )


NOTIFY_ENV = {"IDP_NOTIFY_API_KEY": NOTIFY_KEY}
TWILIO_ENV = {"IDP_TWILIO_AUTH_TOKEN": AUTH_TOKEN}


NOTIFY_SETTINGS = {
    "notify__base_url": "https://api.notifications.service.gov.uk",
    "notify__email_template_id": EMAIL_TEMPLATE,
    "notify__sms_template_id": SMS_TEMPLATE,
}
TWILIO_SETTINGS = {
    "twilio__base_url": "https://api.twilio.com",
    "twilio__account_sid": ACCOUNT_SID,
    "twilio__from_number": TWILIO_NUMBER,
}


def notify_settings(url: str | None = None, **changes: Any) -> dict[str, Any]:
    """Working Notify settings, pointed at ``url`` (then in development, as it is http)."""
    chosen = {**NOTIFY_SETTINGS, **changes}
    if url:
        chosen.update(notify__base_url=url, server__development=True)
    return settings(**chosen)


def twilio_settings(url: str | None = None, **changes: Any) -> dict[str, Any]:
    """Working Twilio settings, pointed at ``url`` (then in development, as it is http)."""
    chosen = {**TWILIO_SETTINGS, **changes}
    if url:
        chosen.update(twilio__base_url=url, server__development=True)
    return settings(**chosen)


def test_email_notify_setting_sends_through_notify(notify):
    chosen = notify_settings(notify.url, email__sender="notify", messaging__timeout=7)

    with pytest.warns(UserWarning, match="plain http"):
        sender = email_sender_from_settings(chosen, FrozenClock(NOON), environ=NOTIFY_ENV)
    sender.send(an_email())

    assert isinstance(sender, NotifySender)
    assert sender.timeout == 7
    assert notify.requests[0]["json"]["template_id"] == EMAIL_TEMPLATE


def test_sms_notify_setting_sends_through_notify(notify):
    chosen = notify_settings(notify.url, sms__sender="notify")

    with pytest.warns(UserWarning, match="plain http"):
        sender = sms_sender_from_settings(chosen, FrozenClock(NOON), environ=NOTIFY_ENV)
    sender.send_sms(a_text())

    assert notify.requests[0]["json"]["template_id"] == SMS_TEMPLATE


def test_sms_and_voice_twilio_settings_send_through_twilio(twilio):
    chosen = twilio_settings(twilio.url, sms__sender="twilio", voice__sender="twilio")

    with pytest.warns(UserWarning, match="plain http"):
        sms = sms_sender_from_settings(chosen, FrozenClock(NOON), environ=TWILIO_ENV)
        voice = voice_sender_from_settings(chosen, FrozenClock(NOON), environ=TWILIO_ENV)
    sms.send_sms(a_text())
    voice.call(a_call())

    assert [r["path"].rsplit("/", 1)[1] for r in twilio.requests] == [
        "Messages.json",
        "Calls.json",
    ]
    assert isinstance(sms, TwilioSender)
    assert sms.timeout == 10


def test_production_settings_build_senders_for_the_real_services():
    sms = sms_sender_from_settings(
        notify_settings(sms__sender="notify"), FrozenClock(NOON), environ=NOTIFY_ENV
    )
    voice = voice_sender_from_settings(
        twilio_settings(voice__sender="twilio"), FrozenClock(NOON), environ=TWILIO_ENV
    )

    assert isinstance(sms, NotifySender)
    assert sms.base_url == "https://api.notifications.service.gov.uk"
    assert isinstance(voice, TwilioSender)
    assert voice.base_url == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("build", "setting", "instead"),
    [
        (sms_sender_from_settings, "sms.sender", "choose notify or twilio"),
        (voice_sender_from_settings, "voice.sender", "choose twilio"),
    ],
)
def test_phone_outbox_is_refused_outside_development(build, setting, instead):
    with pytest.raises(ConfigError) as raised:
        build(settings(**{setting.replace(".", "__"): "outbox"}), FrozenClock(NOON))

    message = str(raised.value)
    assert message.startswith(f"{setting} = outbox")
    assert "server.development = true" in message
    assert message.endswith(instead)


def test_phone_outbox_in_development_warns_and_writes_to_the_email_outbox(tmp_path):
    path = tmp_path / "outbox.jsonl"
    chosen = settings(
        server__development=True,
        sms__sender="outbox",
        voice__sender="outbox",
        email__outbox_path=str(path),
    )

    with pytest.warns(UserWarning, match="text messages go to the outbox file"):
        sms = sms_sender_from_settings(chosen, FrozenClock(NOON))
    with pytest.warns(UserWarning, match="voice calls go to the outbox file"):
        voice = voice_sender_from_settings(chosen, FrozenClock(NOON))
    sms.send_sms(a_text())
    voice.call(a_call())

    assert [m["channel"] for m in read_outbox(path, to=PHONE)] == ["sms", "voice"]


@pytest.mark.parametrize(
    ("build", "setting", "allowed"),
    [
        (email_sender_from_settings, "email.sender", "smtp, notify, outbox"),
        (sms_sender_from_settings, "sms.sender", "notify, twilio, none, outbox"),
        (voice_sender_from_settings, "voice.sender", "twilio, none, outbox"),
    ],
)
def test_unknown_senders_are_refused_listing_the_choices(build, setting, allowed):
    with pytest.raises(ConfigError) as raised:
        build(settings(**{setting.replace(".", "__"): "pigeon"}), FrozenClock(NOON))

    assert str(raised.value) == f"{setting} must be one of {allowed}, not 'pigeon'"


def test_voice_through_notify_is_refused_because_notify_makes_no_calls():
    with pytest.raises(ConfigError, match=r"voice\.sender must be one of twilio, none, outbox"):
        voice_sender_from_settings(settings(voice__sender="notify"), FrozenClock(NOON))


@pytest.mark.parametrize(
    ("build", "chosen", "environ", "named"),
    [
        (sms_sender_from_settings, {"sms__sender": "notify"}, {}, "IDP_NOTIFY_API_KEY"),
        (email_sender_from_settings, {"email__sender": "notify"}, {}, "IDP_NOTIFY_API_KEY"),
        (
            sms_sender_from_settings,
            {"sms__sender": "notify", "notify__sms_template_id": ""},
            NOTIFY_ENV,
            "notify.sms_template_id",
        ),
        (
            email_sender_from_settings,
            {"email__sender": "notify", "notify__email_template_id": ""},
            NOTIFY_ENV,
            "notify.email_template_id",
        ),
        (
            sms_sender_from_settings,
            {"sms__sender": "notify", "notify__sms_template_id": "welcome-text"},
            NOTIFY_ENV,
            "notify.sms_template_id must be a Notify template id",
        ),
        (
            sms_sender_from_settings,
            {"sms__sender": "notify", "notify__api_key_env": "COUNCIL_NOTIFY_KEY"},
            NOTIFY_ENV,
            "COUNCIL_NOTIFY_KEY",
        ),
    ],
)
def test_notify_settings_that_cannot_work_are_refused_naming_what_is_missing(
    build, chosen, environ, named
):
    with pytest.raises(ConfigError) as raised:
        build(notify_settings(**chosen), FrozenClock(NOON), environ=environ)

    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("build", "chosen", "environ", "named"),
    [
        (sms_sender_from_settings, {"sms__sender": "twilio"}, {}, "IDP_TWILIO_AUTH_TOKEN"),
        (voice_sender_from_settings, {"voice__sender": "twilio"}, {}, "IDP_TWILIO_AUTH_TOKEN"),
        (
            sms_sender_from_settings,
            {"sms__sender": "twilio", "twilio__account_sid": ""},
            TWILIO_ENV,
            "twilio.account_sid",
        ),
        (
            voice_sender_from_settings,
            {"voice__sender": "twilio", "twilio__from_number": ""},
            TWILIO_ENV,
            "twilio.from_number",
        ),
        (
            voice_sender_from_settings,
            {"voice__sender": "twilio", "twilio__from_number": "0116 496 0000"},
            TWILIO_ENV,
            "twilio.from_number must be a phone number in E.164 form",
        ),
    ],
)
def test_twilio_settings_that_cannot_work_are_refused_naming_what_is_missing(
    build, chosen, environ, named
):
    with pytest.raises(ConfigError) as raised:
        build(twilio_settings(**chosen), FrozenClock(NOON), environ=environ)

    assert named in str(raised.value)


def test_a_notify_key_of_the_wrong_shape_is_refused_without_repeating_it():
    with pytest.raises(ConfigError, match=r"IDP_NOTIFY_API_KEY .* does not hold") as raised:
        sms_sender_from_settings(
            notify_settings(sms__sender="notify"),
            FrozenClock(NOON),
            environ={"IDP_NOTIFY_API_KEY": "pasted-the-wrong-thing"},
        )

    assert "pasted-the-wrong-thing" not in str(raised.value)


@pytest.mark.parametrize(
    ("chosen", "setting"),
    [
        ({"sms__sender": "notify", "notify__base_url": "http://notify.example"}, "notify.base_url"),
        ({"sms__sender": "twilio", "twilio__base_url": "http://twilio.example"}, "twilio.base_url"),
    ],
)
def test_plain_http_to_a_provider_is_refused_outside_development(chosen, setting):
    production = settings(**{**NOTIFY_SETTINGS, **TWILIO_SETTINGS, **chosen})

    with pytest.raises(ConfigError, match=re.escape(f"{setting} must be an https URL")):
        sms_sender_from_settings(production, FrozenClock(NOON), environ=NOTIFY_ENV | TWILIO_ENV)


def test_a_timeout_of_zero_is_refused():
    with pytest.raises(ConfigError, match=r"messaging\.timeout must be more than 0"):
        sms_sender_from_settings(
            twilio_settings(sms__sender="twilio", messaging__timeout=0),
            FrozenClock(NOON),
            environ=TWILIO_ENV,
        )
