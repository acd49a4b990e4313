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
