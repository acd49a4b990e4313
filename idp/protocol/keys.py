"""Signing keys: creation, rotation with overlap, JWKS, and the key that signs now.

Lifecycle of a key (times from the injected clock):

* created: published in JWKS at once;
* ``active_from``: signs new tokens from then on (``idp keys rotate`` sets it
  ``keys.publish_ahead_seconds`` ahead, so caches of JWKS have the key before any token);
* retired when a newer key becomes active; it stays published until ``publish_until``,
  when every token it signed has expired.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select

from idp.extensions import db
from idp.security.keystore import KeyEncryptor
from idp.store.models import SigningKey

SUPPORTED_ALGORITHMS = ("RS256", "ES256")
_private_cache: dict[str, RSAKey | ECKey] = {}


@dataclass(frozen=True)
class KeyRecord:
    """A signing key row as plain data, kept per process for ``keys.cache_seconds``: every
    token, JWKS and discovery answer needs the keys, and they change only on rotation."""

    id: int
    kid: str
    algorithm: str
    public_jwk: dict[str, Any]
    private_key_encrypted: bytes
    created_at: datetime
    active_from: datetime
    retired_at: datetime | None
    publish_until: datetime | None


#: Where each app keeps its key records and what is built from them (protocol/published.py
#: reads it too).
CACHE_NAME = "idp.signing_keys"


def _records() -> list[KeyRecord]:
    """Every key, oldest first: from this app's cache while it is fresh, else the database.

    The cache lives in the app (tests run several apps in one process), and its age is
    wall-clock time: a key rotated by another instance or the CLI is seen within
    ``keys.cache_seconds``; one rotated through this app at once (``forget_cached_keys``).
    """
    settings = current_app.extensions["idp"].settings
    ttl = float(settings.get("keys.cache_seconds", 0))
    cache = current_app.extensions.setdefault(CACHE_NAME, {})
    hit = cache.get("records")
    if hit is not None and ttl > 0 and time.monotonic() - hit[0] < ttl:
        records: list[KeyRecord] = hit[1]
        return records
    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id))
    records = [
        KeyRecord(r.id, r.kid, r.algorithm, dict(r.public_jwk), r.private_key_encrypted,
                  r.created_at, r.active_from, r.retired_at, r.publish_until)
        for r in rows
    ]
    cache["records"] = (time.monotonic(), records)
    cache["derived"] = {}
    return records


def derived_cache() -> dict[Any, Any]:
    """Answers built from the keys (discovery and JWKS bodies), emptied whenever the keys
    are read afresh, so they never outlive the keys they were built from."""
    _records()
    cache: dict[Any, Any] = current_app.extensions.setdefault(CACHE_NAME, {}).setdefault(
        "derived", {})
    return cache


def forget_cached_keys() -> None:
    """A key was added or retired here: the next request reads them afresh."""
    if has_app_context():
        current_app.extensions.get(CACHE_NAME, {}).clear()


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    algorithm: str
    key: RSAKey | ECKey


def _generate(algorithm: str) -> RSAKey | ECKey:
    parameters = {"use": "sig", "alg": algorithm}
    if algorithm == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters, auto_kid=True)
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}; use RS256 or ES256")


def create_key(
    encryptor: KeyEncryptor, algorithm: str, now: datetime, active_from: datetime
) -> SigningKey:
    key = _generate(algorithm)
    kid = key.kid
    assert kid is not None
    row = SigningKey(
        kid=kid,
        algorithm=algorithm,
        public_jwk=key.as_dict(private=False),
        private_key_encrypted=encryptor.encrypt(key.as_pem(private=True), kid),
        created_at=now,
        active_from=active_from,
    )
    db.session.add(row)
    forget_cached_keys()
    return row


def rotate(
    encryptor: KeyEncryptor,
    algorithm: str,
    now: datetime,
    publish_ahead: timedelta,
    max_token_lifetime: timedelta,
) -> SigningKey:
    """Add a key that signs after ``publish_ahead``; the keys before it retire then."""
    new = create_key(encryptor, algorithm, now, now + publish_ahead)
    for old in db.session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        if old is new:
            continue
        old.retired_at = new.active_from
        old.publish_until = new.active_from + max_token_lifetime
    forget_cached_keys()
    return new


def ensure_key(encryptor: KeyEncryptor, algorithm: str, now: datetime) -> None:
    """A deployment with no key gets one that signs at once (first start only)."""
    if db.session.scalar(select(SigningKey.id).limit(1)) is None:
        create_key(encryptor, algorithm, now, now)
        db.session.commit()


def published_keys(now: datetime) -> list[KeyRecord]:
    return [
        r
        for r in _records()
        if r.created_at <= now and (r.publish_until is None or r.publish_until > now)
    ]


def published_until(now: datetime) -> datetime:
    """When the published set next changes by the clock alone: a key's publication starts
    or ends (a rotation here, or keys read afresh, can change it sooner)."""
    edges = [edge for r in _records() for edge in (r.created_at, r.publish_until)
             if edge is not None and edge > now]
    return min(edges, default=now + timedelta(days=365))


def jwks(now: datetime) -> dict[str, Any]:
    return {"keys": [dict(row.public_jwk) for row in published_keys(now)]}


def signing_key(encryptor: KeyEncryptor, now: datetime) -> ActiveKey:
    """The newest key whose ``active_from`` has come."""
    signing = [
        r for r in _records()
        if r.active_from <= now and (r.retired_at is None or r.retired_at > now)
    ]
    row = max(signing, key=lambda r: (r.active_from, r.id), default=None)
    if row is None:
        raise RuntimeError("no signing key is active: run `idp keys rotate`")
    key = _private_cache.get(row.kid)
    if key is None:
        pem = encryptor.decrypt(row.private_key_encrypted, row.kid)
        parameters = {"kid": row.kid, "alg": row.algorithm, "use": "sig"}
        key = (RSAKey if row.algorithm == "RS256" else ECKey).import_key(pem, parameters)
        _private_cache[row.kid] = key
    return ActiveKey(kid=row.kid, algorithm=row.algorithm, key=key)


def algorithms_in_use(now: datetime) -> list[str]:
    return sorted({row.algorithm for row in published_keys(now)}) or ["RS256"]
