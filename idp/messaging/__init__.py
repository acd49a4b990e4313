"""Messages to people: email now (outbox for development, SMTP); SMS and voice to follow.

Nothing here imports Flask; views and journey steps pass plain values in::

    sender = email_sender_from_settings(settings, clock)
    sender.send(Email(to=address, subject="Your code", text=text, html=html,
                      kind="verification_code", data={"code": code}))
"""

from __future__ import annotations

from idp.messaging.email import Email, EmailNotSent, EmailSender
from idp.messaging.outbox import OutboxSender, read_outbox
from idp.messaging.senders import EMAIL_SENDERS, email_sender_from_settings
from idp.messaging.smtp import TLS_MODES, SmtpSender

__all__ = [
    "EMAIL_SENDERS",
    "TLS_MODES",
    "Email",
    "EmailNotSent",
    "EmailSender",
    "OutboxSender",
    "SmtpSender",
    "email_sender_from_settings",
    "read_outbox",
]
