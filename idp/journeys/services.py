"""What journey steps may ask of Gatehouse (steps.base.JourneyServices), over the
database, the email sender and the address provider. The Flask side of the engine."""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, render_template
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.journeys.policy import Policy
from idp.journeys.steps.base import IdentityTaken, SignInResult
from idp.messaging import Email, EmailNotSent, TextMessage, VoiceCall, spoken_code
from idp.mfa import recovery, totp
from idp.migrate import passwords as migrated
from idp.runtime import Runtime
from idp.security import audit
from idp.security.digests import digest, new_secret
from idp.security.lockout import LockoutPolicy, fingerprint, seconds_left
from idp.store import lockouts
from idp.store.models import (
    AuditEvent,
    B2cImport,
    Consent,
    Identity,
    MfaMethod,
    PasswordCredential,
    PendingSignup,
    RecoveryCode,
    User,
)
from idp.store.users import (
    AccountExists,
    create_local_user,
    find_local_identity,
    find_sign_in_identity,
    get_user_by_object_id,
    sign_out_everywhere,
)
from idp.validation import normalise_email

log = logging.getLogger(__name__)

#: Claims kept in User columns; every other claim lives in User.claims.
_COLUMNS = ("given_name", "family_name", "phone_number")
PRIVACY_DOCUMENT = "privacy"
#: Wrong passwords an activation link takes in another browser before it stops working.
LINK_PASSWORD_TRIES = 5

SUBJECTS = {
    "verification_code": "Your verification code",
    "no_account": "You asked to reset a password",
    "social_account": "You asked to reset a password",
    "activation": "Activate your account",
    "already_registered": "You already have an account",
    "security_code": "Your security code",
    "email_changed": "Your email address has changed",
    "password_link": "Set a password for your account",
}


class SqlJourneyServices:
    def __init__(self, rt: Runtime, policy: Policy | None, journey_id: str | None) -> None:
        # Support staff's "resend activation email" uses these services with no journey.
        self.rt = rt
        self.journey_id = journey_id
        self.password_rules = policy.password if policy is not None else None

    def now(self) -> datetime:
        return self.rt.clock.now()

    # -- signing in ----------------------------------------------------------------------
    def check_local_password(self, email: str, password: str) -> tuple[SignInResult, str | None]:
        policy = self._lockout_policy()
        if policy is not None and seconds_left(lockouts.current(email), self.now()):
            return "locked", None
        identity = find_sign_in_identity(email)
        user = identity.user if identity else None
        credential = user.password if user else None
        imported = migrated.awaiting(user) if user is not None and user.enabled else None
        if user is not None and imported is not None:
            # Moved from B2C and not signed in since: the old tenant checks the password.
            outcome = migrated.first_sign_in(user, imported, password, self.journey_id)
            if outcome == "ok":
                if policy is not None:
                    lockouts.clear(email)
                return "ok", user.object_id
            if outcome != "wrong":
                return outcome, None
            ok = False
        else:
            # Verify even when there is no account, so timing does not tell the difference.
            ok = self.rt.hasher.verify(credential.hash if credential else None, password)
        if not ok or user is None or not user.enabled:
            reason = "disabled" if ok and user is not None else "wrong password"
            # An address with no account is not recorded: the log is not a list of guesses.
            audit.record("signin.failed", user=user, details={"reason": reason})
            if policy is not None:
                secret = str(current_app.secret_key or "").encode()
                state = lockouts.failed(email, fingerprint(secret, email, password),
                                        self.now(), policy)
                if state.locked_until is not None and seconds_left(state, self.now()):
                    audit.record("signin.locked_out", user=user,
                                 details={"lockouts": state.lockouts})
                    return "locked", None
            return "wrong", None
        if policy is not None:
            lockouts.clear(email)
        if credential is not None and self.rt.hasher.needs_rehash(credential.hash):
            credential.hash = self.rt.hasher.hash(password)
            db.session.commit()
        return "ok", user.object_id

    def _lockout_policy(self) -> LockoutPolicy | None:
        settings = self.rt.settings
        if int(settings["lockout.threshold"]) <= 0:
            return None
        return LockoutPolicy(
            threshold=int(settings["lockout.threshold"]),
            duration=int(settings["lockout.duration"]),
            max_duration=int(settings["lockout.max_duration"]),
        )

    def lockout_seconds(self, email: str) -> int:
        return seconds_left(lockouts.current(email), self.now())

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
        self, email: str, password_hash: str, claims: dict[str, Any]
    ) -> str | None:
        return _create_account(email, password_hash, claims, self.now())

    def start_pending_signup(self, email: str, password_hash: str, claims: dict[str, Any]) -> str:
        now = self.now()
        row = PendingSignup(
            digest="",
            email=normalise_email(email),
            password_hash=password_hash,
            claims=claims,
            journey_id=self.journey_id,
            created_at=now,
            expires_at=now,
        )
        db.session.add(row)
        db.session.flush()
        row.first_id = row.id
        return str(row.id), self._send_pending(row)

    def resend_pending_signup(self, reference: str) -> bool:
        first = db.session.get(PendingSignup, int(reference))
        if first is None:
            return False
        now = self.now()
        rows = db.session.scalars(
            select(PendingSignup).where(PendingSignup.first_id == first.id)
        ).all()
        if any(r.user_id for r in rows):
            return True  # already followed: nothing to resend
        for old in rows:
            old.used_at = old.used_at or now  # one working link at a time
        row = PendingSignup(
            digest="",
            email=first.email,
            password_hash=first.password_hash,
            claims=first.claims,
            journey_id=first.journey_id,
            created_at=now,
            expires_at=now,
            first_id=first.id,
        )
        db.session.add(row)
        return self._send_pending(row)

    def _send_pending(self, row: PendingSignup) -> bool:
        """Email the link, or, for an address with an account already, say so. The row is
        written either way, so the two take the same path and time."""
        lifetime = int(self.rt.settings["journeys.activation_link_lifetime"])
        token = new_secret(32)
        row.digest = digest(token)
        row.expires_at = row.created_at + timedelta(seconds=lifetime)
        db.session.commit()
        route = self.account_route(row.email)
        try:
            if route is None:
                link = f"{self.rt.settings['server.base_url']}/activate/{token}"
                self.send_email(
                    "activation", row.email, {"link": link, "hours": max(1, lifetime // 3600)}
                )
            else:
                provider = "" if route == "local" else route
                self.send_email("already_registered", row.email, {"provider": provider})
        except EmailNotSent as error:
            log.warning("activation email not sent: %s", error)
            return False
        return True

    def pending_signup_account(self, reference: str) -> str | None:
        user_id = db.session.scalar(
            select(PendingSignup.user_id).where(
                PendingSignup.first_id == int(reference), PendingSignup.user_id.is_not(None)
            )
        )
        user = db.session.get(User, user_id) if user_id else None
        return user.object_id if user else None

    def local_account(self, email: str) -> str | None:
        identity = find_local_identity(email)
        return identity.user.object_id if identity is not None else None

    def set_password(self, email: str, password_hash: str) -> str | None:
        try:
            return self._set_password(email, password_hash)
        except IntegrityError:
            # A first password for a moved account stored by another request meanwhile:
            # this reset replaces it, as it would any password.
            db.session.rollback()
            return self._set_password(email, password_hash)

    def _set_password(self, email: str, password_hash: str) -> str | None:
        identity = find_local_identity(email)
        if identity is None:
            return None
        user = identity.user
        if user.password is None:
            imported = migrated.awaiting(user)
            if imported is None:
                return None
            # Moved from B2C, password not followed yet: this reset is its first password.
            user.password = PasswordCredential(hash=password_hash, changed_at=self.now())
            imported.password_pending = False
            imported.password_migrated_at = self.now()
        user.password.hash = password_hash
        user.password.changed_at = self.now()
        user.email_verified = True
        lockouts.clear(email)  # a reset proves the person: the lockout is lifted
        revoked = sign_out_everywhere(user, self.now())
        audit.record("password.reset", user=user, details={"token_families_revoked": revoked})
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
        if "phone_number" in claims and claims["phone_number"] != user.phone_number:
            # A number typed on a form is not proven; only the MFA phone is.
            proven = next((m.phone_number for m in _mfa_methods(user) if m.kind == "phone"), None)
            claims["phone_number_verified"] = bool(proven) and proven == claims["phone_number"]
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
            revoked = sign_out_everywhere(user, self.now())
            audit.record(
                "email.changed",
                user=user,
                details={"from": old, "to": subject, "token_families_revoked": revoked},
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return False
        if old:
            # The old address hears of it, so a change made by someone else is noticed.
            try:
                self.send_email("email_changed", old, {"new": _masked(subject)})
            except EmailNotSent as error:
                log.warning("email-changed notice not sent: %s", error)
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

    # -- second factors ------------------------------------------------------------------
    def mfa_status(self, object_id: str) -> dict[str, Any]:
        user = get_user_by_object_id(object_id)
        if user is None:
            return {}
        methods = {m.kind: m for m in _mfa_methods(user)}
        phone = methods.get("phone")
        blocked = user.mfa_blocked_until
        left = db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        return {
            "phone": {"number": phone.phone_number, "type": phone.phone_type} if phone else None,
            "app": "app" in methods,
            "email": user.email,
            "blocked_until": int(blocked.timestamp()) if blocked else None,
            "recovery_codes": left or 0,
            # Used an app at B2C; apps cannot move, so the person sets theirs up again.
            "app_moved": "app" not in methods and bool(db.session.scalar(
                select(B2cImport.had_app).where(B2cImport.user_id == user.id)
            )),
        }

    def mfa_recent(self, object_id: str, seconds: int) -> dict[str, int]:
        """Codes sent and wrong codes for this account in the last ``seconds`` since its
        last passed second factor or block, across every journey and instance: counted from the
        audit log, which records each of them."""
        since = self.now() - timedelta(seconds=seconds)
        # A pass, or a block (which is its own penalty), starts the count again.
        last_pass = db.session.scalar(
            select(func.max(AuditEvent.occurred_at)).where(
                AuditEvent.user_object_id == object_id,
                AuditEvent.event_type.in_(("mfa.passed", "mfa.blocked")),
            )
        )
        if last_pass is not None and last_pass > since:
            since = last_pass
        rows = db.session.execute(
            select(AuditEvent.event_type, func.count())
            .where(
                AuditEvent.user_object_id == object_id,
                AuditEvent.event_type.in_(("mfa.code_sent", "mfa.code_wrong")),
                AuditEvent.occurred_at > since,
            )
            .group_by(AuditEvent.event_type)
        ).all()
        counts = dict(rows)
        return {"sent": counts.get("mfa.code_sent", 0), "wrong": counts.get("mfa.code_wrong", 0)}

    def send_sms(self, to: str, body: str, data: dict[str, Any]) -> None:
        self.rt.sms.send_sms(TextMessage(to=to, body=body, kind="security_code", data=data))

    def place_call(self, to: str, code: str) -> None:
        self.rt.voice.call(
            VoiceCall(to=to, spoken=spoken_code(code), kind="security_code", data={"code": code})
        )

    def save_phone(self, object_id: str, number: str, kind: str, changed: bool) -> None:
        user = _user(object_id)
        now = self.now()
        method = next((m for m in _mfa_methods(user) if m.kind == "phone"), None)
        old = method.phone_number if method else None
        if method is None:
            method = MfaMethod(user_id=user.id, kind="phone", created_at=now)
            db.session.add(method)
        method.phone_number, method.phone_type, method.last_used_at = number, kind, now
        user.phone_number = number
        user.claims = {**(user.claims or {}), "phone_number_verified": True}
        user.updated_at = now
        if changed:
            audit.record(
                "phone.changed", user=user, details={"from": _tail(old), "to": _tail(number)}
            )
        else:
            audit.record(
                "mfa.enrolled", user=user, details={"method": "phone", "to": _tail(number)}
            )
        db.session.commit()

    def block_mfa(self, object_id: str, until: datetime, reason: str) -> None:
        user = _user(object_id)
        user.mfa_blocked_until = until
        audit.record("mfa.blocked", user=user, details={"until": until.isoformat(), "why": reason})
        db.session.commit()

    def seal(self, secret: str) -> str:
        blob = self.rt.encryptor.encrypt(secret.encode(), "journey:" + self.journey_id)
        return base64.b64encode(blob).decode()

    def unseal(self, sealed: str) -> str:
        blob = base64.b64decode(sealed)
        return self.rt.encryptor.decrypt(blob, "journey:" + self.journey_id).decode()

    def save_app(self, object_id: str, secret: str, step: int, recovery_hashes: list[str]) -> None:
        user = _user(object_id)
        now = self.now()
        for old in [m for m in _mfa_methods(user) if m.kind == "app"]:
            db.session.delete(old)
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        db.session.flush()
        db.session.add(
            MfaMethod(
                user_id=user.id,
                kind="app",
                secret=self.rt.encryptor.encrypt(secret.encode(), "totp:" + user.object_id),
                last_used_step=step,
                created_at=now,
                last_used_at=now,
            )
        )
        for digest_ in recovery_hashes:
            db.session.add(RecoveryCode(user_id=user.id, digest=digest_, created_at=now))
        db.session.commit()

    def check_app_code(self, object_id: str, code: str) -> bool:
        user = _user(object_id)
        method = db.session.scalar(
            select(MfaMethod)
            .where(MfaMethod.user_id == user.id, MfaMethod.kind == "app")
            .with_for_update()
        )
        if method is None or method.secret is None:
            return False
        secret = self.rt.encryptor.decrypt(method.secret, "totp:" + user.object_id).decode()
        step = totp.verify_totp(secret, code, self.now(), method.last_used_step)
        if step is None:
            return False
        method.last_used_step, method.last_used_at = step, self.now()
        db.session.commit()
        return True

    def use_recovery_code(self, object_id: str, code: str) -> bool:
        user = _user(object_id)
        unused = db.session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
        found = recovery.find_recovery_code(code, [c.digest for c in unused])
        if found is None:
            return False
        match = next(c for c in unused if c.digest == found)
        # Single use even when two requests race: only one update sees it unused.
        claimed = db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
            .values(used_at=self.now())
        ).rowcount
        db.session.commit()
        return bool(claimed)

    def audit(self, event: str, object_id: str | None, details: dict[str, Any]) -> None:
        # Written with the journey's own state at the end of the request: committing here
        # would release the journey's row lock while its attempt counts are unsaved.
        audit.record(event, user_object_id=object_id, details=details)
        db.session.flush()

    # -- upstream providers --------------------------------------------------------------
    def federation_providers(self) -> list[tuple[str, str]]:
        federation = current_app.extensions.get("idp.federation")
        return list(federation.providers()) if federation is not None else []

    def federated_account(
        self, provider: str, issuer: str, subject: str
    ) -> tuple[str | None, bool]:
        # The route is part of the key too, so one provider can never answer for an
        # identity another provider (or a local sign-up) made, whatever issuer it claims.
        identity = db.session.scalar(
            select(Identity).where(
                Identity.route == provider,
                Identity.issuer == issuer,
                Identity.subject == subject,
            )
        )
        if identity is None:
            return None, False
        identity.last_used_at = self.now()
        return identity.user.object_id, identity.user.enabled

    def create_federated_account(self, upstream: dict[str, Any], keep_email: bool) -> str:
        now = self.now()
        email = normalise_email(upstream["email"]) if upstream.get("email") else None
        user = User(
            email=email if keep_email else None,
            email_verified=bool(upstream.get("email_verified")) and keep_email,
            given_name=upstream.get("given_name"),
            family_name=upstream.get("family_name"),
            claims={},
            created_at=now,
            updated_at=now,
        )
        user.identities.append(
            Identity(
                route=upstream["provider"],
                issuer=upstream["issuer"],
                subject=upstream["subject"],
                created_at=now,
                last_used_at=now,
            )
        )
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:
            # The same upstream identity made its account a moment ago: use that one, if
            # it is this provider's (never another route's identity by a shared key).
            db.session.rollback()
            existing, enabled = self.federated_account(
                upstream["provider"], upstream["issuer"], upstream["subject"]
            )
            if existing is None or not enabled:
                raise IdentityTaken(upstream["issuer"]) from None
            return existing
        audit.record("account.created", user=user, details={"route": upstream["provider"]})
        db.session.commit()
        return user.object_id

    def find_addresses(self, postcode: str) -> list[dict[str, str]]:
        return [asdict(address) for address in self.rt.addresses.find(postcode)]


def _user(object_id: str) -> User:
    user = get_user_by_object_id(object_id)
    if user is None:
        raise LookupError(f"no user {object_id}")
    return user


def _mfa_methods(user: User) -> list[MfaMethod]:
    return list(db.session.scalars(select(MfaMethod).where(MfaMethod.user_id == user.id)))


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _tail(number: str | None) -> str | None:
    """Enough of a phone number for the audit log to tell numbers apart."""
    return f"…{number[-3:]}" if number else None


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


def _create_account(
    email: str, password_hash: str, claims: dict[str, Any], now: datetime
) -> str | None:
    """Create a local account with a proven email in one transaction; None when the
    address already has an account by any route (principle 1: one address, one account,
    and never a local account beside a social one)."""
    claims = dict(claims)
    consent = claims.pop("privacy_consent", None)
    if db.session.scalar(select(User.id).where(User.email == normalise_email(email)).limit(1)):
        return None
    try:
        user = create_local_user(email=email, password_hash=password_hash, now=now)
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
        # Another request made this account a moment ago.
        db.session.rollback()
        return None
    return user.object_id


def find_pending_signup(token: str) -> PendingSignup | None:
    return db.session.scalar(select(PendingSignup).where(PendingSignup.digest == digest(token)))


def follow_activation_link(
    row: PendingSignup, password: str | None, hasher: Any, now: datetime
) -> str:
    """Activate: "activated", "expired", "used", "wrong_password" or "exists".

    ``password`` is None in the browser that signed up (it owns the journey); anywhere
    else the person gives the password they chose, so a link forwarded, scanned or
    opened by someone who did not sign up creates nothing.
    """
    if row.user_id is not None:
        return "activated"
    if row.used_at is not None:
        return "used"
    if row.expires_at <= now:
        return "expired"
    if password is not None and not hasher.verify(row.password_hash, password):
        row.attempts = (row.attempts or 0) + 1
        if row.attempts >= LINK_PASSWORD_TRIES:
            row.used_at = now  # guessed at: the person signs up again or uses a resend
        db.session.commit()
        return "wrong_password"
    object_id = _create_account(row.email, row.password_hash, dict(row.claims or {}), now)
    # The row may have been expired by the commit or rollback above.
    row = db.session.get(PendingSignup, row.id) or row
    if object_id is None:
        row.used_at = now
        db.session.commit()
        return "exists"
    user = get_user_by_object_id(object_id)
    assert user is not None
    row.used_at, row.user_id = now, user.id
    audit.record("account.activated", user=user)
    db.session.commit()
    return "activated"
