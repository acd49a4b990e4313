"""An in-memory JourneyServices, so steps and policies run without HTTP or a database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from idp.address import Address, AddressLookupError, CsvAddressProvider
from idp.clock import FrozenClock
from idp.config import PROJECT_ROOT
from idp.journeys.steps.base import SignInResult
from idp.security.password_rules import PasswordRules


class Account:
    def __init__(self, email: str, password: str, claims: dict[str, Any], active: bool):
        self.object_id = str(uuid.uuid4())
        self.email = email.lower()
        self.password = password
        self.claims = dict(claims)
        self.active = active
        self.consents: list[str] = []
        self.route = "local"


class FakeServices:
    """Accounts in a dict, emails in a list, addresses from the example CSV.

    Password "hashes" are the password with a marker, so tests can see what was saved.
    """

    journey_id = "journey-1"

    def __init__(self, clock: FrozenClock | None = None, rules: PasswordRules | None = None):
        self.clock = clock or FrozenClock(datetime.fromisoformat("2026-11-23T09:00:00+00:00"))
        self.password_rules = rules or PasswordRules()
        self.accounts: dict[str, Account] = {}
        self.emails: list[tuple[str, str, dict[str, Any]]] = []
        self.addresses = CsvAddressProvider(PROJECT_ROOT / "data" / "addresses.example.csv")
        self.address_service_down = False

    # helpers for tests
    def add(
        self,
        email: str,
        password: str = "Tq7#mZp2vL",
        active: bool = True,
        route: str = "local",
        **claims: Any,
    ) -> Account:
        account = Account(email, "hash:" + password, {"email": email.lower(), **claims}, active)
        account.route = route
        self.accounts[account.email] = account
        return account

    def last_email(self, kind: str | None = None) -> tuple[str, str, dict[str, Any]]:
        matching = [e for e in self.emails if kind is None or e[0] == kind]
        return matching[-1]

    def by_id(self, object_id: str) -> Account:
        return next(a for a in self.accounts.values() if a.object_id == object_id)

    # JourneyServices
    def now(self) -> datetime:
        return self.clock.now()

    def check_local_password(self, email: str, password: str) -> tuple[SignInResult, str | None]:
        account = self.accounts.get(email.lower())
        if account is None or account.route != "local" or account.password != "hash:" + password:
            return "wrong", None
        return ("ok" if account.active else "not_activated"), account.object_id

    def hash_password(self, password: str) -> str:
        return "hash:" + password

    def account_route(self, email: str) -> str | None:
        account = self.accounts.get(email.lower())
        return account.route if account else None

    def create_local_account(
        self, email: str, password_hash: str, claims: dict[str, Any], activated: bool
    ) -> str | None:
        if email.lower() in self.accounts:
            return None
        consent = claims.pop("privacy_consent", None)
        account = Account(email, password_hash, {**claims, "email": email.lower()}, activated)
        if consent:
            account.consents.append(consent["version"])
        self.accounts[account.email] = account
        return account.object_id

    def set_password(self, email: str, password_hash: str) -> str | None:
        account = self.accounts.get(email.lower())
        if account is None or account.route != "local":
            return None
        account.password = password_hash
        account.active = True
        return account.object_id

    def load_claims(self, object_id: str) -> dict[str, Any]:
        return dict(self.by_id(object_id).claims)

    def save_claims(self, object_id: str, claims: dict[str, Any]) -> None:
        self.by_id(object_id).claims.update({k: v for k, v in claims.items() if k != "email"})

    def change_email(self, object_id: str, new_email: str) -> bool:
        if new_email.lower() in self.accounts:
            return False
        account = self.by_id(object_id)
        del self.accounts[account.email]
        account.email = new_email.lower()
        account.claims["email"] = account.email
        self.accounts[account.email] = account
        return True

    def privacy_version_agreed(self, object_id: str) -> str | None:
        consents = self.by_id(object_id).consents
        return consents[-1] if consents else None

    def record_privacy_consent(self, object_id: str, version: str) -> None:
        self.by_id(object_id).consents.append(version)

    def send_email(self, kind: str, to: str, values: dict[str, Any]) -> None:
        self.emails.append((kind, to, dict(values)))

    def send_activation(self, object_id: str | None, email: str) -> None:
        if object_id is None:
            self.send_email("already_registered", email, {})
        else:
            self.send_email("activation", email, {"object_id": object_id})

    def is_activated(self, object_id: str) -> bool:
        return self.by_id(object_id).active

    def find_addresses(self, postcode: str) -> list[dict[str, str]]:
        if self.address_service_down:
            raise AddressLookupError(detail="test: the service is down")
        return [
            vars(a) if not isinstance(a, Address) else a.__dict__
            for a in self.addresses.find(postcode)
        ]
