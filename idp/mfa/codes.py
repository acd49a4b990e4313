"""One-time codes: to verify an email address now, and for SMS and voice MFA later.

They follow NIST SP 800-63B for out-of-band secrets (§5.1.3): at least 6 random digits,
kept only as a salted hash, usable once, for a limited time and a limited number of tries.
The record is plain JSON for the journey's server-side state; the time is passed in, so
tests move it (DESIGN.md, principle 6)::

    code, record = new_code(clock.now(), lifetime=600)      # send `code`, keep `record`
    check_code(record, "123 456", clock.now())               # CodeCheck.WRONG; attempts 1
    check_code(record, code, clock.now())                    # CodeCheck.OK; now used
    check_code(record, code, clock.now())                    # CodeCheck.USED
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime
from enum import Enum
from typing import Any

# NIST SP 800-63B §5.1.3.1: an out-of-band secret has at least 20 bits of entropy,
# which 6 decimal digits give.
MIN_DIGITS = 6
SALT_BYTES = 16


class CodeCheck(Enum):
    """What checking a code found. The value is a stable name for logs and audit events."""

    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    TOO_MANY_ATTEMPTS = "too_many_attempts"


def new_code(now: datetime, lifetime: int, digits: int = 6) -> tuple[str, dict[str, Any]]:
    """A fresh code to send, and the record to keep in place of it.

    The code keeps its leading zeros; the record holds no trace of it but a salted hash::

        code, record = new_code(datetime(2026, 1, 1, tzinfo=UTC), lifetime=600)
        # code: "042917"
        # record: {"hash": "…", "salt": "…", "issued_at": 1767225600,
        #          "expires_at": 1767226200, "attempts": 0, "used": False}
    """
    if digits < MIN_DIGITS:
        raise ValueError(f"a one-time code needs at least {MIN_DIGITS} digits, not {digits}")
    if lifetime <= 0:
        raise ValueError(f"a one-time code's lifetime must be positive, not {lifetime}")
    # randbelow is uniform over every code, including those starting with 0.
    code = f"{secrets.randbelow(10**digits):0{digits}d}"
    salt = secrets.token_hex(SALT_BYTES)
    issued_at = _epoch(now)
    record = {
        "hash": _hash(salt, code),
        "salt": salt,
        "issued_at": issued_at,
        "expires_at": issued_at + lifetime,
        "attempts": 0,
        "used": False,
    }
    return code, record


def check_code(
    record: dict[str, Any], given: str, now: datetime, max_attempts: int = 5
) -> CodeCheck:
    """Checks what the person typed against the record, and updates the record.

    A wrong code counts an attempt; a right one marks the code used. Spaces and hyphens
    are ignored, as people copy "123 456" or "123-456" from a message::

        check_code(record, "123 456", now)   # CodeCheck.OK, and record["used"] is True
        check_code(record, "123456", now)    # CodeCheck.USED: a code works once

    Once ``max_attempts`` wrong codes have been tried, even the right one is refused
    (TOO_MANY_ATTEMPTS), so six digits cannot be guessed (NIST SP 800-63B §5.2.2).
    """
    if record["used"]:
        return CodeCheck.USED
    if record["attempts"] >= max_attempts:
        return CodeCheck.TOO_MANY_ATTEMPTS
    if _epoch(now) >= record["expires_at"]:
        return CodeCheck.EXPIRED
    normalised = _normalise(given)
    # Input that cannot be a code ("12345a") still uses up an attempt, like any wrong code.
    if normalised is None or not hmac.compare_digest(
        _hash(record["salt"], normalised), record["hash"]
    ):
        record["attempts"] += 1
        return CodeCheck.WRONG
    record["used"] = True
    return CodeCheck.OK


def seconds_until_resend(last_sent_at: int | None, now: datetime, cooldown: int) -> int:
    """Seconds to wait before another code may be sent; 0 when one may be sent now.

    ``last_sent_at`` is the epoch second the last code went out (None if none has)::

        seconds_until_resend(record["issued_at"], now, cooldown=60)   # 45, 15 s after
    """
    if last_sent_at is None:
        return 0
    wait = last_sent_at + cooldown - _epoch(now)
    # Never more than the cooldown, even if the clock has stepped backwards.
    return max(0, min(wait, cooldown))


def seconds_left(record: dict[str, Any], now: datetime) -> int:
    """Seconds the code in ``record`` can still be used for; 0 once expired or used.

    For pages that say "The code will expire in 10 minutes"::

        seconds_left(record, now)   # 600 just after new_code(now, lifetime=600)
    """
    if record["used"]:
        return 0
    return max(0, int(record["expires_at"]) - _epoch(now))


def _normalise(given: str) -> str | None:
    """The digits typed, or None if anything but digits, spaces and hyphens was typed."""
    compact = "".join(given.split()).replace("-", "")
    if not compact or not all(character.isdecimal() for character in compact):
        return None
    # Any script's digits (Arabic-Indic "١٢٣", full-width forms) read as the ASCII digits.
    return "".join(str(unicodedata.decimal(character)) for character in compact)


def _hash(salt: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode("ascii"), hashlib.sha256).hexdigest()


def _epoch(now: datetime) -> int:
    # A naive datetime would be read as local time and shift every expiry by the offset.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("one-time code times must be timezone-aware (UTC)")
    return int(now.timestamp())
