"""Choosing the email, text message and voice senders a deployment's settings ask for.

Each factory checks everything it can at start-up, so a typo or a missing secret stops
Gatehouse with a ``ConfigError`` naming the setting instead of failing the first sign-in.

Example::

    settings = load_settings("config.toml")
    email = email_sender_from_settings(settings, SystemClock())
    sms = sms_sender_from_settings(settings, SystemClock())
    voice = voice_sender_from_settings(settings, SystemClock())
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from idp.clock import Clock
from idp.config import ConfigError, resolve_path, warn_development
from idp.messaging.email import EmailSender
from idp.messaging.errors import MessageNotSent
from idp.messaging.notify import NotifySender, is_notify_api_key
from idp.messaging.outbox import OutboxSender
from idp.messaging.phone import SmsSender, TextMessage, VoiceCall, VoiceSender, is_e164
from idp.messaging.smtp import TLS_MODES, SmtpSender
from idp.messaging.twilio_sender import TwilioSender

EMAIL_SENDERS = ("smtp", "notify", "outbox")
SMS_SENDERS = ("notify", "twilio", "none", "outbox")
VOICE_SENDERS = ("twilio", "none", "outbox")


class NoPhoneSender:
    """``sms.sender`` or ``voice.sender`` = none: a deployment that sends no texts or
    calls. Each attempt fails like a provider outage would, so the page offers another
    way; the message says which setting to change."""

    def __init__(self, setting: str) -> None:
        self.setting = setting

    def send_sms(self, message: TextMessage) -> None:
        raise MessageNotSent(f"text message not sent: {self.setting} is none")

    def call(self, call: VoiceCall) -> None:
        raise MessageNotSent(f"call not made: {self.setting} is none")


def email_sender_from_settings(
    settings: Mapping[str, Any],
    clock: Clock,
    environ: Mapping[str, str] | None = None,
) -> EmailSender:
    """Build the sender named by ``email.sender``; passwords and keys come from ``environ``.

    Raises ``ConfigError`` naming the setting when a value is not one Gatehouse knows,
    so a typo stops start-up instead of the first sign-up.
    """
    environ = os.environ if environ is None else environ
    sender = settings["email.sender"]
    from_address = settings["email.from_address"]
    if sender == "outbox":
        if not settings["server.development"]:
            # Verification codes and activation links in a plain file are for a
            # developer's machine, never for people's accounts.
            raise ConfigError(
                "email.sender = outbox writes emails to a file instead of sending them, "
                "which is allowed only with server.development = true; choose smtp or notify"
            )
        path = resolve_path(settings["email.outbox_path"])
        warn_development(f"email goes to the outbox file {path}, not to people")
        return OutboxSender(path, from_address, clock)
    _check_choice("email.sender", EMAIL_SENDERS, sender)
    if sender == "notify":
        return _notify_sender(settings, environ, "email.sender", "notify.email_template_id")
    tls = settings["smtp.tls"]
    _check_choice("smtp.tls", TLS_MODES, tls)
    username = settings["smtp.username"]
    password_env = settings["smtp.password_env"]
    password = environ.get(password_env, "")
    if username and not password:
        # Caught here rather than as an authentication failure at the first sign-up.
        raise ConfigError(
            f"smtp.username is set but the environment variable {password_env} "
            "(named by smtp.password_env) holding the SMTP password is empty"
        )
    return SmtpSender(
        host=settings["smtp.host"],
        port=int(settings["smtp.port"]),
        tls=tls,
        username=username,
        password=password,
        timeout=float(settings["smtp.timeout"]),
        from_address=from_address,
        clock=clock,
    )


def sms_sender_from_settings(
    settings: Mapping[str, Any],
    clock: Clock,
    environ: Mapping[str, str] | None = None,
) -> SmsSender:
    """Build the sender named by ``sms.sender``: notify, twilio or (development) outbox.

    Example::

        sms_sender_from_settings({**settings, "sms.sender": "twilio"}, clock,
                                 environ={"IDP_TWILIO_AUTH_TOKEN": token})
    """
    environ = os.environ if environ is None else environ
    sender = settings["sms.sender"]
    _check_choice("sms.sender", SMS_SENDERS, sender)
    if sender == "none":
        return NoPhoneSender("sms.sender")
    if sender == "outbox":
        return _phone_outbox(settings, clock, "sms.sender", "text messages", "notify or twilio")
    if sender == "notify":
        return _notify_sender(settings, environ, "sms.sender", "notify.sms_template_id")
    return _twilio_sender(settings, environ, "sms.sender")


def voice_sender_from_settings(
    settings: Mapping[str, Any],
    clock: Clock,
    environ: Mapping[str, str] | None = None,
) -> VoiceSender:
    """Build the sender named by ``voice.sender``: twilio or (development) outbox.

    Example::

        voice_sender_from_settings(settings, clock).call(
            VoiceCall(to=number, spoken=spoken_code(code), kind="mfa_code")
        )
    """
    environ = os.environ if environ is None else environ
    sender = settings["voice.sender"]
    _check_choice("voice.sender", VOICE_SENDERS, sender)
    if sender == "none":
        return NoPhoneSender("voice.sender")
    if sender == "outbox":
        return _phone_outbox(settings, clock, "voice.sender", "voice calls", "twilio")
    return _twilio_sender(settings, environ, "voice.sender")


def _check_choice(setting: str, allowed: tuple[str, ...], value: Any) -> None:
    if value not in allowed:
        raise ConfigError(f"{setting} must be one of {', '.join(allowed)}, not {value!r}")


def _phone_outbox(
    settings: Mapping[str, Any], clock: Clock, setting: str, what: str, instead: str
) -> OutboxSender:
    # Unlike email's, this outbox is refused in production: a deployment must not write
    # people's codes to a file.
    if not settings["server.development"]:
        raise ConfigError(
            f"{setting} = outbox writes {what} to a file instead of sending them, which "
            f"is allowed only with server.development = true; choose {instead}"
        )
    path = resolve_path(settings["email.outbox_path"])
    warn_development(f"{what} go to the outbox file {path}, not to people")
    return OutboxSender(path, settings["email.from_address"], clock)


def _notify_sender(
    settings: Mapping[str, Any],
    environ: Mapping[str, str],
    setting: str,
    template_setting: str,
) -> NotifySender:
    template_id = _template_id(settings, setting, template_setting)
    key_env = settings["notify.api_key_env"]
    api_key = environ.get(key_env, "").strip()
    if not api_key:
        raise ConfigError(
            f"{setting} = notify needs the environment variable {key_env} (named by "
            "notify.api_key_env) to hold the GOV.UK Notify API key, and it is empty"
        )
    if not is_notify_api_key(api_key):
        # Never the value itself: start-up errors end up in logs.
        raise ConfigError(
            f"the environment variable {key_env} (named by notify.api_key_env) does not hold "
            "a GOV.UK Notify API key: it should end with the service id and the secret, "
            "two UUIDs"
        )
    templates = {"notify.email_template_id": "", "notify.sms_template_id": ""}
    templates[template_setting] = template_id
    return NotifySender(
        api_key=api_key,
        base_url=_base_url(settings, "notify.base_url"),
        email_template_id=templates["notify.email_template_id"],
        sms_template_id=templates["notify.sms_template_id"],
        timeout=_timeout(settings),
    )


def _template_id(settings: Mapping[str, Any], setting: str, template_setting: str) -> str:
    template_id = str(settings[template_setting]).strip()
    if not template_id:
        raise ConfigError(
            f"{setting} = notify needs {template_setting}: the id of the Notify template "
            "that Gatehouse fills in (see its description in config.example.toml)"
        )
    try:
        uuid.UUID(template_id)
    except ValueError:
        raise ConfigError(
            f"{template_setting} must be a Notify template id (a UUID), not {template_id!r}"
        ) from None
    return template_id


def _twilio_sender(
    settings: Mapping[str, Any], environ: Mapping[str, str], setting: str
) -> TwilioSender:
    account_sid = str(settings["twilio.account_sid"]).strip()
    if not account_sid:
        raise ConfigError(
            f"{setting} = twilio needs twilio.account_sid, your Twilio account SID (AC...)"
        )
    from_number = str(settings["twilio.from_number"]).strip()
    if not from_number:
        raise ConfigError(
            f"{setting} = twilio needs twilio.from_number, the Twilio number texts and "
            "calls come from (E.164, e.g. +441164960000)"
        )
    if not is_e164(from_number):
        raise ConfigError(
            "twilio.from_number must be a phone number in E.164 form, such as "
            f"+441164960000, not {from_number!r}"
        )
    token_env = settings["twilio.auth_token_env"]
    auth_token = environ.get(token_env, "").strip()
    if not auth_token:
        raise ConfigError(
            f"{setting} = twilio needs the environment variable {token_env} (named by "
            "twilio.auth_token_env) to hold the Twilio auth token, and it is empty"
        )
    return TwilioSender(
        account_sid=account_sid,
        auth_token=auth_token,
        from_number=from_number,
        base_url=_base_url(settings, "twilio.base_url"),
        timeout=_timeout(settings),
    )


def _base_url(settings: Mapping[str, Any], setting: str) -> str:
    url = str(settings[setting]).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"{setting} must be an https URL, not {url!r}")
    if parts.scheme == "http":
        # The API key or auth token travels with every request.
        if not settings["server.development"]:
            raise ConfigError(
                f"{setting} must be an https URL; plain http ({url}) is allowed only with "
                "server.development = true"
            )
        warn_development(f"{setting} is plain http ({url}): credentials travel unencrypted")
    return url


def _timeout(settings: Mapping[str, Any]) -> float:
    timeout = float(settings["messaging.timeout"])
    if timeout <= 0:
        raise ConfigError(f"messaging.timeout must be more than 0 seconds, not {timeout:g}")
    return timeout
