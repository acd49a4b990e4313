"""Flask extensions, created unbound and attached in create_app (Flask's pattern)."""

from __future__ import annotations

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from idp.store import sqlite as _sqlite  # noqa: F401  (SQLite transaction handling)
from idp.store.models import Base

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
babel = Babel()


def commit_keeping_loaded() -> None:
    """Commit the request's transaction and keep the rows it loaded as they are.

    A plain commit expires every loaded row, so the next attribute read goes back to the
    database in a new transaction (on SQLite a new write lock). Where the request goes on
    to read only what it already holds, or what it has just written, that read is waste.
    Rows that must be read afresh (to lock them, or to see another request's change) are
    selected again explicitly, never through an attribute.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
