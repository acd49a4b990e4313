"""Signing keys: creation, rotation with overlap, JWKS, and the key that signs now.

Lifecycle of a key (times from the injected clock):

* created: published in JWKS at once;
* ``active_from``: signs new tokens from then on (``idp keys rotate`` sets it
  ``keys.publish_ahead_seconds`` ahead, so caches of JWKS have the key before any token);
* retired when a newer key becomes active; it stays published until ``publish_until``,
  when every token it signed has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import or_, select

from idp.extensions import db
from idp.security.keystore import KeyEncryptor
from idp.store.models import SigningKey

SUPPORTED_ALGORITHMS = ("RS256", "ES256")
_private_cache: dict[str, RSAKey | ECKey] = {}


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
    return new


def ensure_key(encryptor: KeyEncryptor, algorithm: str, now: datetime) -> None:
    """A deployment with no key gets one that signs at once (first start only)."""
    if db.session.scalar(select(SigningKey.id).limit(1)) is None:
        create_key(encryptor, algorithm, now, now)
        db.session.commit()


def published_keys(now: datetime) -> list[SigningKey]:
    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    return [
        r
        for r in rows
        if r.created_at <= now and (r.publish_until is None or r.publish_until > now)
    ]


def jwks(now: datetime) -> dict[str, Any]:
    return {"keys": [dict(row.public_jwk) for row in published_keys(now)]}


def signing_key(encryptor: KeyEncryptor, now: datetime) -> ActiveKey:
    """The newest key whose ``active_from`` has come."""
    row = db.session.scalars(
        select(SigningKey)
        .where(SigningKey.active_from <= now)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > now))
        .order_by(SigningKey.active_from.desc(), SigningKey.id.desc())
        .limit(1)
    ).first()
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
