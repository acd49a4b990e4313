"""What admins and support staff can do, once, for the API, the pages and the CLI.

Each operation takes an :class:`~idp.admin.roles.Actor`, checks the actor's role, does
its work in the caller's application context, writes an audit event naming who, what,
when and from where, and commits. Results are plain dicts, ready for JSON or a page::

    actor = Actor("cli:root@gatehouse-1", "support")
    found = operations.find_people(actor, "07759 140004")
    operations.reset_mfa(actor, found["users"][0]["object_id"])

A problem is an :class:`AdminError` with an HTTP status, an error code and, for bad
input, the field at fault.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from idp.admin.roles import Actor
from idp.extensions import db
from idp.runtime import runtime
from idp.security import audit
from idp.store.clients import (
    KNOWN_FIELDS,
    ClientFileError,
    get_client,
    list_clients,
    save_registration,
    validate_registration,
)
from idp.store.clients import rotate_secret as store_rotate_secret
from idp.store.models import (
    AuditEvent,
    BrowserSession,
    Client,
    Consent,
    MfaMethod,
    PendingSignup,
    RecoveryCode,
    SigningKey,
    User,
)
from idp.store.users import find_users, sign_out_everywhere, user_by_reference
from idp.validation import normalise_email


class AdminError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(AdminError):
    status = 403
    code = "forbidden"


class NotFound(AdminError):
    status = 404
    code = "not_found"


class Conflict(AdminError):
    status = 409
    code = "conflict"


def require(actor: Actor, area: str) -> None:
    if not actor.may(area):
        raise Forbidden(f"The {actor.role} role cannot work with {area}.")


def _now() -> datetime:
    return runtime().clock.now()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _record(actor: Actor, event: str, **fields: Any) -> None:
    details = dict(fields.pop("details", None) or {})
    details["role"] = actor.role
    item = audit.record(event, actor=actor.name, details=details, **fields)
    if actor.ip is not None:
        item.ip_address = actor.ip


# -- people ----------------------------------------------------------------------------


def _route_names(user: User) -> list[str]:
    return sorted({identity.route for identity in user.identities})


def person_summary(user: User) -> dict[str, Any]:
    """What a search result shows: who, and which way they sign in."""
    return {
        "object_id": user.object_id,
        "email": user.email,
        "name": user.name,
        "phone_number": user.phone_number,
        "signs_in_with": _route_names(user),
        "enabled": user.enabled,
        "created_at": _iso(user.created_at),
    }


def _person(reference: str) -> User:
    user = user_by_reference(reference)
    if user is None:
        raise NotFound(f"No account has the object id or email {reference!r}.")
    return user


def _pending_summary(rows: list[PendingSignup], now: datetime) -> dict[str, Any]:
    latest = max(rows, key=lambda r: r.id)
    return {
        "email": latest.email,
        "started_at": _iso(min(r.created_at for r in rows)),
        "emails_sent": len(rows),
        "link_expires_at": _iso(latest.expires_at),
        "link_expired": latest.expires_at <= now,
    }


def _pending_signups(term: str, now: datetime) -> list[dict[str, Any]]:
    """Sign-ups still waiting for their activation link, by email: the people "struggling
    to create your account"."""
    text = term.strip().lower()
    if "@" not in text and len(text) < 3:
        return []
    rows = db.session.scalars(
        select(PendingSignup)
        .where(func.lower(PendingSignup.email).like(f"%{text}%"))
        .where(PendingSignup.user_id.is_(None))
        .order_by(PendingSignup.id)
        .limit(200)
    ).all()
    followed = set(
        db.session.scalars(
            select(PendingSignup.first_id).where(
                PendingSignup.first_id.in_({r.first_id for r in rows}),
                PendingSignup.user_id.is_not(None),
            )
        )
    )
    by_signup: dict[int | None, list[PendingSignup]] = {}
    for row in rows:
        if row.first_id not in followed:
            by_signup.setdefault(row.first_id, []).append(row)
    return [_pending_summary(group, now) for group in by_signup.values()][:50]


def find_people(actor: Actor, term: str) -> dict[str, Any]:
    """People by email, phone number, name or object id, with how each signs in; and
    sign-ups still waiting for their activation email to be followed."""
    require(actor, "users")
    if not term.strip():
        raise AdminError("Enter an email address, phone number, name or object id.", "q")
    return {
        "users": [person_summary(user) for user in find_users(term)],
        "pending_signups": _pending_signups(term, _now()),
    }


def person_detail(actor: Actor, reference: str) -> dict[str, Any]:
    """One person: routes, second factors, consents, recent sign-ins, blocks."""
    require(actor, "users")
    user = _person(reference)
    now = _now()
    methods = db.session.scalars(select(MfaMethod).where(MfaMethod.user_id == user.id)).all()
    codes_left = db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    consents = db.session.scalars(
        select(Consent).where(Consent.user_id == user.id).order_by(Consent.agreed_at)
    ).all()
    sessions = db.session.scalars(
        select(BrowserSession)
        .where(BrowserSession.user_id == user.id)
        .order_by(BrowserSession.created_at.desc(), BrowserSession.id.desc())
        .limit(10)
    ).all()
    from idp.security.lockout import seconds_left
    from idp.store import lockouts

    blocked = user.mfa_blocked_until
    if blocked is not None and blocked <= now:
        blocked = None
    password_locked_until = None
    for identity in user.identities:
        state = lockouts.current(identity.subject) if identity.route == "local" else None
        if state is not None and seconds_left(state, now):
            password_locked_until = state.locked_until
    return {
        **person_summary(user),
        "email_verified": user.email_verified,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "updated_at": _iso(user.updated_at),
        "identities": [
            {
                "route": identity.route,
                "issuer": identity.issuer,
                "created_at": _iso(identity.created_at),
                "last_used_at": _iso(identity.last_used_at),
            }
            for identity in sorted(user.identities, key=lambda i: i.created_at)
        ],
        "has_password": user.password is not None,
        # Moved from B2C, and the password follows at the first sign-in (idp/migrate/).
        "password_awaited_from_b2c": _awaiting_b2c_password(user),
        "mfa_methods": [
            {
                "kind": method.kind,
                "phone_number": method.phone_number,
                "phone_type": method.phone_type,
                "created_at": _iso(method.created_at),
                "last_used_at": _iso(method.last_used_at),
            }
            for method in methods
        ],
        "recovery_codes_left": int(codes_left or 0),
        "locked_until": _iso(blocked),
        "password_locked_until": _iso(password_locked_until),
        "consents": [
            {"document": c.document, "version": c.version, "agreed_at": _iso(c.agreed_at)}
            for c in consents
        ],
        "last_sign_ins": [
            {
                "at": _iso(s.created_at),
                "route": s.route,
                "amr": list(s.amr or []),
                "active": s.ended_at is None and s.expires_at > now,
            }
            for s in sessions
        ],
    }


def disable_person(actor: Actor, reference: str) -> dict[str, Any]:
    """Stop someone signing in: their sessions end and every token issued to them stops
    working, refresh tokens included."""
    require(actor, "users")
    user = _person(reference)
    _not_yourself(actor, user=user)
    user.enabled = False
    user.updated_at = _now()
    revoked = sign_out_everywhere(user, _now())
    _record(actor, "user.disabled", user=user, details={"token_families_revoked": revoked})
    db.session.commit()
    return person_summary(user)


def enable_person(actor: Actor, reference: str) -> dict[str, Any]:
    require(actor, "users")
    user = _person(reference)
    user.enabled = True
    user.updated_at = _now()
    _record(actor, "user.enabled", user=user)
    db.session.commit()
    return person_summary(user)


def reset_mfa(actor: Actor, reference: str) -> dict[str, Any]:
    """Forget the person's phone, app and recovery codes and lift any block: they enrol
    again at their next sign-in (a lost phone, a new number)."""
    require(actor, "users")
    user = _person(reference)
    removed = db.session.execute(delete(MfaMethod).where(MfaMethod.user_id == user.id)).rowcount  # type: ignore[attr-defined]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.mfa_blocked_until = None
    # The profile's number was proven by the second factor; enrolment proves one afresh.
    user.phone_number = None
    user.claims = {k: v for k, v in (user.claims or {}).items() if k != "phone_number_verified"}
    user.updated_at = _now()
    _record(actor, "mfa.reset", user=user, details={"methods_removed": int(removed or 0)})
    db.session.commit()
    return person_detail(actor, user.object_id)


def unlock_person(actor: Actor, reference: str) -> dict[str, Any]:
    """Lift the timed blocks on an account: the password lockout after too many wrong
    passwords, and second factors blocked after too many wrong or requested codes."""
    from idp.security.lockout import seconds_left
    from idp.store import lockouts

    require(actor, "users")
    user = _person(reference)
    was = _iso(user.mfa_blocked_until)
    emails = {i.subject for i in user.identities if i.route == "local"}
    locked = [e for e in emails if seconds_left(lockouts.current(e), _now())]
    for email in emails:
        lockouts.clear(email)
    user.mfa_blocked_until = None
    user.updated_at = _now()
    _record(actor, "user.unlocked", user=user,
            details={"mfa_blocked_until": was, "password_locked": bool(locked)})
    db.session.commit()
    return person_detail(actor, user.object_id)


def resend_activation(actor: Actor, email: str) -> dict[str, Any]:
    """Send a fresh activation link for a sign-up that is waiting for one; the old link
    stops working. An address that already has an account is told so instead."""
    from idp.journeys.services import SqlJourneyServices

    require(actor, "users")
    address = normalise_email(email or "")
    if "@" not in address:
        raise AdminError("Enter the email address the person signed up with.", "email")
    first_id = db.session.scalar(
        select(PendingSignup.first_id)
        .where(PendingSignup.email == address)
        .order_by(PendingSignup.id.desc())
        .limit(1)
    )
    if first_id is None:
        raise NotFound(f"Nobody is waiting to activate an account for {address}.", "email")
    rows = db.session.scalars(select(PendingSignup).where(PendingSignup.first_id == first_id)).all()
    if any(r.user_id for r in rows):
        raise Conflict(f"The sign-up for {address} has been activated already.", "email")
    services = SqlJourneyServices(runtime(), None, None)
    sent = services.resend_pending_signup(str(first_id))
    _record(
        actor,
        "signup.activation_resent",
        details={"email": address, "sent": bool(sent)},
    )
    db.session.commit()
    if not sent:
        raise AdminError("The email could not be sent just now. Try again in a few minutes.")
    rows = db.session.scalars(select(PendingSignup).where(PendingSignup.first_id == first_id)).all()
    return _pending_summary(list(rows), _now())


def delete_person(actor: Actor, reference: str) -> dict[str, Any]:
    """Delete an account and all it owns; the audit log keeps the record of it."""
    require(actor, "users")
    user = _person(reference)
    _not_yourself(actor, user=user)
    summary = person_summary(user)
    sign_out_everywhere(user, _now())
    _record(
        actor,
        "user.deleted",
        user_object_id=user.object_id,
        details={"signs_in_with": summary["signs_in_with"]},
    )
    db.session.delete(user)
    db.session.commit()
    return summary


# -- clients ---------------------------------------------------------------------------

#: Fields the API accepts when registering a client (RFC 7591 names where there is one).
CLIENT_FIELDS = tuple(sorted(KNOWN_FIELDS - {"secret_env"}))
#: client_ids the admin pages' own addresses use (/admin/clients/new), or Gatehouse's own.
RESERVED_CLIENT_IDS = frozenset({"new", "gatehouse-admin"})
#: Fields an update may change.
UPDATABLE = ("name", "redirect_uris", "post_logout_redirect_uris", "policies",
             "backchannel_logout_uri", "frontchannel_logout_uri")


def client_view(client: Client) -> dict[str, Any]:
    metadata = dict(client.metadata_ or {})
    now = _now()
    overlap = client.previous_secret_expires_at
    return {
        "client_id": client.client_id,
        "name": client.name,
        "type": client.client_type,
        "source": client.source,
        "enabled": client.enabled,
        "has_secret": bool(client.secret_hash),
        "previous_secret_valid_until": _iso(overlap) if overlap and overlap > now else None,
        "token_endpoint_auth_method": metadata.get("token_endpoint_auth_method"),
        "redirect_uris": metadata.get("redirect_uris", []),
        "post_logout_redirect_uris": metadata.get("post_logout_redirect_uris", []),
        "policies": metadata.get("policies", []),
        "scopes": (metadata.get("scope") or "").split(),
        "grant_types": metadata.get("grant_types", []),
        "lifetimes": metadata.get("lifetimes", {}),
        "backchannel_logout_uri": metadata.get("backchannel_logout_uri"),
        "frontchannel_logout_uri": metadata.get("frontchannel_logout_uri"),
        "created_at": _iso(client.created_at),
        "updated_at": _iso(client.updated_at),
    }


def _client(client_id: str) -> Client:
    client = get_client(client_id)
    if client is None:
        raise NotFound(f"No client has the client_id {client_id!r}.")
    return client


def _not_yourself(actor: Actor, client: Client | None = None, user: User | None = None) -> None:
    """An admin cannot lock themselves out by accident: another admin does that."""
    if client is not None and actor.client_id == client.client_id:
        raise Conflict(f"{client.client_id} is the client making this request; use another.")
    if user is not None and actor.object_id == user.object_id:
        raise Conflict("That is your own account: ask another admin to change it.")


def _editable(client: Client, what: str) -> None:
    """Clients from files are changed in their files; the next sync would undo an edit."""
    if client.source == "file":
        raise Conflict(
            f"{client.client_id} is registered by a file in clients/: {what} there and run "
            "`idp clients sync`."
        )
    if client.source == "internal":
        raise Conflict(f"{client.client_id} belongs to Gatehouse itself and cannot be changed.")


def _check_policies(policies: Any) -> None:
    known = runtime().policies
    for policy in policies or []:
        if not isinstance(policy, str) or known.get(policy) is None:
            raise AdminError(f"policies names {policy!r}, which is not a policy.", "policies")


def _validated(data: dict[str, Any]) -> Any:
    try:
        registration = validate_registration(data, "client", generated_secret=True)
    except ClientFileError as error:
        message = str(error).removeprefix("client: ")
        raise AdminError(message[:1].upper() + message[1:] + ".", error.field) from None
    _check_policies(registration.metadata["policies"])
    return registration


def list_registered_clients(actor: Actor) -> list[dict[str, Any]]:
    require(actor, "clients")
    return [client_view(c) for c in list_clients()]


def show_client(actor: Actor, client_id: str) -> dict[str, Any]:
    require(actor, "clients")
    return client_view(_client(client_id))


def register_client(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Register a portal; a confidential client's secret is in the answer, once."""
    import uuid

    from idp.security.digests import new_secret

    require(actor, "clients")
    unknown = sorted(set(data) - set(CLIENT_FIELDS))
    if unknown:
        raise AdminError(f"{unknown[0]} is not a client field.", unknown[0])
    # A null optional URI means "none", as it does in an update.
    data = {k: v for k, v in data.items() if v is not None}
    data = {"client_id": str(uuid.uuid4()), **data}
    registration = _validated(data)
    if registration.client_id in RESERVED_CLIENT_IDS:
        raise Conflict(f"client_id {registration.client_id!r} is kept for Gatehouse's own use; "
                         "choose another.", "client_id")
    if get_client(registration.client_id) is not None:
        raise Conflict(f"A client with client_id {registration.client_id!r} exists.", "client_id")
    public = registration.client_type == "public"
    secret = None if public else new_secret()
    client = save_registration(registration, _now(), "api", secret)
    _record(actor, "client.registered", client_id=client.client_id,
            details={"type": client.client_type})
    db.session.commit()
    return {**client_view(client), "client_secret": secret}


def update_client(actor: Actor, client_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a client's name, redirect URIs, logout URIs or allowed policies."""
    require(actor, "clients")
    client = _client(client_id)
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise AdminError(
            f"{unknown[0]} cannot be changed here; the fields that can are "
            f"{', '.join(UPDATABLE)}.",
            unknown[0],
        )
    _editable(client, "change it")
    metadata = dict(client.metadata_)
    current: dict[str, Any] = {
        "client_id": client.client_id,
        "name": client.name,
        "type": client.client_type,
        "token_endpoint_auth_method": metadata["token_endpoint_auth_method"],
        "redirect_uris": metadata["redirect_uris"],
        "post_logout_redirect_uris": metadata.get("post_logout_redirect_uris", []),
        "policies": metadata.get("policies", []),
        "scopes": (metadata.get("scope") or "").split(),
        "grant_types": metadata.get("grant_types", []),
        "lifetimes": metadata.get("lifetimes", {}),
    }
    for optional in ("jwks", "jwks_uri", "backchannel_logout_uri", "frontchannel_logout_uri"):
        if metadata.get(optional):
            current[optional] = metadata[optional]
    for name, value in changes.items():
        if value is None and name in ("backchannel_logout_uri", "frontchannel_logout_uri"):
            current.pop(name, None)
        else:
            current[name] = value
    registration = _validated(current)
    save_registration(registration, _now(), client.source, None)
    _record(actor, "client.updated", client_id=client.client_id,
            details={"fields": sorted(changes)})
    db.session.commit()
    return client_view(client)


def rotate_client_secret(
    actor: Actor, client_id: str, overlap_seconds: int | None = None
) -> dict[str, Any]:
    """A new secret, in the answer once; the old one works for the overlap."""
    require(actor, "clients")
    client = _client(client_id)
    _editable(client, "its secret comes from the environment variable the file names; change")
    if client.client_type != "confidential":
        raise Conflict(f"{client.client_id} is a public client and has no secret.")
    if overlap_seconds is None:
        overlap_seconds = int(runtime().settings["admin.secret_overlap"])
    if not 0 <= overlap_seconds <= 30 * 86400:
        raise AdminError("overlap_seconds must be from 0 to 2592000 (30 days).",
                         "overlap_seconds")
    secret = store_rotate_secret(client, _now(), overlap_seconds)
    _record(actor, "client.secret_rotated", client_id=client.client_id,
            details={"overlap_seconds": overlap_seconds})
    db.session.commit()
    return {**client_view(client), "client_secret": secret}


def set_client_enabled(actor: Actor, client_id: str, enabled: bool) -> dict[str, Any]:
    """A disabled client cannot start sign-ins or use its tokens; enabling it again
    restores it (tokens already issued stay revoked)."""
    from idp.protocol.tokens import revoke_family
    from idp.store.models import TokenFamily

    require(actor, "clients")
    client = _client(client_id)
    if client.source == "internal":
        _editable(client, "")
    if not enabled:
        _not_yourself(actor, client=client)
    client.enabled = enabled
    client.updated_at = _now()
    revoked = 0
    if not enabled:
        families = db.session.scalars(
            select(TokenFamily.id).where(
                TokenFamily.client_id == client.client_id, TokenFamily.revoked_at.is_(None)
            )
        ).all()
        for family in families:
            revoke_family(family, _now(), "client disabled")
        revoked = len(families)
    _record(
        actor,
        "client.enabled" if enabled else "client.disabled",
        client_id=client.client_id,
        details={"token_families_revoked": revoked} if not enabled else None,
    )
    db.session.commit()
    return client_view(client)


def delete_client(actor: Actor, client_id: str) -> None:
    from idp.protocol.tokens import revoke_family
    from idp.store.models import TokenFamily

    require(actor, "clients")
    client = _client(client_id)
    _editable(client, "delete its file")
    _not_yourself(actor, client=client)
    for family in db.session.scalars(
        select(TokenFamily.id).where(
            TokenFamily.client_id == client.client_id, TokenFamily.revoked_at.is_(None)
        )
    ).all():
        revoke_family(family, _now(), "client deleted")
    _record(actor, "client.deleted", client_id=client.client_id)
    db.session.delete(client)
    db.session.commit()


# -- signing keys ----------------------------------------------------------------------


def _key_state(key: SigningKey, current_kid: str | None, now: datetime) -> str:
    if key.kid == current_kid:
        return "signing"
    if key.active_from > now:
        return "next"
    if key.publish_until is not None and key.publish_until <= now:
        return "withdrawn"
    return "retired"


def list_keys(actor: Actor) -> list[dict[str, Any]]:
    from idp.protocol.keys import signing_key

    require(actor, "keys")
    rt = runtime()
    now = rt.clock.now()
    try:
        current: str | None = signing_key(rt.encryptor, now).kid
    except RuntimeError:
        current = None
    keys = db.session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id))
    return [
        {
            "kid": key.kid,
            "algorithm": key.algorithm,
            "state": _key_state(key, current, now),
            "created_at": _iso(key.created_at),
            "signs_from": _iso(key.active_from),
            "retired_at": _iso(key.retired_at),
            "published_until": _iso(key.publish_until),
        }
        for key in keys
    ]


def longest_signed_token_lifetime() -> int:
    """The longest an ID or access token may live: deployment, policy or client override;
    a retired key stays published that long."""
    rt = runtime()
    names = ("id_token", "access_token")
    lifetimes = [rt.settings[f"tokens.{n}_lifetime"] for n in names]
    for policy in rt.policies:
        lifetimes += [policy.tokens.get(f"{n}_lifetime", 0) for n in names]
    for client in list_clients():
        lifetimes += [client.metadata_.get("lifetimes", {}).get(n, 0) for n in names]
    return int(max(lifetimes))


def rotate_keys(
    actor: Actor, algorithm: str | None = None, immediately: bool = False
) -> dict[str, Any]:
    """Add a signing key. It is published at once and signs after
    keys.publish_ahead_seconds (or at once, for a compromised key)."""
    from idp.protocol.keys import SUPPORTED_ALGORITHMS, rotate

    require(actor, "keys")
    rt = runtime()
    algorithm = algorithm or rt.settings["keys.algorithm"]
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise AdminError(
            f"algorithm must be one of {', '.join(SUPPORTED_ALGORITHMS)}.", "algorithm"
        )
    ahead = 0 if immediately else int(rt.settings["keys.publish_ahead_seconds"])
    key = rotate(
        rt.encryptor,
        algorithm,
        rt.clock.now(),
        timedelta(seconds=ahead),
        timedelta(seconds=longest_signed_token_lifetime()),
    )
    _record(actor, "keys.rotated", details={"kid": key.kid, "algorithm": key.algorithm,
                                             "immediately": immediately})
    db.session.commit()
    return next(k for k in list_keys(actor) if k["kid"] == key.kid)


# -- the audit log ---------------------------------------------------------------------


def event_view(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred_at": _iso(event.occurred_at),
        "type": event.event_type,
        "user_object_id": event.user_object_id,
        "client_id": event.client_id,
        "actor": event.actor,
        "ip_address": event.ip_address,
        "details": event.details or {},
    }


def read_audit(
    actor: Actor,
    *,
    user: str | None = None,
    client_id: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Audit events, newest first. ``event_type`` ending in ``.`` is a prefix
    (``user.`` for every change to people); ``before`` pages on by event id. Support
    staff see only the events about people."""
    require(actor, "audit")
    if not 1 <= limit <= 500:
        raise AdminError("limit must be from 1 to 500.", "limit")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if actor.role != "admin":
        query = query.where(AuditEvent.user_object_id.is_not(None))
    if user:
        person = user_by_reference(user)
        query = query.where(
            AuditEvent.user_object_id == (person.object_id if person else user.strip())
        )
    if client_id:
        query = query.where(AuditEvent.client_id == client_id)
    if event_type:
        if event_type.endswith("."):
            query = query.where(AuditEvent.event_type.startswith(event_type, autoescape=True))
        else:
            query = query.where(AuditEvent.event_type == event_type)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "events": [event_view(e) for e in rows],
        "next_before": rows[-1].id if more and rows else None,
    }


# -- admin roles -----------------------------------------------------------------------


def role_of(user: User) -> str | None:
    from idp.store.models import AdminRole

    return db.session.scalar(select(AdminRole.role).where(AdminRole.user_id == user.id))


def grant_role(actor_name: str, reference: str, role: str) -> None:
    """Give a person a role (the CLI's ``idp admins grant``; operators on the box)."""
    from idp.admin.roles import ROLES
    from idp.store.models import AdminRole

    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}.", "role")
    user = _person(reference)
    row = db.session.scalar(select(AdminRole).where(AdminRole.user_id == user.id))
    if row is None:
        row = AdminRole(user_id=user.id, role=role, granted_at=_now(), granted_by=actor_name)
        db.session.add(row)
    else:
        row.role, row.granted_at, row.granted_by = role, _now(), actor_name
    audit.record("admin.role_granted", user=user, actor=actor_name, details={"role": role})
    db.session.commit()


def revoke_role(actor_name: str, reference: str) -> bool:
    from idp.store.models import AdminRole

    user = _person(reference)
    removed = db.session.execute(delete(AdminRole).where(AdminRole.user_id == user.id)).rowcount  # type: ignore[attr-defined]
    if removed:
        audit.record("admin.role_revoked", user=user, actor=actor_name)
    db.session.commit()
    return bool(removed)


def list_roles() -> list[dict[str, Any]]:
    from idp.store.models import AdminRole

    rows = db.session.execute(
        select(AdminRole, User).join(User, User.id == AdminRole.user_id).order_by(User.email)
    ).all()
    return [
        {"object_id": user.object_id, "email": user.email, "role": row.role,
         "granted_at": _iso(row.granted_at), "granted_by": row.granted_by}
        for row, user in rows
    ]


def _awaiting_b2c_password(user: User) -> bool:
    from idp.migrate.passwords import awaiting

    return awaiting(user) is not None
