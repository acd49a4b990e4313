"""The account store as steps see it (steps.base.AccountDirectory), over SQLAlchemy."""

from __future__ import annotations

from idp.extensions import db
from idp.security.passwords import PasswordHasher
from idp.store.users import find_local_identity


class SqlAccountDirectory:
    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher

    def check_local_password(self, email: str, password: str) -> str | None:
        identity = find_local_identity(email)
        user = identity.user if identity else None
        credential = user.password if user else None
        # Verify even when there is no account, so timing does not tell the difference.
        ok = self.hasher.verify(credential.hash if credential else None, password)
        if not ok or user is None or not user.enabled:
            return None
        if credential is not None and self.hasher.needs_rehash(credential.hash):
            credential.hash = self.hasher.hash(password)
            db.session.commit()
        return user.object_id
