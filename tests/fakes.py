"""An in-memory JourneyServices, so steps and policies run without HTTP or a database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from idp.address import Address, AddressLookupError, CsvAddressProvider
from idp.clock import FrozenClock
from idp.config import PROJECT_ROOT
from idp.journeys.steps.base import IdentityTaken, SignInResult
from idp.messaging import EmailNotSent, MessageNotSent
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
        self.phone: dict[str, str] | None = None
        self.app_secret: str | None = None
        self.app_step: int | None = None
        self.recovery: list[str] = []
        self.blocked_until: datetime | None = None


class FakeServices:
    """Accounts in a dict, emails in a list, addresses from the example CSV.

    Password "hashes" are the password with a marker, so tests can see what was saved.
    Texts, calls and audit events go to lists too; ``email_down``, ``sms_down`` and
    ``voice_down`` make the matching channel fail as a real sender does.
    """

    journey_id = "journey-1"

    def __init__(self, clock: FrozenClock | None = None, rules: PasswordRules | None = None):
        self.clock = clock or FrozenClock(datetime.fromisoformat("2026-11-23T09:00:00+00:00"))
        self.password_rules = rules or PasswordRules()
        self.accounts: dict[str, Account] = {}
        self.emails: list[tuple[str, str, dict[str, Any]]] = []
        self.addresses = CsvAddressProvider(PROJECT_ROOT / "data" / "addresses.example.csv")
        self.address_service_down = False
        self.pending: dict[str, dict[str, Any]] = {}
        self.texts: list[tuple[str, str, dict[str, Any]]] = []
        self.calls: list[tuple[str, str]] = []
        self.audited: list[tuple[str, str | None]] = []
        self.email_down = self.sms_down = self.voice_down = False
        self.providers: list[tuple[str, str]] = []
        self.federated: dict[tuple[str, str], Account] = {}

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

    def give_phone(
        self, account: Account, number: str = "+447759140004", kind: str = "mobile"
    ) -> Account:
        """An MFA phone proven earlier, as ``save_phone`` leaves it (without the audit)."""
        account.phone = {"number": number, "type": kind}
        account.claims.update(phone_number=number, phone_number_verified=True)
        return account

    def last_email(self, kind: str | None = None) -> tuple[str, str, dict[str, Any]]:
        matching = [e for e in self.emails if kind is None or e[0] == kind]
        return matching[-1]

    def by_id(self, object_id: str) -> Account:
        everyone = [*self.accounts.values(), *self.federated.values()]
        return next(a for a in everyone if a.object_id == object_id)

    # JourneyServices
    def now(self) -> datetime:
        return self.clock.now()

    def check_local_password(self, email: str, password: str) -> tuple[SignInResult, str | None]:
        account = self.accounts.get(email.lower())
        if account is None or account.route != "local" or account.password != "hash:" + password:
            return "wrong", None
        return "ok", account.object_id

    def lockout_seconds(self, email: str) -> int:
        return 0

    def hash_password(self, password: str) -> str:
        return "hash:" + password

    def account_route(self, email: str) -> str | None:
        account = self.accounts.get(email.lower())
        return account.route if account else None

    def create_local_account(
        self, email: str, password_hash: str, claims: dict[str, Any]
    ) -> str | None:
        if email.lower() in self.accounts:
            return None
        claims = dict(claims)
        consent = claims.pop("privacy_consent", None)
        account = Account(email, password_hash, {**claims, "email": email.lower()}, True)
        if consent:
            account.consents.append(consent["version"])
        self.accounts[account.email] = account
        return account.object_id

    def start_pending_signup(
        self, email: str, password_hash: str, claims: dict[str, Any]
    ) -> tuple[str, bool]:
        reference = str(len(self.pending) + 1)
        self.pending[reference] = {
            "email": email,
            "password_hash": password_hash,
            "claims": dict(claims),
            "object_id": None,
        }
        return reference, self._send_pending(reference)

    def resend_pending_signup(self, reference: str) -> bool:
        pending = self.pending.get(reference)
        if pending is None:
            return False
        if pending["object_id"]:
            return True  # already followed: nothing to resend, as SqlJourneyServices
        return self._send_pending(reference)

    def _send_pending(self, reference: str) -> bool:
        """The link, or for a taken address (by any route) a note naming how it signs in."""
        pending = self.pending[reference]
        route = self.account_route(pending["email"])
        try:
            if route is None:
                self.send_email("activation", pending["email"], {"reference": reference})
            else:
                provider = "" if route == "local" else route
                self.send_email("already_registered", pending["email"], {"provider": provider})
        except EmailNotSent:
            return False
        return True

    def follow_link(self, reference: str) -> str | None:
        """What following the activation link does: make the account (None if taken)."""
        pending = self.pending[reference]
        object_id = self.create_local_account(
            pending["email"], pending["password_hash"], pending["claims"]
        )
        pending["object_id"] = object_id
        return object_id

    def pending_signup_account(self, reference: str) -> str | None:
        return self.pending[reference]["object_id"]

    def local_account(self, email: str) -> str | None:
        account = self.accounts.get(email.lower())
        return account.object_id if account and account.route == "local" else None

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
        if self.email_down:
            raise EmailNotSent(f"test: the email service is down ({kind} to {to})")
        self.emails.append((kind, to, dict(values)))

    # second factors
    def mfa_status(self, object_id: str) -> dict[str, Any]:
        account = next((a for a in self.accounts.values() if a.object_id == object_id), None)
        if account is None:
            return {}
        until = account.blocked_until
        return {
            "phone": account.phone,
            "app": account.app_secret is not None,
            "email": account.email,
            "recovery_codes": len(account.recovery),
            "blocked_until": int(until.timestamp()) if until else None,
        }

    def mfa_recent(self, object_id: str, seconds: int) -> dict[str, int]:
        """Like the audit-log count, without the time window: since the last pass or block."""
        events = [e for e, who in self.audited if who == object_id]
        for i in range(len(events) - 1, -1, -1):
            if events[i] in ("mfa.passed", "mfa.blocked"):
                events = events[i + 1 :]
                break
        return {"sent": events.count("mfa.code_sent"), "wrong": events.count("mfa.code_wrong")}

    def send_sms(self, to: str, body: str, data: dict[str, Any]) -> None:
        if self.sms_down:
            raise MessageNotSent("test: the SMS provider is down")
        self.texts.append((to, body, dict(data)))

    def place_call(self, to: str, code: str) -> None:
        if self.voice_down:
            raise MessageNotSent("test: the voice provider is down")
        self.calls.append((to, code))

    def save_phone(self, object_id: str, number: str, kind: str, changed: bool) -> None:
        account = self.by_id(object_id)
        account.phone = {"number": number, "type": kind}
        account.claims.update(phone_number=number, phone_number_verified=True)
        self.audited.append(("phone.changed" if changed else "mfa.enrolled", object_id))

    def block_mfa(self, object_id: str, until: datetime, reason: str) -> None:
        self.by_id(object_id).blocked_until = until
        self.audited.append(("mfa.blocked", object_id))

    def seal(self, secret: str) -> str:
        return "sealed:" + secret

    def unseal(self, sealed: str) -> str:
        return sealed.removeprefix("sealed:")

    def save_app(self, object_id: str, secret: str, step: int, recovery_hashes: list[str]) -> None:
        account = self.by_id(object_id)
        account.app_secret, account.app_step, account.recovery = secret, step, list(recovery_hashes)

    def check_app_code(self, object_id: str, code: str) -> bool:
        from idp.mfa import totp

        account = self.by_id(object_id)
        if account.app_secret is None:
            return False
        step = totp.verify_totp(account.app_secret, code, self.now(), account.app_step)
        if step is None:
            return False
        account.app_step = step
        return True

    def use_recovery_code(self, object_id: str, code: str) -> bool:
        from idp.mfa import recovery

        account = self.by_id(object_id)
        found = recovery.find_recovery_code(code, account.recovery)
        if found is None:
            return False
        account.recovery.remove(found)
        return True

    def audit(self, event: str, object_id: str | None, details: dict[str, Any]) -> None:
        self.audited.append((event, object_id))

    # upstream providers
    def federation_providers(self) -> list[tuple[str, str]]:
        return list(self.providers)

    def federated_account(
        self, provider: str, issuer: str, subject: str
    ) -> tuple[str | None, bool]:
        account = self.federated.get((issuer, subject))
        if account is None or account.route != provider:
            return None, False
        return account.object_id, account.active

    def create_federated_account(self, upstream: dict[str, Any], keep_email: bool) -> str:
        if (upstream["issuer"], upstream["subject"]) in self.federated:
            raise IdentityTaken(upstream["issuer"])  # the unique (issuer, subject)
        email = upstream.get("email") if keep_email else None
        account = Account(
            email or f"{upstream['subject']}@{upstream['provider']}.invalid",
            "",
            {"given_name": upstream.get("given_name")},
            True,
        )
        account.route = upstream["provider"]
        self.federated[(upstream["issuer"], upstream["subject"])] = account
        if email:
            self.accounts[account.email] = account
        return account.object_id

    def find_addresses(self, postcode: str) -> list[dict[str, str]]:
        if self.address_service_down:
            raise AddressLookupError(detail="test: the service is down")
        return [
            vars(a) if not isinstance(a, Address) else a.__dict__
            for a in self.addresses.find(postcode)
        ]
