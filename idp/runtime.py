"""The per-application services that views and grants share, kept in app.extensions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from idp.address import AddressProvider
from idp.clock import Clock
from idp.journeys.policy import PolicySet
from idp.messaging import EmailSender, SmsSender, VoiceSender
from idp.security.keystore import KeyEncryptor
from idp.security.passwords import PasswordHasher


@dataclass
class Runtime:
    settings: dict[str, Any]
    clock: Clock
    policies: PolicySet
    encryptor: KeyEncryptor
    hasher: PasswordHasher
    mailer: EmailSender
    sms: SmsSender
    voice: VoiceSender
    addresses: AddressProvider


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["idp"]
    return rt
