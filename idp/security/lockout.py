"""Smart lockout for passwords, after Azure AD B2C's: plain values in, plain values out.

After ``threshold`` wrong passwords for one email address the address is locked for
``duration`` seconds; each further lockout doubles that, up to ``max_duration``. The same
wrong password tried again does not count again (a person retyping an old password, or a
phone retrying a saved one, is not an attack). A right password while locked is refused
too. A password reset, an admin's unlock, or a right password after the lock lifts
clears it all.

Lockouts are kept by a digest of the email address, whether or not an account uses it,
so being locked out says nothing about whether an account exists (DESIGN.md, principle 1).

    state = LockoutState()
    for attempt in range(10):
        state = record_failure(state, fingerprint(key, email, f"guess-{attempt}"), now, policy)
    seconds_left(state, now)  # 60
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

#: Distinct wrong passwords remembered, so a repeat is recognised.
REMEMBERED = 10


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 10
    duration: int = 60
    max_duration: int = 3600

    def lock_seconds(self, lockouts: int) -> int:
        """How long the ``lockouts``-th lockout in a row lasts: doubling each time."""
        return int(min(self.duration * 2 ** max(0, lockouts - 1), self.max_duration))


@dataclass(frozen=True)
class LockoutState:
    failures: int = 0
    lockouts: int = 0
    locked_until: datetime | None = None
    recent: tuple[str, ...] = field(default_factory=tuple)


def address_key(email: str) -> str:
    """Which row holds an address's lockout: a digest, so the table lists no addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def fingerprint(secret: bytes, email: str, password: str) -> str:
    """Recognises a wrong password tried before without keeping it: a keyed digest cut to
    64 bits, useless for guessing offline without the deployment's secret."""
    message = email.strip().lower().encode() + b"\0" + password.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:16]


def seconds_left(state: LockoutState, now: datetime) -> int:
    """Seconds until the address may try again; 0 when it is not locked."""
    if state.locked_until is None or state.locked_until <= now:
        return 0
    return max(1, int((state.locked_until - now).total_seconds() + 0.999))


def record_failure(
    state: LockoutState, password_print: str, now: datetime, policy: LockoutPolicy
) -> LockoutState:
    """A wrong password: count it unless it was tried before; lock at the threshold."""
    if password_print in state.recent:
        return state
    recent = (*state.recent, password_print)[-REMEMBERED:]
    failures = state.failures + 1
    if failures < policy.threshold:
        return replace(state, failures=failures, recent=recent)
    lockouts = state.lockouts + 1
    until = now + timedelta(seconds=policy.lock_seconds(lockouts))
    # The passwords of the last round are forgotten, so a new round counts afresh.
    return LockoutState(failures=0, lockouts=lockouts, locked_until=until, recent=())


def record_success(state: LockoutState) -> LockoutState:
    return LockoutState()
