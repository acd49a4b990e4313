"""Encryption of private signing keys at rest (AES-256-GCM under a key from the environment).

The environment variable named by ``keys.encryption_key_env`` holds a passphrase of at
least 32 characters; HKDF-SHA256 stretches it to the AES key. In development mode an
embedded passphrase is used instead, with a warning.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idp.config import ConfigError, warn_development

_DEVELOPMENT_PASSPHRASE = "gatehouse-development-only-key-encryption-passphrase"
_VERSION = b"\x01"


class KeyEncryptor:
    def __init__(self, passphrase: str) -> None:
        if len(passphrase) < 32:
            raise ConfigError("the key-encryption passphrase must be at least 32 characters")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"gatehouse signing keys v1"
        ).derive(passphrase.encode("utf-8"))
        self._aead = AESGCM(derived)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> KeyEncryptor:
        name = settings["keys.encryption_key_env"]
        passphrase = os.environ.get(name, "")
        if not passphrase:
            if not settings["server.development"]:
                raise ConfigError(
                    f"set the environment variable {name} to a secret of 32 or more "
                    "characters: it encrypts the signing keys at rest"
                )
            warn_development(f"{name} is not set; signing keys are encrypted with a known key")
            passphrase = _DEVELOPMENT_PASSPHRASE
        return cls(passphrase)

    def encrypt(self, plaintext: bytes, kid: str) -> bytes:
        nonce = os.urandom(12)
        # The kid is bound as associated data so one key's ciphertext cannot pose as another's.
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def decrypt(self, blob: bytes, kid: str) -> bytes:
        if blob[:1] != _VERSION:
            raise ValueError(f"signing key {kid} is stored in an unknown format")
        return self._aead.decrypt(blob[1:13], blob[13:], kid.encode())
