"""Recovery codes: look-up secrets (NIST SP 800-63B §5.1.2) for when the phone is lost.

A set is shown once, when the person turns on a second factor, and kept only as hashes.
Each code works once: the caller deletes the hash that ``find_recovery_code`` returns::

    codes = new_recovery_codes()                  # show these once: "7kq2m-x9c0d", …
    hashes = [hash_recovery_code(code) for code in codes]          # keep these
    used = find_recovery_code("7KQ2M X9C0D", hashes)               # one of hashes, or None
    hashes.remove(used)                                            # so it cannot work again

Counting and limiting failed attempts (§5.2.2) is the caller's job, as for ``codes``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

# Crockford's base32, lower case: no i, l, o (read as 1, 1, 0 when typed) and no u.
# 32 symbols are 5 bits each, so 10 characters give 50 bits, far above the 20 bits
# §5.1.2.1 asks of a look-up secret that is rate-limited.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
LENGTH = 10
GROUP = 5
# Letters people read for the digits they resemble, as Crockford's decoding does.
_READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})

# §5.1.2.1: look-up secrets with fewer than 112 bits SHALL be salted and hashed with a
# key derivation function. A plain SHA-256 of 50 bits is exhausted in under a day on one
# GPU, and unsalted one sweep cracks every account's codes at once. PBKDF2 is approved
# (SP 800-132); 10,000 iterations is §5.1.1.2's minimum and puts one code at decades of
# GPU time, while checking a set of ten still takes only tens of milliseconds.
ITERATIONS = 10_000
# Stored as 32 hex digits of salt then 32 of derived key: 64 characters, the size of the
# recovery_codes.digest column. 128 bits of output is ample for a 50-bit secret. Changing
# ITERATIONS makes existing hashes unfindable, so it needs a new stored format first.
SALT_BYTES = 16
KEY_BYTES = 16
HASH_LENGTH = 2 * (SALT_BYTES + KEY_BYTES)


def new_recovery_codes(count: int = 10) -> list[str]:
    """``count`` fresh codes of 50 random bits each, for the person to write down.

    Shown in two groups of five, and all different from one another::

        new_recovery_codes(3)   # ["7kq2m-x9c0d", "h4ve1-8rtzn", "0wsj3-pa6gb"]
    """
    if count < 1:
        raise ValueError(f"a set of recovery codes needs at least one code, not {count}")
    codes: set[str] = set()
    # A repeat is one chance in 2**50; drawing again keeps the set at ``count`` codes.
    while len(codes) < count:
        codes.add("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))
    return [f"{code[:GROUP]}-{code[GROUP:]}" for code in codes]


def hash_recovery_code(code: str) -> str:
    """What to keep in place of ``code``: its salt and PBKDF2 hash, as 64 hex digits.

    Case, spaces and hyphens do not matter, so people may type it as they like::

        hash_recovery_code("7kq2m-x9c0d")
        # "<32 hex digits of salt><32 hex digits of hash>", different each time
    """
    normalised = _normalise(code)
    if normalised is None:
        raise ValueError("not a recovery code from new_recovery_codes")
    salt = secrets.token_hex(SALT_BYTES)
    return salt + _derive(normalised, salt)


def find_recovery_code(given: str, hashes: Iterable[str]) -> str | None:
    """The stored hash that ``given`` matches, or None.

    Delete the hash returned, so the code cannot be used again::

        find_recovery_code("7KQ2M x9c0d", hashes)   # "3f9c…", one of ``hashes``
        find_recovery_code("7kq2m-x9c0e", hashes)   # None
    """
    normalised = _normalise(given)
    if normalised is None:
        return None
    found: str | None = None
    # Every hash is checked, each in constant time, so the time taken does not tell
    # which of the codes (or whether any) matched.
    for stored in hashes:
        if len(stored) != HASH_LENGTH or not _is_hex(stored):
            continue  # not a hash this module wrote
        salt, expected = stored[: 2 * SALT_BYTES], stored[2 * SALT_BYTES :]
        if hmac.compare_digest(_derive(normalised, salt), expected):
            found = stored
    return found


def _normalise(code: str) -> str | None:
    """The code's ten symbols in lower case, or None if it cannot be a recovery code."""
    compact = "".join(code.split()).replace("-", "")
    # Length first, so nothing longer than a code is ever folded or hashed.
    if len(compact) != LENGTH:
        return None
    compact = compact.lower().translate(_READ_AS)
    if not all(character in ALPHABET for character in compact):
        return None
    return compact


def _derive(normalised: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac(
        "sha256", normalised.encode("ascii"), bytes.fromhex(salt), ITERATIONS, KEY_BYTES
    ).hex()


def _is_hex(text: str) -> bool:
    return all(character in "0123456789abcdef" for character in text)
