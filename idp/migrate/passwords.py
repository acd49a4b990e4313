"""Passwords that follow people from B2C: checked once with the old tenant, then kept here.

An imported local account has no password of Gatehouse's until its first sign-in. Then
(``first_sign_in``):

* the old tenant says the password is right: Gatehouse stores its own argon2id hash of it
  and never asks the old tenant again;
* the old tenant says it is wrong: a wrong password like any other (the lockout counts it);
* the old tenant cannot say (it wants MFA or a password change, is down or slow, or no
  verifier is configured): the person is emailed a link to set a new password, and the
  page says so. Nobody meets a dead end.

``idp migrate b2c remind`` sends the same link, after the cut-off date, to everyone whose
password has still not followed. A link works once, for a while, and only while the
account still has no password (a password set any other way retires it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.messaging import EmailNotSent
from idp.migrate.verifier import PasswordVerifier, Verdict
from idp.security import audit
from idp.security.digests import digest, new_secret
from idp.store import lockouts
from idp.store.models import B2cImport, PasswordCredential, PasswordLink, User

log = logging.getLogger(__name__)

#: "no_link": the old tenant could not vouch and no email can reach the person (a user
#: name account with no address); "link_failed": the email could not be sent just now.
FirstSignIn = Literal["ok", "wrong", "link_sent", "busy", "no_link", "link_failed"]
LinkSent = Literal["sent", "held", "no_email", "failed"]
#: A second link is not emailed within this long of the last one (no inbox flooding).
RESEND_AFTER = timedelta(minutes=15)


def awaiting(user: User) -> B2cImport | None:
    """The import record of an account whose password has not followed yet."""
    if user.password is not None:
        return None
    return db.session.scalar(
        select(B2cImport).where(B2cImport.user_id == user.id, B2cImport.password_pending.is_(True))
    )


def verifier() -> PasswordVerifier | None:
    """The deployment's verifier (one per app, so its connections are reused)."""
    extensions = current_app.extensions
    if "idp.b2c_verifier" not in extensions:
        extensions["idp.b2c_verifier"] = PasswordVerifier.from_settings(
            extensions["idp"].settings
        )
    found: PasswordVerifier | None = extensions["idp.b2c_verifier"]
    return found


def first_sign_in(
    user: User, imported: B2cImport, password: str, journey_id: str | None
) -> FirstSignIn:
    """Check an imported account's password with the old tenant; see the module text.

    The caller has checked the lockout and the account is enabled. On "ok" the password
    is stored and committed.
    """
    rt = current_app.extensions["idp"]
    check = verifier()
    if check is None:
        verdict = Verdict("unavailable", "no_verifier")
    else:
        if current_app.extensions["idp.throttle"].hit("b2c_verifier", "everyone"):
            return "busy"
        verdict = check.check(imported.sign_in_name or user.email or "", password, user.object_id)
    now = rt.clock.now()
    if verdict.outcome == "valid":
        user_id = user.id
        user.password = PasswordCredential(hash=rt.hasher.hash(password), changed_at=now)
        imported.password_pending = False
        imported.password_migrated_at = now
        audit.record("password.migrated", user=user, details={"from": "b2c"})
        try:
            db.session.commit()
        except IntegrityError:
            # The same person's other sign-in (a second click) stored it a moment ago.
            db.session.rollback()
            stored = db.session.get(User, user_id)
            held = stored.password if stored is not None else None
            return "ok" if held and rt.hasher.verify(held.hash, password) else "wrong"
        return "ok"
    if verdict.outcome == "invalid":
        return "wrong"
    went = send_link(user, "sign_in", journey_id,
                     int(rt.settings["migration.reset_link_lifetime"]), why=verdict.reason)
    return {"sent": "link_sent", "held": "link_sent", "no_email": "no_link",
            "failed": "link_failed"}[went]


def send_link(
    user: User, reason: str, journey_id: str | None, lifetime: int, why: str = ""
) -> LinkSent:
    """Email a link to set a password (unless one went in the last 15 minutes); commits.
    "sent", "held" (one went lately), "no_email" or "failed" (the sender refused)."""
    rt = current_app.extensions["idp"]
    now = rt.clock.now()
    recent = db.session.scalar(
        select(PasswordLink).where(
            PasswordLink.user_id == user.id,
            PasswordLink.used_at.is_(None),
            PasswordLink.created_at > now - RESEND_AFTER,
        ).limit(1)
    )
    if recent is not None or not user.email:
        audit.record("password.link_held", user=user,
                     details={"reason": reason, "why": why,
                              "because": "sent recently" if user.email else "no email"})
        db.session.commit()
        return "held" if user.email else "no_email"
    token = new_secret(32)
    db.session.add(
        PasswordLink(digest=digest(token), user_id=user.id, journey_id=journey_id,
                     reason=reason, created_at=now, expires_at=now + timedelta(seconds=lifetime))
    )
    audit.record("password.link_sent", user=user, details={"reason": reason, "why": why})
    db.session.commit()
    from idp.journeys.services import SqlJourneyServices

    link = f"{rt.settings['server.base_url']}/password/{token}"
    values: dict[str, Any] = {"link": link, "hours": max(1, lifetime // 3600),
                              "days": lifetime // 86400, "reason": reason}
    try:
        SqlJourneyServices(rt, None, None).send_email("password_link", user.email, values)
    except EmailNotSent as error:
        log.warning("password link email not sent: %s", error)
        return "failed"
    return "sent"


def find_link(token: str, now: datetime) -> tuple[PasswordLink | None, str]:
    """The link and "ok", or (None or the row, "unknown" | "used" | "expired")."""
    row = db.session.scalar(select(PasswordLink).where(PasswordLink.digest == digest(token)))
    if row is None:
        return None, "unknown"
    user = db.session.get(User, row.user_id)
    if user is None or not user.enabled:
        return row, "unknown"
    if row.used_at is not None or user.password is not None:
        return row, "used"
    if row.expires_at <= now:
        return row, "expired"
    return row, "ok"


def use_link(row: PasswordLink, password_hash: str, now: datetime) -> User | None:
    """Give the account its first password of Gatehouse's; every link of it stops working
    and its password lockout is lifted (the link proves the person). None when another
    request used a link of the account at the same moment."""
    user = db.session.get(User, row.user_id)
    assert user is not None
    user_id = user.id
    user.password = PasswordCredential(hash=password_hash, changed_at=now)
    imported = db.session.scalar(select(B2cImport).where(B2cImport.user_id == user.id))
    if imported is not None:
        imported.password_pending = False
        imported.password_migrated_at = now
    for link in db.session.scalars(
        select(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
    ):
        link.used_at = now
    for identity in user.identities:
        if identity.route == "local":
            lockouts.clear(identity.subject)
    audit.record("password.set_by_link", user=user, details={"reason": row.reason})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return db.session.get(User, user_id)


def remind(now: datetime, *, dry_run: bool = False, again: bool = False) -> dict[str, int]:
    """After the cut-off: email everyone still awaiting their password a link to set one.

    People already reminded are left alone unless ``again``. Returns counts."""
    rt = current_app.extensions["idp"]
    lifetime = int(rt.settings["migration.reminder_link_lifetime"])
    query = (
        select(B2cImport, User)
        .join(User, User.id == B2cImport.user_id)
        .where(B2cImport.password_pending.is_(True), User.enabled.is_(True))
        .where(~B2cImport.user_id.in_(select(PasswordCredential.user_id)))
        .order_by(B2cImport.id)
    )
    if not again:
        query = query.where(B2cImport.reminded_at.is_(None))
    counts = {"sent": 0, "not_sent": 0, "no_email": 0}
    for imported, user in db.session.execute(query).all():
        if not user.email:
            counts["no_email"] += 1
            continue
        if dry_run:
            counts["sent"] += 1
            continue
        went = send_link(user, "reminder", None, lifetime) == "sent"
        if went:
            imported.reminded_at = now
            db.session.commit()
        counts["sent" if went else "not_sent"] += 1
    return counts
