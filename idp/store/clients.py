"""Client registrations: files in clients/, the CLI, and the rows they become.

A file describes one relying party (example: clients/parent-portal.toml)::

    client_id = "parent-portal"
    name = "Parent Portal"
    type = "confidential"                      # or "public"
    token_endpoint_auth_method = "client_secret_post"
    secret_env = "IDP_CLIENT_SECRET_PARENT_PORTAL"   # the secret itself never sits in a file
    redirect_uris = ["https://portal.example/signin-oidc"]
    post_logout_redirect_uris = ["https://portal.example/"]
    policies = ["B2C_1_parent_signup_signin"]
    scopes = ["openid", "profile", "email", "offline_access"]

    [lifetimes]                                 # seconds; optional, override the defaults
    access_token = 3600
"""

from __future__ import annotations

import os
import re
import tomllib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select

from idp.extensions import db
from idp.security.digests import digest, new_secret
from idp.store.models import Client

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")
#: Scopes for the admin API (admin/roles.py); only client_credentials tokens use them.
ADMIN_SCOPES = ("gatehouse.admin", "gatehouse.support")
LIFETIMES = ("access_token", "id_token", "refresh_token")
KNOWN_FIELDS = {
    "client_id",
    "name",
    "type",
    "token_endpoint_auth_method",
    "secret_env",
    "redirect_uris",
    "post_logout_redirect_uris",
    "policies",
    "scopes",
    "grant_types",
    "lifetimes",
    "jwks",
    "jwks_uri",
    "backchannel_logout_uri",
    "frontchannel_logout_uri",
}


class ClientFileError(ValueError):
    """A client file is wrong; the message names the file and the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,100}")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "client_id": str,
    "name": str,
    "type": str,
    "token_endpoint_auth_method": str,
    "secret_env": str,
    "policies": list,
    "grant_types": list,
    "jwks": dict,
    "jwks_uri": str,
    "backchannel_logout_uri": str,
    "frontchannel_logout_uri": str,
}


@dataclass
class ClientRegistration:
    client_id: str
    name: str
    client_type: str
    metadata: dict[str, Any] = field(default_factory=dict)
    secret_env: str | None = None
    source: str = ""


def uri_problem(uri: str) -> str | None:
    """What is wrong with a URI a client registers, or None."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a valid URI"
    if not parts.scheme or (not parts.netloc and parts.scheme in {"http", "https"}):
        return "must be an absolute URI"
    if parts.fragment:
        return "must not contain a fragment (RFC 6749 §3.1.2)"
    if parts.scheme == "http" and parts.hostname not in {"localhost", "127.0.0.1", "::1"}:
        return "must use https (plain http is allowed only for loopback addresses)"
    return None


def validate_registration(
    data: dict[str, Any], where: str, generated_secret: bool = False
) -> ClientRegistration:
    """Check a client's fields; raise ClientFileError naming ``where`` and the field.

    ``generated_secret``: Gatehouse makes the secret (the API, the CLI, dynamic
    registration), so no ``secret_env`` names where it lives.
    """

    def fail(field_name: str, problem: str) -> ClientFileError:
        return ClientFileError(f"{where}: {field_name} {problem}", field_name)

    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise fail(unknown[0], "is not a client setting")
    for name, kind in _TYPES.items():
        if name in data and not isinstance(data[name], kind):
            what = {str: "text", list: "a list", dict: "a table (an object)"}[kind]  # type: ignore[index]
            raise fail(name, f"must be {what}")
    for required in ("client_id", "name", "redirect_uris"):
        if not data.get(required):
            raise fail(required, "is required")
    if not _CLIENT_ID.fullmatch(data["client_id"]):
        raise fail("client_id", "must be 1 to 100 letters, digits, '.', '_', '~' or '-'")
    if len(data["name"]) > 200 or not data["name"].strip():
        raise fail("name", "must be 1 to 200 characters")
    for list_field in ("policies", "grant_types"):
        if not all(isinstance(v, str) for v in data.get(list_field, [])):
            raise fail(list_field, "must be a list of names")
    for uri_field in ("backchannel_logout_uri", "frontchannel_logout_uri"):
        if data.get(uri_field):
            problem = uri_problem(data[uri_field])
            if problem:
                raise fail(uri_field, problem)
    client_type = data.get("type", "confidential")
    if client_type not in ("public", "confidential"):
        raise fail("type", "must be public or confidential")
    default_method = "none" if client_type == "public" else "client_secret_basic"
    method = data.get("token_endpoint_auth_method", default_method)
    if method not in AUTH_METHODS:
        raise fail("token_endpoint_auth_method", f"must be one of {', '.join(AUTH_METHODS)}")
    if client_type == "public" and method != "none":
        raise fail("token_endpoint_auth_method", "must be none for a public client")
    if client_type == "confidential" and method == "none":
        raise fail("token_endpoint_auth_method", "cannot be none for a confidential client")
    if method.startswith("client_secret") and not generated_secret and not data.get("secret_env"):
        raise fail("secret_env", "must name the environment variable that holds the secret")
    if method == "private_key_jwt" and not (data.get("jwks") or data.get("jwks_uri")):
        raise fail("jwks", "or jwks_uri is required for private_key_jwt")
    if data.get("jwks_uri"):
        problem = uri_problem(str(data["jwks_uri"]))
        if problem:
            raise fail("jwks_uri", problem)
    for list_field in ("redirect_uris", "post_logout_redirect_uris"):
        uris = data.get(list_field, [])
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise fail(list_field, "must be a list of URIs")
        for uri in uris:
            problem = uri_problem(uri)
            if problem:
                raise fail(list_field, f"entry {uri!r} {problem}")
    scopes = data.get("scopes", list(SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise fail("scopes", "must be a list of scope names")
    known = (*SCOPES, *ADMIN_SCOPES)
    bad = [s for s in scopes if s not in known]
    if bad:
        raise fail("scopes", f"has unknown scope {bad[0]!r}; known: {', '.join(known)}")
    default_grants = ["authorization_code", "refresh_token"]
    grant_types = data.get("grant_types", default_grants)
    bad = [g for g in grant_types if g not in GRANT_TYPES]
    if bad:
        raise fail("grant_types", f"has unknown grant type {bad[0]!r}")
    if client_type == "public" and "client_credentials" in grant_types:
        raise fail("grant_types", "client_credentials needs a confidential client")
    lifetimes = data.get("lifetimes", {})
    if not isinstance(lifetimes, dict):
        raise fail("lifetimes", "must be a table of seconds, like [lifetimes] access_token = 3600")
    lifetimes = dict(lifetimes)
    for name, value in lifetimes.items():
        if name not in LIFETIMES:
            raise fail(f"lifetimes.{name}", f"is not one of {', '.join(LIFETIMES)}")
        if isinstance(value, float) and value.is_integer():
            # JSON has one number type: 3600.0 is the whole number 3600 (JSON Schema agrees).
            value = lifetimes[name] = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise fail(f"lifetimes.{name}", "must be a positive number of seconds")
    metadata = {
        "token_endpoint_auth_method": method,
        "redirect_uris": data["redirect_uris"],
        "post_logout_redirect_uris": data.get("post_logout_redirect_uris", []),
        "policies": data.get("policies", []),
        "scope": " ".join(scopes),
        "grant_types": grant_types,
        "response_types": ["code"],
        "lifetimes": lifetimes,
    }
    for optional in ("jwks", "jwks_uri", "backchannel_logout_uri", "frontchannel_logout_uri"):
        if optional in data:
            metadata[optional] = data[optional]
    return ClientRegistration(
        client_id=data["client_id"],
        name=data["name"],
        client_type=client_type,
        metadata=metadata,
        secret_env=data.get("secret_env"),
        source=where,
    )


def read_client_files(folder: Path) -> list[ClientRegistration]:
    registrations: list[ClientRegistration] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ClientFileError(f"{path}: not valid TOML: {error}") from None
        registration = validate_registration(data, str(path))
        if registration.client_id in seen:
            raise ClientFileError(
                f"{path}: client_id {registration.client_id!r} is also used by "
                f"{seen[registration.client_id]}"
            )
        seen[registration.client_id] = path
        registrations.append(registration)
    return registrations


# Built once: every token, introspection and revocation request looks its client up.
_GET_CLIENT = select(Client).where(Client.client_id == bindparam("client_id"))


def get_client(client_id: str) -> Client | None:
    return db.session.scalar(_GET_CLIENT, {"client_id": client_id})


def list_clients() -> list[Client]:
    return list(db.session.scalars(select(Client).order_by(Client.client_id)))


def save_registration(
    registration: ClientRegistration, now: datetime, source: str, secret: str | None
) -> Client:
    client = get_client(registration.client_id)
    if client is None:
        client = Client(client_id=registration.client_id, created_at=now, source=source)
        db.session.add(client)
    client.name = registration.name
    client.client_type = registration.client_type
    client.metadata_ = registration.metadata
    client.updated_at = now
    client.source = source
    if registration.client_type == "public":
        client.secret_hash = None
    elif secret is not None:
        client.secret_hash = digest(secret)
    return client


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def sync_client_files(
    folder: Path,
    now: datetime,
    environ: dict[str, str] | None = None,
    known_policies: Any = None,
) -> SyncReport:
    """Make the file-sourced clients in the database match the files, all or nothing.

    ``known_policies`` (a PolicySet) lets a typo in a file's ``policies`` be refused here
    rather than lock the portal out at /authorize.
    """
    environ = dict(os.environ if environ is None else environ)
    registrations = read_client_files(folder)
    if known_policies is not None:
        for registration in registrations:
            for policy in registration.metadata["policies"]:
                if known_policies.get(policy) is None:
                    raise ClientFileError(
                        f"{registration.source}: policies names {policy!r}, "
                        "which is not a policy in policies/"
                    )
    report = SyncReport()
    for registration in registrations:
        existing = get_client(registration.client_id)
        secret = None
        if registration.secret_env:
            secret = environ.get(registration.secret_env) or None
            uses_secret = registration.metadata["token_endpoint_auth_method"].startswith(
                "client_secret"
            )
            if uses_secret and secret is None and (existing is None or not existing.secret_hash):
                db.session.rollback()
                raise ClientFileError(
                    f"client {registration.client_id}: set the environment variable "
                    f"{registration.secret_env} to its secret"
                )
        save_registration(registration, now, "file", secret)
        (report.updated if existing else report.added).append(registration.client_id)
    names = {r.client_id for r in registrations}
    for client in list_clients():
        if client.source == "file" and client.client_id not in names:
            db.session.delete(client)
            report.removed.append(client.client_id)
    db.session.commit()
    return report


def add_client(
    name: str,
    redirect_uris: Iterable[str],
    now: datetime,
    public: bool = False,
    policies: Iterable[str] = (),
    client_id: str | None = None,
) -> tuple[Client, str | None]:
    """Register a client from the command line; return it and its secret (shown once)."""
    data: dict[str, Any] = {
        "client_id": client_id or str(uuid.uuid4()),
        "name": name,
        "type": "public" if public else "confidential",
        "redirect_uris": list(redirect_uris),
        "policies": list(policies),
    }
    if not public:
        data["token_endpoint_auth_method"] = "client_secret_basic"
    registration = validate_registration(data, "idp clients add", generated_secret=True)
    if get_client(registration.client_id) is not None:
        raise ClientFileError(f"a client with client_id {registration.client_id!r} exists")
    secret = None if public else new_secret()
    client = save_registration(registration, now, "cli", secret)
    db.session.commit()
    return client, secret


def rotate_secret(client: Client, now: datetime, overlap_seconds: int = 0) -> str:
    """Give a confidential client a new secret; the old one works for ``overlap_seconds``."""
    if client.client_type != "confidential":
        raise ClientFileError(f"client {client.client_id} is public and has no secret")
    secret = new_secret()
    if overlap_seconds > 0 and client.secret_hash:
        client.previous_secret_hash = client.secret_hash
        client.previous_secret_expires_at = now + timedelta(seconds=overlap_seconds)
    else:
        client.previous_secret_hash = None
        client.previous_secret_expires_at = None
    client.secret_hash = digest(secret)
    client.updated_at = now
    db.session.commit()
    return secret
