"""Digests of the high-entropy secrets Gatehouse issues (codes, tokens, client secrets).

They are random strings of 256 bits or more, so SHA-256 is enough to store them safely
and still find them by value; people's passwords go through argon2id instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(stored_digest: str | None, secret: str) -> bool:
    return stored_digest is not None and hmac.compare_digest(stored_digest, digest(secret))


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
