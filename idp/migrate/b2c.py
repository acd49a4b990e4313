"""Import Azure AD B2C users from Microsoft Graph exports, again and again, losing nobody.

What Graph gives (``GET /users?$select=id,displayName,givenName,surname,mail,otherMails,
mobilePhone,accountEnabled,passwordPolicies,identities,extension_…``), page by page::

    {"value": [{"id": "5b1e…", "givenName": "Jenny", "accountEnabled": true,
                "identities": [{"signInType": "emailAddress",
                                "issuer": "contoso.onmicrosoft.com",
                                "issuerAssignedId": "jenny@example.com"}],
                "extension_2f8a…_CouncilTaxReference": "LC-1234"}],
     "@odata.nextLink": "…"}

Each user becomes (or updates) the account whose object id is the B2C ``id``, so tokens
carry the same ``sub`` and ``oid`` as before. Local identities (emailAddress, userName)
become password sign-ins whose password follows at the first sign-in (b2c_imports);
federated ones become (issuer, subject) identities of the upstream provider that
``migration.b2c_issuers`` names, so "Sign in with Google" enters the same account.

A record that cannot be imported whole is refused with its reason and writes nothing;
the rest go on. Running the same export again changes nothing (each account remembers a
digest of the record that made it). ``dry_run`` does everything and rolls it back::

    report = import_users(paths, phone_paths, settings, now, dry_run=True)
    report.counts      # {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from idp.extensions import db
from idp.federation.identity import FACEBOOK_ISSUER, MICROSOFT_CONSUMER_TENANT
from idp.mfa.phones import DEFAULT_REGION, phone_type
from idp.security import audit
from idp.store.models import B2cImport, Identity, MfaMethod, PasswordCredential, User
from idp.store.users import LOCAL_ISSUER, USERNAME_ISSUER, normalise_username, sign_out_everywhere
from idp.validation import is_email_address, normalise_email

#: The issuer each provider's ID tokens carry when the pair does not say (@ISSUER).
PROVIDER_ISSUERS = {
    "google": "https://accounts.google.com",
    "facebook": FACEBOOK_ISSUER,
    "microsoft": f"https://login.microsoftonline.com/{MICROSOFT_CONSUMER_TENANT}/v2.0",
}
PROVIDERS = ("google", "facebook", "microsoft", "oidc")
#: B2C's custom attributes: extension_<application id without dashes>_<Name>.
EXTENSION = re.compile(r"^extension_[0-9a-fA-F]{32}_(?P<name>[A-Za-z0-9_]+)$")
#: Graph phone types; B2C's MFA phone is usually "mobile".
PHONE_PREFERENCE = ("mobile", "alternateMobile", "office")
#: Graph authentication methods that are an authenticator app (which cannot move).
APP_METHODS = ("softwareOathAuthenticationMethod", "microsoftAuthenticatorAuthenticationMethod")
CLAIM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
COMMIT_EVERY = 500


class MappingError(ValueError):
    """migration.b2c_issuers or migration.b2c_attributes cannot be read."""


@dataclass(frozen=True)
class Mapping:
    """How B2C's issuers and custom attributes translate, from settings."""

    issuers: dict[str, tuple[str, str]]
    attributes: dict[str, str]

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Mapping:
        issuers: dict[str, tuple[str, str]] = {}
        pairs = _pairs(settings["migration.b2c_issuers"], "migration.b2c_issuers")
        for b2c_issuer, target in pairs:
            provider, _, issuer = target.partition("@")
            if provider not in PROVIDERS:
                raise MappingError(
                    f"migration.b2c_issuers: {b2c_issuer}={target}: {provider!r} is not a "
                    f"provider; use one of {', '.join(PROVIDERS)}"
                )
            issuer = issuer or PROVIDER_ISSUERS.get(provider, "")
            if not issuer:
                raise MappingError(
                    f"migration.b2c_issuers: {b2c_issuer}={target}: say which issuer the "
                    f"{provider} provider's tokens carry, as {b2c_issuer}={provider}@ISSUER"
                )
            issuers[b2c_issuer.lower()] = (provider, issuer)
        attributes: dict[str, str] = {}
        for name, claim in _pairs(settings["migration.b2c_attributes"], "migration.b2c_attributes"):
            if not CLAIM_NAME.match(claim):
                raise MappingError(
                    f"migration.b2c_attributes: {name}={claim}: a claim name is letters, "
                    "digits and underscores, starting with a letter"
                )
            attributes[name] = claim
        return cls(issuers, attributes)


def _pairs(text: str, setting: str) -> Iterator[tuple[str, str]]:
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        left, sep, right = item.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise MappingError(f"{setting}: {item!r} is not a NAME=VALUE pair")
        yield left.strip(), right.strip()


# -- reading exports ---------------------------------------------------------------------


class ExportError(ValueError):
    """A file that is not a Graph export (names the file and the line)."""


def read_records(paths: Iterable[str | Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) for every record of every file: a Graph page (``{"value": […]}``),
    a JSON array, or JSON lines (each line a record or a page)."""
    for where, document in _documents(paths):
        yield from _unwrap(where, document)


def _unwrap(where: str, document: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        for index, item in enumerate(document["value"], 1):
            yield _record(f"{where} value[{index}]", item)
    elif isinstance(document, list):
        for index, item in enumerate(document, 1):
            yield _record(f"{where} [{index}]", item)
    else:
        yield _record(where, document)


def _documents(paths: Iterable[str | Path]) -> Iterator[tuple[str, Any]]:
    """(where, parsed JSON) for each file, or each line of a JSON-lines file."""
    for path in paths:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise ExportError(f"{file}: cannot be read ({error.strerror})") from None
        if not text.strip():
            continue
        try:
            yield f"{file}", json.loads(text)
        except json.JSONDecodeError:
            yield from _json_lines(file, text)


def _json_lines(file: Path, text: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{file}:{number}", json.loads(line)
        except json.JSONDecodeError as error:
            raise ExportError(
                f"{file}:{number}: not JSON ({error.msg}); expected a Graph page, a JSON "
                "array or one JSON object a line"
            ) from None


def _record(where: str, item: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict):
        raise ExportError(f"{where}: expected a user object, found {type(item).__name__}")
    return where, item


@dataclass
class PhoneMethods:
    """What the authentication-methods export says of each person."""

    phones: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)

    def add(self, object_id: str, method: dict[str, Any]) -> None:
        kind = str(method.get("@odata.type", ""))
        if any(name in kind for name in APP_METHODS):
            self.apps.add(object_id)
        elif method.get("phoneNumber"):
            self.phones.setdefault(object_id, []).append(method)


def read_methods(paths: Iterable[str | Path]) -> PhoneMethods:
    """Authentication methods keyed by user: records with ``userId`` and either the
    methods inline (``phoneNumber``, ``phoneType``, ``@odata.type``) or a Graph answer of
    them under ``value``, as ``GET /users/{id}/authentication/phoneMethods`` returns."""
    methods = PhoneMethods()
    for where, document in _documents(paths):
        # A line or file per person ({"userId", "value": [methods]}), or a page of those.
        owned = isinstance(document, dict) and ("userId" in document or "objectId" in document)
        for place, record in [(where, document)] if owned else _unwrap(where, document):
            owner = record.get("userId") or record.get("objectId")
            if not isinstance(owner, str) or not owner:
                raise ExportError(
                    f"{place}: an authentication method needs the userId it belongs to"
                )
            inner = record.get("value") or record.get("methods")
            for method in inner if isinstance(inner, list) else [record]:
                if isinstance(method, dict):
                    methods.add(owner.lower(), method)
    return methods


# -- one record --------------------------------------------------------------------------


class Refused(Exception):
    """This record cannot be imported; the message says why, for the report.

    ``retry``: refused because another account holds a sign-in name, which a later record
    of the same import may release (a name that moved between two people at B2C)."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass
class Person:
    """A Graph user record, checked and in Gatehouse's terms."""

    object_id: str
    enabled: bool
    email: str | None
    given_name: str | None
    family_name: str | None
    display_name: str | None
    phone_number: str | None
    claims: dict[str, Any]
    #: (issuer, subject, route) of every identity it signs in with.
    identities: list[tuple[str, str, str]]
    #: What the old tenant knows a local account by, for checking its password.
    sign_in_name: str | None
    mfa_phone: tuple[str, str] | None
    had_app: bool
    ignored: list[str]
    digest: str

    @property
    def local(self) -> bool:
        return self.sign_in_name is not None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _object_id(record: dict[str, Any]) -> str:
    raw = record.get("id") or record.get("objectId")
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise Refused(f"id {raw!r} is not an objectId (a GUID)") from None


def _phone(raw: str, what: str) -> str:
    try:
        parsed = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise Refused(f"{what} {raw!r} is not a phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def person_from(record: dict[str, Any], methods: PhoneMethods, mapping: Mapping) -> Person:
    """Check one Graph user record; raises Refused naming what is wrong."""
    object_id = _object_id(record)
    identities: list[tuple[str, str, str]] = []
    sign_in_name = email = None
    for entry in record.get("identities") or []:
        if not isinstance(entry, dict):
            raise Refused("identities holds something that is not an identity")
        kind = entry.get("signInType")
        value = _text(entry.get("issuerAssignedId"))
        if kind == "userPrincipalName":
            continue  # every B2C user has one; nobody signs in with it
        if value is None:
            raise Refused(f"a {kind} identity has no issuerAssignedId")
        if len(value) > 320:
            raise Refused(f"the {kind} identity {value[:20]!r}... is longer than 320 characters")
        if kind == "emailAddress":
            if not is_email_address(value):
                raise Refused(f"the emailAddress identity {value!r} is not an email address")
            email = email or normalise_email(value)
            identities.append((LOCAL_ISSUER, normalise_email(value), "local"))
            sign_in_name = sign_in_name or value
        elif kind == "userName":
            identities.append((USERNAME_ISSUER, normalise_username(value), "local"))
            sign_in_name = sign_in_name or value
        elif kind == "federated":
            issuer = str(entry.get("issuer") or "")
            target = mapping.issuers.get(issuer.lower())
            if target is None:
                raise Refused(
                    f"federated identity from {issuer!r} has no provider in "
                    "migration.b2c_issuers"
                )
            provider, gatehouse_issuer = target
            identities.append((gatehouse_issuer, value, provider))
        else:
            raise Refused(f"signInType {kind!r} is not one Gatehouse knows")
    if not identities:
        raise Refused("has no identity to sign in with (emailAddress, userName or federated)")
    if len({(i, s) for i, s, _ in identities}) != len(identities):
        raise Refused("lists the same identity twice")
    if email is None:
        for candidate in [record.get("mail"), *(record.get("otherMails") or [])]:
            text = _text(candidate)
            if text and is_email_address(text):
                email = normalise_email(text)
                break
    mobile = _text(record.get("mobilePhone"))
    phone_number = _phone(mobile, "mobilePhone") if mobile else None
    mfa_phone = None
    numbers = sorted(
        methods.phones.get(object_id, []),
        key=lambda m: PHONE_PREFERENCE.index(m.get("phoneType"))
        if m.get("phoneType") in PHONE_PREFERENCE else len(PHONE_PREFERENCE),
    )
    if numbers:
        number = _phone(str(numbers[0]["phoneNumber"]), "MFA phone")
        mfa_phone = (number, phone_type(number))
    claims: dict[str, Any] = {}
    ignored = []
    for key, value in record.items():
        match = EXTENSION.match(key)
        if not match:
            continue
        claim = mapping.attributes.get(match.group("name"))
        if claim is None:
            ignored.append(match.group("name"))
        elif value is not None:
            claims[claim] = value
    for name, limit in (("givenName", 200), ("surname", 200), ("displayName", 400)):
        if len(_text(record.get(name)) or "") > limit:
            raise Refused(f"{name} is longer than {limit} characters")
    enabled = record.get("accountEnabled", True)
    if not isinstance(enabled, bool):
        raise Refused(f"accountEnabled {enabled!r} is not true or false")
    canonical = json.dumps(
        {"record": record, "phones": numbers, "app": object_id in methods.apps,
         "issuers": sorted(mapping.issuers.items()),
         "attributes": sorted(mapping.attributes.items())},
        sort_keys=True, default=str,
    )
    return Person(
        object_id=object_id,
        enabled=enabled,
        email=email,
        given_name=_text(record.get("givenName")),
        family_name=_text(record.get("surname")),
        display_name=_text(record.get("displayName")),
        phone_number=phone_number,
        claims=claims,
        identities=identities,
        sign_in_name=sign_in_name,
        mfa_phone=mfa_phone,
        had_app=object_id in methods.apps,
        ignored=ignored,
        digest=hashlib.sha256(canonical.encode()).hexdigest(),
    )


# -- writing -----------------------------------------------------------------------------


@dataclass
class Report:
    """What an import did (or, dry, would do)."""

    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    ignored_attributes: Counter[str] = field(default_factory=Counter)
    awaiting_password: int = 0
    mfa_phones: int = 0
    app_users: int = 0
    #: Local accounts with no email address: if the old tenant cannot vouch for their
    #: password, no link can reach them, and the helpdesk must.
    no_email: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.counts["created"],
            "updated": self.counts["updated"],
            "unchanged": self.counts["unchanged"],
            "skipped": [
                {"where": where, "object_id": oid, "reason": reason}
                for where, oid, reason in self.skipped
            ],
            "ignored_attributes": dict(sorted(self.ignored_attributes.items())),
            "awaiting_password": self.awaiting_password,
            "mfa_phones": self.mfa_phones,
            "authenticator_app_users": self.app_users,
            "local_without_email": self.no_email,
        }

    def lines(self) -> list[str]:
        verb = "would be " if self.dry_run else ""
        out = [
            f"created {verb}: {self.counts['created']}".replace(" :", ":"),
            f"updated {verb}: {self.counts['updated']}".replace(" :", ":"),
            f"unchanged: {self.counts['unchanged']}",
            f"skipped: {len(self.skipped)}",
        ]
        out += [f"  {where} ({oid or 'no id'}): {reason}" for where, oid, reason in self.skipped]
        if self.ignored_attributes:
            names = ", ".join(f"{n} ({c})" for n, c in sorted(self.ignored_attributes.items()))
            out.append(f"custom attributes not in migration.b2c_attributes, left out: {names}")
        out.append(f"local accounts whose password follows at first sign-in: "
                   f"{self.awaiting_password}")
        out.append(f"MFA phones carried over: {self.mfa_phones}")
        if self.no_email:
            out.append(f"local accounts with no email address (a link to set a password "
                       f"cannot reach them): {self.no_email}")
        if self.app_users:
            out.append(f"people who used an authenticator app and will set it up again: "
                       f"{self.app_users}")
        if self.dry_run:
            out.append("dry run: nothing was written")
        return out


def import_users(
    paths: Iterable[str | Path],
    method_paths: Iterable[str | Path],
    settings: dict[str, Any],
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str | None = None,
) -> Report:
    """Upsert every record by objectId; see the module docstring."""
    mapping = Mapping.from_settings(settings)
    methods = read_methods(method_paths)
    report = Report(dry_run=dry_run)
    seen: dict[str, str] = {}
    later: list[tuple[str, str, Person]] = []
    done = 0
    for where, record in read_records(paths):
        raw_id = str(record.get("id") or record.get("objectId") or "")
        try:
            person = person_from(record, methods, mapping)
            if person.object_id in seen:
                raise Refused(f"appears again in this import (first at {seen[person.object_id]})")
            seen[person.object_id] = where
            outcome = _upsert_checked(person, now)
        except Refused as refusal:
            if refusal.retry:
                later.append((where, raw_id, person))
            else:
                report.skipped.append((where, raw_id, str(refusal)))
            continue
        report.counts[outcome] += 1
        report.ignored_attributes.update(person.ignored)
        report.no_email += person.local and person.email is None
        done += 1
        if not dry_run and done % COMMIT_EVERY == 0:
            db.session.commit()
    # Once more for those refused over a sign-in name: a record after them may have
    # moved it off the account that held it, so the order of the export does not matter.
    for where, raw_id, person in later:
        try:
            outcome = _upsert_checked(person, now)
        except Refused as refusal:
            report.skipped.append((where, raw_id, str(refusal)))
            continue
        report.counts[outcome] += 1
        report.ignored_attributes.update(person.ignored)
        report.no_email += person.local and person.email is None
    report.awaiting_password, report.mfa_phones, report.app_users = _totals(seen)
    if dry_run:
        db.session.rollback()
        return report
    audit.record(
        "migration.b2c_imported",
        actor=actor,
        details={k: v for k, v in report.as_dict().items() if k != "skipped"}
        | {"skipped": len(report.skipped)},
    )
    db.session.commit()
    return report


def _totals(seen: dict[str, str]) -> tuple[int, int, int]:
    """Of the people this import saw: passwords still to follow, MFA phones they have,
    and those who used an app at B2C and have not set one up here yet."""
    ids = list(seen)
    awaiting = mfa = apps = 0
    for start in range(0, len(ids), 500):
        part = select(User.id).where(User.object_id.in_(ids[start:start + 500]))
        awaiting += db.session.scalar(
            select(func.count()).select_from(B2cImport).where(
                B2cImport.user_id.in_(part), B2cImport.password_pending.is_(True),
                ~B2cImport.user_id.in_(select(PasswordCredential.user_id)),
            )
        ) or 0
        mfa += db.session.scalar(
            select(func.count()).select_from(MfaMethod)
            .where(MfaMethod.user_id.in_(part), MfaMethod.kind == "phone")
        ) or 0
        apps += db.session.scalar(
            select(func.count()).select_from(B2cImport).where(
                B2cImport.user_id.in_(part), B2cImport.had_app.is_(True),
                ~B2cImport.user_id.in_(select(MfaMethod.user_id).where(MfaMethod.kind == "app")),
            )
        ) or 0
    return awaiting, mfa, apps


def _upsert_checked(person: Person, now: datetime) -> str:
    """Write one person in a savepoint: all of it, or (Refused) none of it."""
    try:
        with db.session.begin_nested():
            return _upsert(person, now)
    except DBAPIError as error:  # a unique name taken meanwhile, a value too long, ...
        said = str(error.orig).strip()
        first_line = said.splitlines()[0] if said else type(error.orig).__name__
        raise Refused(f"the database refused it: {first_line}") from None


def _upsert(person: Person, now: datetime) -> str:
    # Earlier records were flushed when their savepoints closed; nothing here needs the
    # session flushed before each query (a 20,000-person import spent half its time so).
    with db.session.no_autoflush:
        user = db.session.scalar(select(User).where(User.object_id == person.object_id))
        imported = (
            db.session.scalar(select(B2cImport).where(B2cImport.user_id == user.id))
            if user is not None else None
        )
        if imported is not None and imported.record_digest == person.digest:
            return "unchanged"
        if user is not None and imported is None:
            # Never let an export rewrite an account that did not come from B2C.
            raise Refused(f"objectId {person.object_id} belongs to an account that was not "
                          "imported from B2C")
        for issuer, subject, _route in person.identities:
            owner = db.session.scalar(
                select(User.object_id).join(Identity)
                .where(Identity.issuer == issuer, Identity.subject == subject)
            )
            if owner is not None and owner != person.object_id:
                local = issuer in (LOCAL_ISSUER, USERNAME_ISSUER)
                shown = subject if local else f"{issuer} {subject}"
                raise Refused(f"sign-in {shown} already belongs to account {owner}", retry=True)
    outcome = "updated"
    if user is None:
        outcome = "created"
        # Empty collections set here are known to be empty: no lazy load asks the database.
        user = User(object_id=person.object_id, claims={}, created_at=now, updated_at=now,
                    identities=[], password=None, enabled=person.enabled)
        db.session.add(user)
        db.session.flush()
        imported = B2cImport(user_id=user.id, imported_at=now, updated_at=now,
                             record_digest="", written={})
        db.session.add(imported)
    assert imported is not None
    last = dict(imported.written or {}) if outcome == "updated" else {}

    def ours(name: str, current: Any) -> bool:
        """Gatehouse still holds what the last import wrote (or nothing was written)."""
        return outcome == "created" or name not in last or last[name] == current

    # Disabling at B2C always carries over; enabling only undoes B2C's own disable.
    if not person.enabled or ours("enabled", user.enabled):
        if user.enabled and not person.enabled and outcome == "updated":
            # Disabled at B2C since the last import: whoever is signed in here is not.
            sign_out_everywhere(user, now)
        user.enabled = person.enabled
    local_now = sorted([i.issuer, i.subject] for i in user.identities
                       if i.issuer in (LOCAL_ISSUER, USERNAME_ISSUER))
    if ours("local", local_now):
        _set_identities(user, person, now, replace_local=True)
        if ours("email", user.email):
            user.email = person.email
            # B2C proved the address of an emailAddress sign-in by code; mail and
            # otherMails are whatever was typed.
            user.email_verified = any(i == LOCAL_ISSUER for i, _, _ in person.identities)
    else:
        _set_identities(user, person, now, replace_local=False)
    user.given_name = person.given_name
    user.family_name = person.family_name
    user.display_name = person.display_name
    phone = person.phone_number or (person.mfa_phone[0] if person.mfa_phone else None)
    if ours("phone", user.phone_number):
        user.phone_number = phone
    claims = {**(user.claims or {}), **person.claims}
    mfa_now = _mfa_phone(user)
    if person.mfa_phone is not None and ours("mfa_phone", mfa_now):
        _set_phone(user, person.mfa_phone, now)
        mfa_now = person.mfa_phone[0]
    # Verified only when the number in tokens is a proven MFA phone, not a typed profile one.
    if mfa_now is not None and user.phone_number == mfa_now:
        claims["phone_number_verified"] = True
    else:
        claims.pop("phone_number_verified", None)
    user.claims = claims
    user.updated_at = now
    imported.sign_in_name = person.sign_in_name
    imported.password_pending = person.local and user.password is None
    imported.had_app = person.had_app
    imported.record_digest = person.digest
    imported.updated_at = now
    db.session.flush()
    imported.written = {
        "enabled": user.enabled,
        "email": user.email,
        "phone": user.phone_number,
        "mfa_phone": _mfa_phone(user),
        "local": sorted([i.issuer, i.subject] for i in user.identities
                        if i.issuer in (LOCAL_ISSUER, USERNAME_ISSUER)),
    }
    return outcome


def _mfa_phone(user: User) -> str | None:
    return db.session.scalar(
        select(MfaMethod.phone_number).where(MfaMethod.user_id == user.id,
                                             MfaMethod.kind == "phone")
    )


def _set_identities(user: User, person: Person, now: datetime, replace_local: bool) -> None:
    """Add the record's identities the account lacks. With ``replace_local``, local
    sign-ins the record no longer lists go (the email changed at B2C); without it the
    person changed theirs in Gatehouse, and their local sign-ins are left as they are."""
    wanted = {(issuer, subject): route for issuer, subject, route in person.identities}
    removed = False
    for identity in list(user.identities):
        key = (identity.issuer, identity.subject)
        local = identity.issuer in (LOCAL_ISSUER, USERNAME_ISSUER)
        if key in wanted:
            del wanted[key]
        elif local and replace_local:
            user.identities.remove(identity)
            removed = True
    if removed:
        db.session.flush()  # the delete before an insert that may reuse its subject
    for (issuer, subject), route in wanted.items():
        if not replace_local and issuer in (LOCAL_ISSUER, USERNAME_ISSUER):
            continue
        user.identities.append(Identity(route=route, issuer=issuer, subject=subject,
                                        created_at=now))


def _set_phone(user: User, phone: tuple[str, str], now: datetime) -> None:
    number, kind = phone
    method = db.session.scalar(
        select(MfaMethod).where(MfaMethod.user_id == user.id, MfaMethod.kind == "phone")
    )
    if method is None:
        method = MfaMethod(user_id=user.id, kind="phone", created_at=now)
        db.session.add(method)
    method.phone_number, method.phone_type = number, kind
