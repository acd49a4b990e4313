"""Alembic, driven from code: ``idp db upgrade`` and the tests call ``upgrade()``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import current_app

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = url or current_app.config["SQLALCHEMY_DATABASE_URI"]
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(revision: str = "head") -> None:
    command.upgrade(alembic_config(), revision)
