"""What journey steps may ask of Gatehouse (steps.base.JourneyServices), over the
database, the email sender and the address provider. The Flask side of the engine."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.journeys.policy import Policy
from idp.journeys.steps.base import SignInResult
from idp.messaging import Email
from idp.runtime import Runtime
from idp.security import audit
from idp.security.digests import digest, new_secret
from idp.store.models import ActivationLink, Consent, User
from idp.store.users import (
    AccountExists,
    create_local_user,
    find_local_identity,
    get_user_by_object_id,
)
from idp.validation import normalise_email

#: Claims kept in User columns; every other claim lives in User.claims.
_COLUMNS = ("given_name", "family_name", "phone_number")
PRIVACY_DOCUMENT = "privacy"

SUBJECTS = {
    "verification_code": "Your verification code",
    "no_account": "You asked to reset a password",
    "social_account": "You asked to reset a password",
    "activation": "Activate your account",
    "already_registered": "You already have an account",
}


class SqlJourneyServices:
    def __init__(self, rt: Runtime, policy: Policy, journey_id: str) -> None:
        self.rt = rt
        self.journey_id = journey_id
        self.password_rules = policy.password

    def now(self) -> datetime:
        return self.rt.clock.now()

    # -- signing in ----------------------------------------------------------------------
    def check_local_password(self, email: str, password: str) -> tuple[SignInResult, str | None]:
        identity = find_local_identity(email)
        user = identity.user if identity else None
        credential = user.password if user else None
        # Verify even when there is no account, so timing does not tell the difference.
        ok = self.rt.hasher.verify(credential.hash if credential else None, password)
        if not ok or user is None or not user.enabled:
            return "wrong", None
        if credential is not None and self.rt.hasher.needs_rehash(credential.hash):
            credential.hash = self.rt.hasher.hash(password)
            db.session.commit()
        if user.pending_activation:
            return "not_activated", user.object_id
        return "ok", user.object_id

    def hash_password(self, password: str) -> str:
        return self.rt.hasher.hash(password)

    def account_route(self, email: str) -> str | None:
        if find_local_identity(email) is not None:
            return "local"
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)).limit(1))
        if user is None:
            return None
        federated = [i.route for i in user.identities if i.route != "local"]
        return federated[0] if federated else None

    # -- writing accounts ----------------------------------------------------------------
    def create_local_account(
        self, email: str, password_hash: str, claims: dict[str, Any], activated: bool
    ) -> str | None:
        now = self.now()
        claims = dict(claims)
        consent = claims.pop("privacy_consent", None)
        try:
            user = create_local_user(email=email, password_hash=password_hash, now=now)
            user.email_verified = activated
            user.pending_activation = not activated
            _apply_claims(user, claims)
            db.session.flush()
            if consent:
                db.session.add(
                    Consent(
                        user_id=user.id,
                        document=PRIVACY_DOCUMENT,
                        version=consent["version"],
                        agreed_at=now,
                    )
                )
            audit.record("account.created", user=user, details={"route": "local"})
            db.session.commit()
        except (AccountExists, IntegrityError):
            # Another request made this account a moment ago (or it was there already).
            db.session.rollback()
            return None
        return user.object_id

    def set_password(self, email: str, password_hash: str) -> str | None:
        identity = find_local_identity(email)
        if identity is None or identity.user.password is None:
            return None
        user = identity.user
        user.password.hash = password_hash
        user.password.changed_at = self.now()
        user.pending_activation = False
        user.email_verified = True
        audit.record("password.reset", user=user)
        db.session.commit()
        return user.object_id

    def load_claims(self, object_id: str) -> dict[str, Any]:
        user = get_user_by_object_id(object_id)
        if user is None:
            return {}
        claims = {k: v for k, v in (user.claims or {}).items() if v not in (None, "")}
        for name in (*_COLUMNS, "email"):
            value = getattr(user, name)
            if value:
                claims[name] = value
        return claims

    def save_claims(self, object_id: str, claims: dict[str, Any]) -> None:
        user = get_user_by_object_id(object_id)
        if user is None:
            return
        claims = {k: v for k, v in claims.items() if k != "email"}
        _apply_claims(user, claims)
        user.updated_at = self.now()
        audit.record("profile.updated", user=user, details={"claims": sorted(claims)})
        db.session.commit()

    def change_email(self, object_id: str, new_email: str) -> bool:
        user = get_user_by_object_id(object_id)
        if user is None:
            return False
        subject = normalise_email(new_email)
        local = [i for i in user.identities if i.issuer == "local"]
        old = user.email
        for identity in local:
            identity.subject = subject
        user.email = subject
        user.email_verified = True
        user.updated_at = self.now()
        try:
            db.session.flush()
            audit.record("email.changed", user=user, details={"from": old, "to": subject})
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return False
        return True

    def privacy_version_agreed(self, object_id: str) -> str | None:
        user = get_user_by_object_id(object_id)
        if user is None:
            return None
        return db.session.scalar(
            select(Consent.version)
            .where(Consent.user_id == user.id, Consent.document == PRIVACY_DOCUMENT)
            .order_by(Consent.agreed_at.desc(), Consent.id.desc())
            .limit(1)
        )

    def record_privacy_consent(self, object_id: str, version: str) -> None:
        user = get_user_by_object_id(object_id)
        if user is None:
            return
        db.session.add(
            Consent(
                user_id=user.id, document=PRIVACY_DOCUMENT, version=version, agreed_at=self.now()
            )
        )
        audit.record("privacy.agreed", user=user, details={"version": version})
        db.session.commit()

    # -- email ---------------------------------------------------------------------------
    def send_email(self, kind: str, to: str, values: dict[str, Any]) -> None:
        brand = {
            key.split(".", 1)[1]: value
            for key, value in self.rt.settings.items()
            if key.startswith("brand.")
        }
        params = {**values, "brand": brand, "to": to}
        self.rt.mailer.send(
            Email(
                to=to,
                subject=f"{SUBJECTS[kind]} - {brand['service_name']}",
                text=render_template(f"email/{kind}.txt", **params),
                html=render_template(f"email/{kind}.html", **params),
                kind=kind,
                data={k: v for k, v in values.items() if isinstance(v, str | int)},
            )
        )

    def send_activation(self, object_id: str | None, email: str) -> None:
        user = get_user_by_object_id(object_id) if object_id else None
        if user is None or not user.pending_activation:
            self.send_email("already_registered", email, {})
            return
        now = self.now()
        lifetime = int(self.rt.settings["journeys.activation_link_lifetime"])
        token = new_secret(32)
        db.session.add(
            ActivationLink(
                digest=digest(token),
                user_id=user.id,
                journey_id=self.journey_id,
                created_at=now,
                expires_at=now + timedelta(seconds=lifetime),
            )
        )
        db.session.commit()
        link = f"{self.rt.settings['server.base_url']}/activate/{token}"
        self.send_email("activation", email, {"link": link, "hours": max(1, lifetime // 3600)})

    def is_activated(self, object_id: str) -> bool:
        user = get_user_by_object_id(object_id)
        return user is not None and not user.pending_activation

    def find_addresses(self, postcode: str) -> list[dict[str, str]]:
        return [asdict(address) for address in self.rt.addresses.find(postcode)]


def _apply_claims(user: User, claims: dict[str, Any]) -> None:
    extra = dict(user.claims or {})
    for name, value in claims.items():
        if name in _COLUMNS:
            setattr(user, name, value or None)
        elif value in (None, ""):
            extra.pop(name, None)
        else:
            extra[name] = value
    user.claims = extra


def activate(token: str, now: datetime) -> tuple[str, ActivationLink | None]:
    """Follow an activation link: ("activated" | "expired" | "unknown", the link)."""
    link = db.session.scalar(select(ActivationLink).where(ActivationLink.digest == digest(token)))
    if link is None:
        return "unknown", None
    user = db.session.get(User, link.user_id)
    if user is None:
        return "unknown", None
    if not user.pending_activation:
        return "activated", link  # followed twice: the account is active, say so again
    if link.used_at is not None or link.expires_at <= now:
        return "expired", link
    link.used_at = now
    user.pending_activation = False
    user.email_verified = True
    user.updated_at = now
    audit.record("account.activated", user=user)
    db.session.commit()
    return "activated", link
