"""Faults, injected for real: PostgreSQL goes away mid-journey (a TCP proxy in front of it
is cut), then comes back. People get a "try again" page, APIs a 503 with Retry-After,
nothing half-made is left, and everything works again once the database answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD, add_user, build_app
from tests.flows import authorize_params, csrf_token, exchange, get_code, sign_in, step_id

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
JENNY = "jenny.hinsen@example.com"


class TcpProxy:
    """127.0.0.1:PORT → the database; ``cut()`` drops every connection and refuses new
    ones, ``restore()`` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inbound, _ = listener.accept()
            except OSError:
                return
            try:
                outbound = socket.create_connection(self.target)
            except OSError:
                inbound.close()
                continue
            with self.lock:
                self.connections += [inbound, outbound]
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.connections = []


@pytest.fixture
def proxied(settings: dict[str, Any], clock: Any) -> Any:
    """An app whose database connections go through a proxy the test can cut."""
    url = settings["database.url"]
    parts = urlsplit(url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    app = build_app({**settings, "database.url": urlunsplit(parts._replace(netloc=netloc))},
                    clock)
    direct = create_engine(url)
    yield app, proxy, direct
    proxy.cut()
    direct.dispose()


def count(direct: Any, table: str) -> int:
    with direct.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_journey_survives_the_database_going_away(proxied: Any) -> None:
    app, proxy, _direct = proxied
    add_user(app)
    client = app.test_client()
    location = client.get("/authorize?" + urlencode(authorize_params())).headers["Location"]
    path = urlsplit(location).path
    html = client.get(path).get_data(as_text=True)
    proxy.cut()
    response = client.post(path, data={"csrf_token": csrf_token(html), "step": step_id(html),
                                       "email": JENNY, "password": PASSWORD})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Sorry, the service is unavailable" in page and "Try again" in page
    assert response.headers["Retry-After"]
    proxy.restore()
    finished = sign_in(client, path, JENNY)
    assert finished.status_code == 302 and "code=" in finished.headers["Location"]


def test_apis_answer_503_with_retry_after_and_recover(proxied: Any) -> None:
    app, proxy, _direct = proxied
    add_user(app)
    client = app.test_client()
    code, _, verifier = get_code(client)
    proxy.cut()
    response = exchange(client, code, verifier)
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "30"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    proxy.restore()
    assert client.get("/readyz").status_code == 200
    # The code was never marked used: the request that failed changed nothing.
    assert exchange(client, code, verifier).status_code == 200


TABLES = ("users", "identities", "password_credentials")


def test_a_sign_up_cut_off_at_the_end_leaves_no_half_made_account(proxied: Any) -> None:
    """The account, its identity and its password are one transaction: the database
    going away as it is written leaves all or nothing."""
    from idp.extensions import db
    from idp.store.users import create_local_user

    app, proxy, direct = proxied
    before = [count(direct, table) for table in TABLES]
    with app.app_context():
        rt = app.extensions["idp"]
        create_local_user(email="new.parent@example.com", password_hash=rt.hasher.hash(PASSWORD),
                          now=rt.clock.now(), given_name="New", family_name="Parent")
        db.session.flush()
        proxy.cut()
        with pytest.raises(Exception):  # noqa: B017 - whichever error the driver raises
            db.session.commit()
        db.session.rollback()
    assert [count(direct, table) for table in TABLES] == before


KILLED_MID_SIGN_UP = """
import os, signal, sys
from idp import create_app
from idp.extensions import db
from idp.store.users import create_local_user
app = create_app(test_config={"database.url": sys.argv[1], "server.development": True,
                              "passwords.time_cost": 1, "passwords.memory_cost": 8,
                              "passwords.parallelism": 1, "server.secret_key": "k"})
with app.app_context():
    rt = app.extensions["idp"]
    create_local_user(email="killed@example.com", password_hash=rt.hasher.hash("x" * 12),
                      now=rt.clock.now())
    db.session.flush()  # the rows are written, uncommitted
    print("flushed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_process_killed_mid_sign_up_leaves_no_half_made_account(
    app: Any, settings: dict[str, Any]
) -> None:
    import subprocess
    import sys

    direct = create_engine(settings["database.url"])
    before = [count(direct, table) for table in TABLES]
    run = subprocess.run([sys.executable, "-c", KILLED_MID_SIGN_UP, settings["database.url"]],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == -9 and "flushed" in run.stdout, run.stderr
    assert [count(direct, table) for table in TABLES] == before
    direct.dispose()
