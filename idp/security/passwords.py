"""Password hashing with argon2id. No Flask here: plain values in, plain values out.

The parameters come from config; tests use cheap ones, production keeps the strong defaults::

    hasher = PasswordHasher.from_settings(settings)
    stored = hasher.hash("correct horse battery staple")
    hasher.verify(stored, "correct horse battery staple")   # True
"""

from __future__ import annotations

from typing import Any

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PasswordHasher:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verifying against this keeps the time of "no such account" equal to the time of
        # "wrong password", so response times do not reveal which emails are registered.
        self._decoy = self._hasher.hash("gatehouse-decoy-password")

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> PasswordHasher:
        return cls(
            time_cost=settings["passwords.time_cost"],
            memory_cost=settings["passwords.memory_cost"],
            parallelism=settings["passwords.parallelism"],
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
