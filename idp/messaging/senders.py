"""Choosing the email sender a deployment's settings ask for.

Example::

    settings = load_settings("config.toml")
    sender = email_sender_from_settings(settings, SystemClock())
    sender.send(email)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from idp.clock import Clock
from idp.config import ConfigError, resolve_path, warn_development
from idp.messaging.email import EmailSender
from idp.messaging.outbox import OutboxSender
from idp.messaging.smtp import TLS_MODES, SmtpSender

EMAIL_SENDERS = ("smtp", "outbox")


def email_sender_from_settings(
    settings: Mapping[str, Any],
    clock: Clock,
    environ: Mapping[str, str] | None = None,
) -> EmailSender:
    """Build the sender named by ``email.sender``; the SMTP password comes from ``environ``.

    Raises ``ConfigError`` naming the setting when a value is not one Gatehouse knows,
    so a typo stops start-up instead of the first sign-up.
    """
    environ = os.environ if environ is None else environ
    sender = settings["email.sender"]
    from_address = settings["email.from_address"]
    if sender == "outbox":
        path = resolve_path(settings["email.outbox_path"])
        warn_development(f"email goes to the outbox file {path}, not to people")
        return OutboxSender(path, from_address, clock)
    if sender != "smtp":
        raise ConfigError(f"email.sender must be one of {', '.join(EMAIL_SENDERS)}, not {sender!r}")
    tls = settings["smtp.tls"]
    if tls not in TLS_MODES:
        raise ConfigError(f"smtp.tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
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
