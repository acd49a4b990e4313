"""Shared fixtures: an app on a chosen database, a movable clock, a live server, helpers."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from idp import create_app
from idp.clock import FrozenClock
from idp.extensions import db
from idp.protocol.keys import ensure_key
from idp.store.clients import sync_client_files
from idp.store.users import create_local_user

HERE = Path(__file__).resolve().parent
TEST_CLIENTS = HERE / "clients"
KEY_ENCRYPTION_KEY = "test-key-encryption-passphrase-of-enough-length"
CLIENT_SECRETS = {
    "IDP_TEST_SECRET_CONFIDENTIAL": "confidential-secret-0123456789abcdef",
    "IDP_TEST_SECRET_BASIC": "basic-secret-0123456789abcdef",
    "IDP_TEST_SECRET_MACHINE": "machine-secret-0123456789abcdef",
}
PASSWORD = "Correct-Horse-Battery-9"


def postgres_url() -> str | None:
    url = os.environ.get("IDP_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("IDP_TEST_POSTGRES_URL is not set: run the suite with `make test`")
        pytest.skip("IDP_TEST_POSTGRES_URL is not set (make test sets it)")
    return url


def redis_url() -> str:
    """The Redis the suite shares counters through (scripts/ensure-services.sh)."""
    url = os.environ.get("IDP_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("IDP_TEST_REDIS_URL is not set: run the suite with `make test`")
        pytest.skip("IDP_TEST_REDIS_URL is not set (make test sets it)")
    return url


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = postgres_url()
    assert base is not None
    schema = "gh_test_" + secrets.token_hex(6)
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_schema_url"))
    return f"sqlite:///{tmp_path / 'gatehouse.db'}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    """Where the app's emails land (email.sender = outbox); read with read_outbox."""
    return tmp_path / "outbox.jsonl"


@pytest.fixture
def settings(database_url: str, outbox: Path) -> dict[str, Any]:
    return {
        # Messages land in the outbox file; texts and calls there need development mode.
        "server.development": True,
        "email.sender": "outbox",
        "sms.sender": "outbox",
        "voice.sender": "outbox",
        "email.outbox_path": str(outbox),
        "email.from_address": "Leicestershire County Council <no-reply@leics.example>",
        "database.url": database_url,
        "server.secret_key": "test-secret-key",
        "server.base_url": "http://127.0.0.1:5000",
        "tenant.name": "leicsb2c.onmicrosoft.com",
        "tenant.id": "7d5b7a9e-1c8b-4c8e-9a4f-0f0f2e3c9a11",
        "tenant.default_policy": "B2C_1_signin",
        "paths.clients": str(TEST_CLIENTS),
        "passwords.time_cost": 1,
        "passwords.memory_cost": 8,
        "passwords.parallelism": 1,
    }


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_KEY_ENCRYPTION_KEY", KEY_ENCRYPTION_KEY)
    for name, value in CLIENT_SECRETS.items():
        monkeypatch.setenv(name, value)


def build_app(settings: dict[str, Any], clock: FrozenClock) -> Any:
    app = create_app(test_config=settings, clock=clock)
    with app.app_context():
        db.create_all()
        rt = app.extensions["idp"]
        ensure_key(rt.encryptor, rt.settings["keys.algorithm"], clock.now())
        sync_client_files(TEST_CLIENTS, clock.now())
    return app


@pytest.fixture
def app(settings: dict[str, Any], clock: FrozenClock) -> Iterator[Any]:
    app = build_app(settings, clock)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def add_user(app: Any, email: str = "jenny.hinsen@example.com", password: str = PASSWORD,
             **fields: Any) -> str:
    with app.app_context():
        rt = app.extensions["idp"]
        user = create_local_user(
            email=email,
            password_hash=rt.hasher.hash(password),
            now=rt.clock.now(),
            given_name=fields.get("given_name", "Jenny"),
            family_name=fields.get("family_name", "Hinsen"),
            phone_number=fields.get("phone_number", "+447400123456"),
        )
        # A complete profile, so policies that review blank details let the person through.
        user.claims = {"title": fields.get("title", "Mrs")}
        db.session.commit()
        return user.object_id


@pytest.fixture
def user(app: Any) -> str:
    return add_user(app)


class LiveServer:
    """Gatehouse on a real socket on 127.0.0.1, in a thread, stopped after the test."""

    def __init__(self, settings: dict[str, Any], clock: FrozenClock, ssl_context: Any = None):
        self._app: Any = None
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True,
                                  ssl_context=ssl_context)
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.port}"
        self.app = build_app({**settings, "server.base_url": self.url}, clock)
        self._app = self.app
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _dispatch(self, environ: Any, start_response: Any) -> Any:
        return self._app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(settings: dict[str, Any], clock: FrozenClock) -> Iterator[LiveServer]:
    server = LiveServer(settings, clock)
    yield server
    server.stop()
