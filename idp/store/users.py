"""Users and their identities. Local identities are keyed by the verified email, lower-cased."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from idp.extensions import db
from idp.store.models import (
    BrowserSession,
    Identity,
    PasswordCredential,
    Token,
    TokenFamily,
    User,
    new_uuid,
)
from idp.validation import normalise_email

LOCAL_ISSUER = "local"
#: Local sign-ins by user name rather than email: accounts moved from B2C tenants whose
#: local accounts used signInType userName (idp/migrate/b2c.py).
USERNAME_ISSUER = "local:username"


class AccountExists(ValueError):
    """An account already uses this email for local sign-in."""


def find_local_identity(email: str) -> Identity | None:
    return db.session.scalar(
        select(Identity).where(
            Identity.issuer == LOCAL_ISSUER, Identity.subject == normalise_email(email)
        )
    )


def normalise_username(name: str) -> str:
    """B2C user names are not case-sensitive."""
    return name.strip().lower()


def find_sign_in_identity(name: str) -> Identity | None:
    """The local identity a sign-in page's "Email address" (or user name) names."""
    if "@" in name:
        return find_local_identity(name)
    return db.session.scalar(
        select(Identity).where(
            Identity.issuer == USERNAME_ISSUER, Identity.subject == normalise_username(name)
        )
    )


def get_user_by_object_id(object_id: str) -> User | None:
    return db.session.scalar(select(User).where(User.object_id == object_id))


def create_local_user(
    *,
    email: str,
    password_hash: str,
    now: datetime,
    given_name: str | None = None,
    family_name: str | None = None,
    phone_number: str | None = None,
    object_id: str | None = None,
) -> User:
    """Create a local account with a verified email, in the caller's transaction.

    The unique (issuer, subject) constraint makes a concurrent second sign-up for the same
    email fail at commit, so two accounts can never share one email.
    """
    subject = normalise_email(email)
    if find_local_identity(subject) is not None:
        raise AccountExists(subject)
    user = User(
        object_id=object_id or new_uuid(),
        email=subject,
        email_verified=True,
        given_name=given_name,
        family_name=family_name,
        phone_number=phone_number,
        claims={},
        created_at=now,
        updated_at=now,
    )
    user.identities.append(
        Identity(route="local", issuer=LOCAL_ISSUER, subject=subject, created_at=now)
    )
    user.password = PasswordCredential(hash=password_hash, changed_at=now)
    db.session.add(user)
    return user


def active_session(sid: str, now: datetime) -> BrowserSession | None:
    """The session, unless it has ended, reached its lifetime, or gone unused longer than
    its idle timeout."""
    session = db.session.scalar(select(BrowserSession).where(BrowserSession.sid == sid))
    if session is None or session.ended_at is not None or session.expires_at <= now:
        return None
    if session.idle_timeout:
        last = session.last_seen_at or session.created_at
        if now - last >= timedelta(seconds=session.idle_timeout):
            return None
    return session


#: Where ended sessions wait, in the transaction's Session.info, for their back-channel
#: logout tokens to be sent once it commits (protocol/logout.py).
ENDED_SESSIONS = "gatehouse.ended_sessions"


def note_ended_sessions(user: User, sids: list[str]) -> None:
    """Record, for OIDC Back-Channel Logout, which portals each ended session signed in
    to: every client a code or a token was issued to under that sid, with the issuer it
    was issued by. Looked up now, while the rows exist (a deleted person's go with them).
    """
    if not sids:
        return
    from idp.store.models import AuthorizationCode, Client

    pairs = {
        tuple(row)
        for row in db.session.execute(
            select(TokenFamily.sid, TokenFamily.client_id, TokenFamily.issuer).where(
                TokenFamily.sid.in_(sids)
            )
        )
    } | {
        tuple(row)
        for row in db.session.execute(
            select(AuthorizationCode.sid, AuthorizationCode.client_id, AuthorizationCode.issuer)
            .where(AuthorizationCode.sid.in_(sids))
        )
    }
    client_ids = {client_id for _, client_id, _ in pairs}
    clients = {
        c.client_id: c
        for c in db.session.scalars(select(Client).where(Client.client_id.in_(client_ids)))
    }
    noted = db.session.info.setdefault(ENDED_SESSIONS, [])
    for sid, client_id, issuer in sorted(pairs, key=lambda p: (str(p[0]), str(p[1]))):
        client = clients.get(str(client_id))
        uri = (client.metadata_ or {}).get("backchannel_logout_uri") if client else None
        if uri and client is not None and client.enabled:
            noted.append({"sid": sid, "sub": user.object_id, "client_id": client_id,
                          "issuer": issuer, "uri": uri})


def sign_out_everywhere(user: User, now: datetime) -> int:
    """End every browser session of the person and revoke every token issued to them
    (after a password reset or a change of email, whoever else was signed in is not any
    more). Returns how many token families were revoked. The caller commits; portals
    registered for back-channel logout are told once it does."""
    ended = list(
        db.session.scalars(
            select(BrowserSession.sid).where(
                BrowserSession.user_id == user.id, BrowserSession.ended_at.is_(None)
            )
        )
    )
    note_ended_sessions(user, ended)
    db.session.execute(
        update(BrowserSession)
        .where(BrowserSession.user_id == user.id, BrowserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    families = list(
        db.session.scalars(
            select(TokenFamily.id).where(
                TokenFamily.user_id == user.id, TokenFamily.revoked_at.is_(None)
            )
        )
    )
    if families:
        db.session.execute(
            update(TokenFamily)
            .where(TokenFamily.id.in_(families))
            .values(revoked_at=now, revoked_reason="signed out everywhere")
        )
        db.session.execute(
            update(Token)
            .where(Token.family_id.in_(families), Token.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return len(families)


def find_users(term: str, limit: int = 50) -> list[User]:
    """People whose email, phone number or name contains ``term`` (case-insensitive), or
    whose object id is ``term``: what a support desk types."""
    from sqlalchemy import func, or_

    text = term.strip().lower()
    if not text:
        return []
    pattern = f"%{text}%"
    digits = "".join(c for c in text if c.isdigit())
    conditions = [
        User.object_id == text,
        func.lower(User.email).like(pattern),
        func.lower(func.coalesce(User.given_name, "") + " " + func.coalesce(User.family_name, ""))
        .like(pattern),
    ]
    if len(digits) >= 6:
        # 07759 140004 and +447759140004 are the same phone: match on the last digits.
        conditions.append(User.phone_number.like(f"%{digits[-9:]}"))
    return list(
        db.session.scalars(select(User).where(or_(*conditions)).order_by(User.id).limit(limit))
    )


def user_by_reference(reference: str) -> User | None:
    """A person by object id or by the email of a local identity."""
    user = get_user_by_object_id(reference.strip())
    if user is not None:
        return user
    identity = find_local_identity(reference)
    return identity.user if identity is not None else None
