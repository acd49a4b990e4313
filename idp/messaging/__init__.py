"""Messages to people: email, text messages and voice calls.

Email goes through SMTP or GOV.UK Notify, text messages through Notify or Twilio, calls
through Twilio; in development any of them can go to the outbox file instead. Nothing here
imports Flask; views and journey steps pass plain values in::

    sender = email_sender_from_settings(settings, clock)
    sender.send(Email(to=address, subject="Your code", text=text, html=html,
                      kind="verification_code", data={"code": code}))

    sms = sms_sender_from_settings(settings, clock)
    sms.send_sms(TextMessage(to="+447700900123", body=f"Your security code is {code}",
                             kind="mfa_code", data={"code": code}))

    voice = voice_sender_from_settings(settings, clock)
    voice.call(VoiceCall(to="+441164960123", spoken=spoken_code(code),
                         kind="mfa_code", data={"code": code}))

Every sender raises ``MessageNotSent`` (``EmailNotSent`` for email) when it cannot send.
"""

from __future__ import annotations

from idp.messaging.email import Email, EmailNotSent, EmailSender
from idp.messaging.errors import MessageNotSent
from idp.messaging.notify import NotifySender
from idp.messaging.outbox import CHANNELS, OutboxSender, read_outbox
from idp.messaging.phone import (
    SmsSender,
    TextMessage,
    VoiceCall,
    VoiceSender,
    is_e164,
    spoken_code,
)
from idp.messaging.senders import (
    EMAIL_SENDERS,
    SMS_SENDERS,
    VOICE_SENDERS,
    email_sender_from_settings,
    sms_sender_from_settings,
    voice_sender_from_settings,
)
from idp.messaging.smtp import TLS_MODES, SmtpSender
from idp.messaging.twilio_sender import TwilioSender

__all__ = [
    "CHANNELS",
    "EMAIL_SENDERS",
    "SMS_SENDERS",
    "TLS_MODES",
    "VOICE_SENDERS",
    "Email",
    "EmailNotSent",
    "EmailSender",
    "MessageNotSent",
    "NotifySender",
    "OutboxSender",
    "SmsSender",
    "SmtpSender",
    "TextMessage",
    "TwilioSender",
    "VoiceCall",
    "VoiceSender",
    "email_sender_from_settings",
    "is_e164",
    "read_outbox",
    "sms_sender_from_settings",
    "spoken_code",
    "voice_sender_from_settings",
]
