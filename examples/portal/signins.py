"""What a portal keeps about a sign-in: the ID token's claims, the token itself (the
id_token_hint at sign-out) and the policy that issued it.

Tokens stay on the server: the session cookie holds a random key into this store, so the
cookie stays small with both portals signed in, and no token travels back to the browser.
The store is this process's memory, which suits a demo; a real portal keeps its own table.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SignIn:
    policy: str
    claims: dict[str, Any]
    id_token: str

    @property
    def display_name(self) -> str:
        """Who this is, in the words the claims offer first: name, given and family name,
        then the email address."""
        claims = self.claims
        full = " ".join(str(claims[k]) for k in ("given_name", "family_name") if claims.get(k))
        emails = claims.get("emails") or [None]
        return str(claims.get("name") or full or claims.get("email") or emails[0] or "you")


class SignInStore:
    """Sign-ins by random key; the oldest are forgotten past ``limit``."""

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._items: OrderedDict[str, SignIn] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, sign_in: SignIn) -> str:
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._items[key] = sign_in
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return key

    def get(self, key: str | None) -> SignIn | None:
        if not key:
            return None
        with self._lock:
            return self._items.get(key)

    def forget(self, key: str | None) -> None:
        if key:
            with self._lock:
                self._items.pop(key, None)
