"""Per-address throttles: how often one IP address may try passwords, sign up, have codes
sent, and call the token and introspection endpoints.

Counters live in Redis when ``redis.url`` is set, so every instance counts together; in
process memory otherwise (one instance only). They use the ``limits`` library (the engine
under Flask-Limiter) directly: Flask-Limiter's decorators key limits by view function
name, and the B2C-shaped routes share their view functions, so the buckets are named here
instead. Windows move with wall-clock time, as Redis keeps it, not the injected clock.

    throttle = Throttle.from_settings(settings)
    wait = throttle.hit("signin", "203.0.113.9")   # 0, or seconds until a try is allowed
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

#: The buckets, the setting that sizes each, and what it counts.
BUCKETS = {
    "signin": "Passwords tried on sign-in pages.",
    "signup": "Sign-up pages submitted.",
    "code_send": "Codes and activation emails asked for (send, resend, choose a method).",
    "token": "Requests to the token endpoint.",
    "introspect": "Requests to the introspection endpoint.",
    "b2c_verifier": "Passwords checked with the old B2C tenant (one count for everyone).",
}


@dataclass
class Throttle:
    limiter: MovingWindowRateLimiter | None
    limits: dict[str, RateLimitItem]
    prefix: str = "gatehouse"

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Throttle:
        limits: dict[str, RateLimitItem] = {}
        for bucket in BUCKETS:
            text = str(settings[f"throttle.{bucket}"]).strip()
            if text and text != "0":
                limits[bucket] = parse(text)
        if not limits:
            return cls(None, {})
        uri = settings["redis.url"] or "memory://"
        return cls(MovingWindowRateLimiter(storage_from_string(uri)), limits)

    def hit(self, bucket: str, address: str | None) -> int:
        """Count one request; 0 when it is allowed, else whole seconds to wait.

        If the counter store fails (Redis down), the request is allowed and the failure
        logged: an identity provider that refuses everyone because Redis blinked is worse
        than one that counts nothing for a moment.
        """
        limit = self.limits.get(bucket)
        if self.limiter is None or limit is None:
            return 0
        key = f"{self.prefix}:{bucket}:{address or 'unknown'}"
        try:
            if self.limiter.hit(limit, key):
                return 0
            stats = self.limiter.get_window_stats(limit, key)
        except Exception as error:  # the store's own errors vary by backend
            log.warning("throttle store unavailable, not counting: %s", type(error).__name__)
            return 0
        return max(1, int(stats.reset_time - time.time() + 0.999))


def journey_buckets(step_type: str, action: str, chose: str | None) -> list[str]:
    """Which buckets a journey form submission counts towards."""
    buckets = []
    if step_type == "signin_page" and action == "":
        buckets.append("signin")
    if action in ("send", "resend", "choose"):
        buckets.append("code_send")
    if chose == "sign_up":
        buckets.append("signup")
    return buckets
