"""Password lockouts by email address (security/lockout.py decides; this keeps the rows).

Rows are read FOR UPDATE when a failure is recorded, so two instances counting wrong
passwords for one address at once do not lose a count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.security.lockout import LockoutPolicy, LockoutState, address_key, record_failure
from idp.store.models import PasswordLockout


def _state(row: PasswordLockout | None) -> LockoutState:
    if row is None:
        return LockoutState()
    return LockoutState(
        failures=row.failures,
        lockouts=row.lockouts,
        locked_until=row.locked_until,
        recent=tuple(row.recent or ()),
    )


def current(email: str) -> LockoutState:
    query = select(PasswordLockout).where(PasswordLockout.address == address_key(email))
    return _state(db.session.scalar(query))


def failed(
    email: str, password_print: str, now: datetime, policy: LockoutPolicy
) -> LockoutState:
    """Count a wrong password (in the caller's transaction) and return the new state."""
    key = address_key(email)
    query = select(PasswordLockout).where(PasswordLockout.address == key).with_for_update()
    row = db.session.scalar(query)
    if row is None:
        try:
            with db.session.begin_nested():
                row = PasswordLockout(address=key, failures=0, lockouts=0, recent=[],
                                      updated_at=now)
                db.session.add(row)
        except IntegrityError:  # another instance made it first
            row = db.session.scalar(query)
            assert row is not None
    state = record_failure(_state(row), password_print, now, policy)
    row.failures, row.lockouts = state.failures, state.lockouts
    row.locked_until, row.recent, row.updated_at = state.locked_until, list(state.recent), now
    db.session.flush()
    return state


def clear(email: str) -> None:
    """A right password, a reset or an admin's unlock: start afresh."""
    db.session.execute(delete(PasswordLockout).where(PasswordLockout.address == address_key(email)))
