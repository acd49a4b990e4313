"""The one clock that code lifetimes, lockouts and token expiry read (DESIGN.md, principle 6).

Production uses ``SystemClock``; tests install a ``FrozenClock`` and move it::

    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    app = create_app(test_config={...}, clock=clock)
    clock.advance(seconds=601)   # the authorization code has now expired
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self._now += timedelta(seconds=seconds, **kwargs)


def timestamp(moment: datetime) -> int:
    return int(moment.timestamp())
