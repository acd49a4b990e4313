"""The `idp` command line, run in-process with click's CliRunner against a TOML config.

Every invoke builds a fresh application from the config file, as a real `idp` run does, so
state lives only in the SQLite file under tmp_path.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import shutil
import sqlite3
import stat
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.app import create_app
from idp.cli import main
from idp.config import PROJECT_ROOT, SETTINGS
from idp.extensions import db
from idp.protocol.clients import OAuthClient
from idp.protocol.keys import jwks, signing_key
from idp.store.clients import get_client
from tests.conftest import CLIENT_SECRETS, PASSWORD, TEST_CLIENTS

SHIPPED_POLICIES = PROJECT_ROOT / "policies"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def env_name(key: str) -> str:
    return "IDP_" + key.replace(".", "_").upper()


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test's config file, not from the shell that runs pytest."""
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    for key in SETTINGS:
        monkeypatch.delenv(env_name(key), raising=False)


def write_config(
    path: Path, database: Path, clients: Path, policies: Path | None = None
) -> Path:
    text = (
        '[server]\nsecret_key = "test"\n'
        f'[database]\nurl = "sqlite:///{database}"\n'
        f'[paths]\nclients = "{clients}"\n'
        + (f'policies = "{policies}"\n' if policies else "")
        + "[passwords]\ntime_cost = 1\nmemory_cost = 8\nparallelism = 1\n"
    )
    path.write_text(text)
    return path


@dataclass
class Gatehouse:
    """A deployment on disk: a config file, its SQLite database and its clients folder."""

    config: Path
    database: Path
    clients: Path

    def run(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, ["--config", str(self.config), *args], input=input)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self.run(*args, input=input)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(self.database)
        try:
            return connection.execute(query, params).fetchall()
        finally:
            connection.close()

    def dump(self) -> str:
        connection = sqlite3.connect(self.database)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()

    def client_ids(self) -> set[str]:
        return {row[0] for row in self.rows("SELECT client_id FROM clients")}

    def write_client(self, filename: str, text: str) -> Path:
        path = self.clients / filename
        path.write_text(text)
        return path

    def add_client(self, *args: str) -> tuple[str, str | None]:
        output = self.ok("clients", "add", *args)
        client_id = re.search(r"^client_id: (\S+)$", output, re.M)
        secret = re.search(r"^client_secret: (\S+)$", output, re.M)
        assert client_id is not None
        return client_id.group(1), secret.group(1) if secret else None

    def signing_keys(self) -> list[dict[str, Any]]:
        keys = []
        for line in self.ok("keys", "list").splitlines():
            kid, algorithm, state, signs, retired, until = line.split("\t")
            keys.append({
                "kid": kid,
                "algorithm": algorithm,
                "state": state,
                "active_from": datetime.fromisoformat(signs.removeprefix("signs from ")),
                "retired_at": _when(retired.removeprefix("retired ")),
                "publish_until": _when(until.removeprefix("published until ")),
            })
        return keys

    @contextmanager
    def app(self) -> Iterator[Any]:
        """The deployment's own application, in an app context, on the system clock."""
        app = create_app(config_file=str(self.config))
        try:
            with app.app_context():
                yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def _when(text: str) -> datetime | None:
    return None if text == "-" else datetime.fromisoformat(text)


@pytest.fixture
def gatehouse(tmp_path: Path) -> Gatehouse:
    clients = tmp_path / "clients"
    clients.mkdir()
    database = tmp_path / "cli.db"
    config = write_config(tmp_path / "gatehouse.toml", database, clients)
    return Gatehouse(config, database, clients)


@pytest.fixture
def upgraded(gatehouse: Gatehouse) -> Gatehouse:
    gatehouse.ok("db", "upgrade")
    return gatehouse


def now() -> datetime:
    return datetime.now(UTC)


def stored_time(text: str) -> datetime:
    """A UTC datetime column as SQLite keeps it (naive, UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- db upgrade ------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_one_signing_key(gatehouse: Gatehouse) -> None:
    assert "Database is up to date." in gatehouse.ok("db", "upgrade")

    tables = {row[0] for row in gatehouse.rows("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "users", "identities", "clients", "signing_keys",
            "audit_events"} <= tables
    [key] = gatehouse.signing_keys()
    assert key["algorithm"] == "RS256"
    assert key["retired_at"] is None and key["publish_until"] is None
    assert key["active_from"] <= now()


def test_db_upgrade_run_twice_keeps_the_one_signing_key(upgraded: Gatehouse) -> None:
    [before] = upgraded.signing_keys()
    upgraded.ok("db", "upgrade")
    assert upgraded.signing_keys() == [before]


# -- clients sync ----------------------------------------------------------------------


@pytest.fixture
def with_test_clients(upgraded: Gatehouse) -> Gatehouse:
    for path in TEST_CLIENTS.glob("*.toml"):
        shutil.copy(path, upgraded.clients / path.name)
    return upgraded


def test_clients_sync_adds_the_files_clients_and_reports_each_one(
    with_test_clients: Gatehouse,
) -> None:
    output = with_test_clients.ok("clients", "sync")

    for client_id in ("basic-portal", "portal", "machine", "spa"):
        assert f"added: {client_id}" in output
    assert "4 added, 0 updated, 0 removed." in output
    rows = dict(with_test_clients.rows("SELECT client_id, secret_hash FROM clients"))
    assert rows["portal"] == sha256(CLIENT_SECRETS["IDP_TEST_SECRET_CONFIDENTIAL"])
    assert rows["spa"] is None
    sources = {row[0] for row in with_test_clients.rows("SELECT source FROM clients")}
    assert sources == {"file"}


def test_clients_sync_removes_a_file_client_whose_file_is_gone_and_leaves_a_cli_client_alone(
    with_test_clients: Gatehouse,
) -> None:
    with_test_clients.ok("clients", "sync")
    cli_client, _ = with_test_clients.add_client(
        "Added by hand", "--redirect-uri", "https://hand.example/cb"
    )
    (with_test_clients.clients / "public.toml").unlink()

    output = with_test_clients.ok("clients", "sync")

    assert "removed: spa" in output
    assert "updated: portal" in output
    assert "0 added, 3 updated, 1 removed." in output
    assert with_test_clients.client_ids() == {"basic-portal", "portal", "machine", cli_client}


def test_clients_sync_picks_up_a_changed_file(with_test_clients: Gatehouse) -> None:
    with_test_clients.ok("clients", "sync")
    path = with_test_clients.clients / "public.toml"
    path.write_text(path.read_text().replace("Test single-page app", "Renamed app"))

    with_test_clients.ok("clients", "sync")

    assert with_test_clients.rows("SELECT name FROM clients WHERE client_id = 'spa'") == [
        ("Renamed app",)
    ]


CONFIDENTIAL_WITHOUT_SECRET = """\
client_id = "needs-secret"
name = "Needs a secret"
type = "confidential"
token_endpoint_auth_method = "client_secret_post"
secret_env = "IDP_TEST_SECRET_NEVER_SET"
redirect_uris = ["https://portal.example/cb"]
"""


def test_clients_sync_refuses_a_confidential_client_whose_secret_variable_is_unset(
    upgraded: Gatehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDP_TEST_SECRET_NEVER_SET", raising=False)
    shutil.copy(TEST_CLIENTS / "public.toml", upgraded.clients / "a-public.toml")
    upgraded.ok("clients", "sync")
    # The next sync would add one client (sorted first), remove spa, and fail on the second.
    (upgraded.clients / "a-public.toml").unlink()
    shutil.copy(TEST_CLIENTS / "basic.toml", upgraded.clients / "a-basic.toml")
    upgraded.write_client("b-needs-secret.toml", CONFIDENTIAL_WITHOUT_SECRET)
    before = upgraded.dump()

    result = upgraded.run("clients", "sync")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "IDP_TEST_SECRET_NEVER_SET" in result.output
    assert "needs-secret" in result.output
    assert upgraded.dump() == before
    assert upgraded.client_ids() == {"spa"}


def test_clients_sync_keeps_the_stored_secret_when_the_variable_is_unset_later(
    with_test_clients: Gatehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_test_clients.ok("clients", "sync")
    monkeypatch.delenv("IDP_TEST_SECRET_CONFIDENTIAL")

    with_test_clients.ok("clients", "sync")

    assert with_test_clients.rows("SELECT secret_hash FROM clients WHERE client_id='portal'") == [
        (sha256(CLIENT_SECRETS["IDP_TEST_SECRET_CONFIDENTIAL"]),)
    ]


GOOD_CONFIDENTIAL = """\
client_id = "bad"
name = "A client"
type = "confidential"
token_endpoint_auth_method = "client_secret_post"
secret_env = "IDP_TEST_SECRET_CONFIDENTIAL"
redirect_uris = ["https://portal.example/cb"]
"""
GOOD_PUBLIC = """\
client_id = "bad"
name = "A client"
type = "public"
redirect_uris = ["https://portal.example/cb"]
"""

BAD_CLIENT_FILES = [
    pytest.param(GOOD_CONFIDENTIAL + 'colour = "blue"\n', "colour", id="unknown-field"),
    pytest.param(GOOD_PUBLIC.replace("https://portal.example/cb", "http://portal.example/cb"),
                 "redirect_uris", id="http-redirect-to-a-non-loopback-host"),
    pytest.param(GOOD_PUBLIC.replace("/cb", "/cb#done"), "redirect_uris",
                 id="redirect-with-a-fragment"),
    pytest.param(GOOD_PUBLIC.replace('"https://portal.example/cb"', '"/signin-oidc"'),
                 "redirect_uris", id="relative-redirect"),
    pytest.param(GOOD_PUBLIC + 'post_logout_redirect_uris = ["http://portal.example/"]\n',
                 "post_logout_redirect_uris", id="http-post-logout-redirect"),
    pytest.param(GOOD_PUBLIC + 'token_endpoint_auth_method = "client_secret_post"\n'
                 'secret_env = "IDP_TEST_SECRET_CONFIDENTIAL"\n',
                 "token_endpoint_auth_method", id="public-client-with-a-secret-method"),
    pytest.param(GOOD_CONFIDENTIAL.replace('"client_secret_post"', '"none"'),
                 "token_endpoint_auth_method", id="confidential-client-without-auth"),
    pytest.param(GOOD_CONFIDENTIAL.replace('secret_env = "IDP_TEST_SECRET_CONFIDENTIAL"\n', ""),
                 "secret_env", id="secret-method-without-secret-env"),
    pytest.param(GOOD_CONFIDENTIAL + 'scopes = ["openid", "admin"]\n', "scopes",
                 id="unknown-scope"),
    pytest.param(GOOD_CONFIDENTIAL + 'grant_types = ["implicit"]\n', "grant_types",
                 id="unknown-grant-type"),
    pytest.param(GOOD_PUBLIC + 'grant_types = ["client_credentials"]\n', "grant_types",
                 id="public-client-credentials"),
    pytest.param(GOOD_CONFIDENTIAL + "[lifetimes]\naccess_token = 0\n",
                 "lifetimes.access_token", id="zero-lifetime"),
    pytest.param(GOOD_CONFIDENTIAL + '[lifetimes]\naccess_token = "1h"\n',
                 "lifetimes.access_token", id="lifetime-as-text"),
    pytest.param(GOOD_CONFIDENTIAL + "[lifetimes]\nsession = 60\n", "lifetimes.session",
                 id="unknown-lifetime"),
    pytest.param(GOOD_PUBLIC.replace('type = "public"', 'type = "spa"'), "type",
                 id="unknown-type"),
    pytest.param(GOOD_PUBLIC.replace('name = "A client"\n', ""), "name", id="missing-name"),
    pytest.param(GOOD_CONFIDENTIAL.replace('"client_secret_post"', '"private_key_jwt"'),
                 "jwks", id="private-key-jwt-without-keys"),
    pytest.param(
        GOOD_CONFIDENTIAL + "lifetimes = 3600\n", "lifetimes", id="lifetimes-not-a-table",
    ),
    pytest.param(
        GOOD_CONFIDENTIAL + "[lifetimes]\naccess_token = true\n", "lifetimes.access_token",
        id="lifetime-as-boolean",
    ),
    pytest.param(
        GOOD_CONFIDENTIAL.replace('"client_secret_post"', '"private_key_jwt"')
        + 'jwks_uri = "http://keys.example/jwks.json"\n', "jwks_uri",
        id="http-jwks-uri-to-a-non-loopback-host",
    ),
    pytest.param(
        GOOD_CONFIDENTIAL + 'policies = ["B2C_1_no_such_policy"]\n', "policies",
        id="unknown-policy",
    ),
]


@pytest.mark.parametrize(("text", "field"), BAD_CLIENT_FILES)
def test_clients_sync_refuses_a_bad_file_naming_the_file_and_the_field(
    upgraded: Gatehouse, text: str, field: str
) -> None:
    shutil.copy(TEST_CLIENTS / "public.toml", upgraded.clients / "a-good.toml")
    bad = upgraded.write_client("bad.toml", text)

    result = upgraded.run("clients", "sync")

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert str(bad) in result.output
    assert field in result.output
    assert upgraded.client_ids() == set()


def test_clients_sync_refuses_two_files_with_one_client_id_naming_both(
    upgraded: Gatehouse,
) -> None:
    first = upgraded.write_client("a.toml", GOOD_PUBLIC)
    second = upgraded.write_client("b.toml", GOOD_PUBLIC)

    result = upgraded.run("clients", "sync")

    assert result.exit_code == 1
    assert str(first) in result.output and str(second) in result.output
    assert "client_id" in result.output


# -- clients add -----------------------------------------------------------------------


def test_clients_add_prints_a_secret_once_and_stores_only_its_digest(
    upgraded: Gatehouse,
) -> None:
    result = upgraded.run(
        "clients", "add", "Parent Portal", "--redirect-uri", "https://portal.example/cb"
    )

    assert result.exit_code == 0
    client_id = re.search(r"^client_id: (\S+)$", result.stdout, re.M)
    secret = re.search(r"^client_secret: (\S+)$", result.stdout, re.M)
    assert client_id and secret
    uuid.UUID(client_id.group(1))
    assert len(secret.group(1)) >= 40
    assert "not shown again" in result.stderr
    [(secret_hash, client_type, source)] = upgraded.rows(
        "SELECT secret_hash, client_type, source FROM clients WHERE client_id = ?",
        client_id.group(1),
    )
    assert secret_hash != secret.group(1)
    assert secret_hash == sha256(secret.group(1))
    assert (client_type, source) == ("confidential", "cli")
    assert secret.group(1) not in upgraded.dump()


def test_clients_add_public_prints_no_secret_and_stores_none(upgraded: Gatehouse) -> None:
    output = upgraded.ok(
        "clients", "add", "SPA", "--public", "--redirect-uri", "http://127.0.0.1:3000/cb",
        "--client-id", "my-spa",
    )

    assert "client_id: my-spa" in output
    assert "client_secret" not in output
    assert upgraded.rows("SELECT client_type, secret_hash FROM clients") == [("public", None)]


def test_clients_add_records_a_known_policy_and_every_redirect_uri(upgraded: Gatehouse) -> None:
    client_id, _ = upgraded.add_client(
        "Portal", "--redirect-uri", "https://portal.example/a",
        "--redirect-uri", "https://portal.example/b", "--policy", "B2C_1_signin",
    )

    shown = json.loads(upgraded.ok("clients", "show", client_id))

    assert shown["policies"] == ["B2C_1_signin"]
    assert shown["redirect_uris"] == ["https://portal.example/a", "https://portal.example/b"]
    assert shown["token_endpoint_auth_method"] == "client_secret_basic"


def test_clients_add_with_an_unknown_policy_fails_naming_it(upgraded: Gatehouse) -> None:
    result = upgraded.run(
        "clients", "add", "Portal", "--redirect-uri", "https://portal.example/cb",
        "--policy", "B2C_1_no_such_policy",
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "B2C_1_no_such_policy" in result.output
    assert upgraded.client_ids() == set()


@pytest.mark.parametrize(
    "uri", ["http://portal.example/cb", "http://10.0.0.5/cb", "https://portal.example/cb#x",
            "/relative/cb"],
)
def test_clients_add_refuses_a_redirect_uri_that_is_not_https_or_loopback(
    upgraded: Gatehouse, uri: str
) -> None:
    result = upgraded.run("clients", "add", "Portal", "--redirect-uri", uri)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "redirect_uris" in result.output and uri in result.output
    assert upgraded.client_ids() == set()


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:8000/cb", "http://localhost/cb", "http://[::1]:8000/cb"]
)
def test_clients_add_allows_plain_http_to_a_loopback_address(
    upgraded: Gatehouse, uri: str
) -> None:
    upgraded.add_client("Desktop app", "--public", "--redirect-uri", uri)


def test_clients_add_refuses_a_client_id_already_in_use(upgraded: Gatehouse) -> None:
    upgraded.add_client("One", "--client-id", "portal", "--redirect-uri", "https://a.example/cb")

    result = upgraded.run(
        "clients", "add", "Two", "--client-id", "portal", "--redirect-uri", "https://b.example/cb"
    )

    assert result.exit_code == 1
    assert "portal" in result.output and "exists" in result.output
    assert upgraded.rows("SELECT name FROM clients") == [("One",)]


# -- clients list / show / rotate-secret / remove --------------------------------------


def test_clients_list_shows_each_client_with_its_type_and_source(
    with_test_clients: Gatehouse,
) -> None:
    with_test_clients.ok("clients", "sync")
    cli_client, _ = with_test_clients.add_client("By hand", "--redirect-uri", "https://h.ex/cb")

    lines = with_test_clients.ok("clients", "list").splitlines()

    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines}
    assert rows["spa"] == ["public", "file", "Test single-page app"]
    assert rows["portal"] == ["confidential", "file", "Test portal (client_secret_post)"]
    assert rows[cli_client] == ["confidential", "cli", "By hand"]
    assert len(rows) == 5


def test_clients_show_never_prints_the_secret_or_its_digest(upgraded: Gatehouse) -> None:
    client_id, secret = upgraded.add_client(
        "Portal", "--redirect-uri", "https://portal.example/cb", "--policy", "B2C_1_signin"
    )
    assert secret is not None

    output = upgraded.ok("clients", "show", client_id)

    assert secret not in output
    assert sha256(secret) not in output
    shown = json.loads(output)
    assert shown["client_id"] == client_id
    assert shown["name"] == "Portal"
    assert shown["type"] == "confidential"
    assert shown["has_secret"] is True
    assert not any("secret_hash" in key for key in shown)


def test_clients_show_of_an_unknown_client_fails_naming_it(upgraded: Gatehouse) -> None:
    result = upgraded.run("clients", "show", "nobody")

    assert result.exit_code == 1
    assert "'nobody'" in result.output


def _matches(gatehouse: Gatehouse, client_id: str, secret: str, when: datetime) -> bool:
    with gatehouse.app():
        row = get_client(client_id)
        assert row is not None
        return OAuthClient(row, when).check_client_secret(secret)


def test_clients_rotate_secret_prints_a_new_secret_and_the_old_one_stops_matching(
    upgraded: Gatehouse,
) -> None:
    client_id, old = upgraded.add_client("Portal", "--redirect-uri", "https://p.example/cb")
    assert old is not None

    output = upgraded.ok("clients", "rotate-secret", client_id)

    new = re.search(r"^client_secret: (\S+)$", output, re.M)
    assert new is not None and new.group(1) != old
    assert upgraded.rows(
        "SELECT secret_hash, previous_secret_hash, previous_secret_expires_at FROM clients"
    ) == [(sha256(new.group(1)), None, None)]
    assert _matches(upgraded, client_id, new.group(1), now())
    assert not _matches(upgraded, client_id, old, now())


def test_clients_rotate_secret_with_overlap_keeps_the_old_secret_until_it_ends(
    upgraded: Gatehouse,
) -> None:
    client_id, old = upgraded.add_client("Portal", "--redirect-uri", "https://p.example/cb")
    assert old is not None
    before = now()

    output = upgraded.ok("clients", "rotate-secret", client_id, "--overlap", "600")

    after = now()
    new = re.search(r"^client_secret: (\S+)$", output, re.M)
    assert new is not None
    [(secret_hash, previous_hash, expires_text)] = upgraded.rows(
        "SELECT secret_hash, previous_secret_hash, previous_secret_expires_at FROM clients"
    )
    expires = stored_time(expires_text)
    assert secret_hash == sha256(new.group(1))
    assert previous_hash == sha256(old)
    assert before + timedelta(seconds=600) <= expires <= after + timedelta(seconds=600)
    assert _matches(upgraded, client_id, old, expires - timedelta(seconds=1))
    assert not _matches(upgraded, client_id, old, expires)
    assert _matches(upgraded, client_id, new.group(1), expires + timedelta(days=1))


def test_clients_rotate_secret_refuses_a_public_client(upgraded: Gatehouse) -> None:
    client_id, _ = upgraded.add_client("SPA", "--public", "--redirect-uri", "http://localhost/")

    result = upgraded.run("clients", "rotate-secret", client_id)

    assert result.exit_code == 1
    assert "public" in result.output
    assert upgraded.rows("SELECT secret_hash FROM clients") == [(None,)]


def test_clients_rotate_secret_of_an_unknown_client_fails(upgraded: Gatehouse) -> None:
    result = upgraded.run("clients", "rotate-secret", "nobody")

    assert result.exit_code == 1
    assert "'nobody'" in result.output


def test_clients_remove_deletes_the_client(upgraded: Gatehouse) -> None:
    keep, _ = upgraded.add_client("Keep", "--redirect-uri", "https://k.example/cb")
    gone, _ = upgraded.add_client("Gone", "--redirect-uri", "https://g.example/cb")

    assert f"removed: {gone}" in upgraded.ok("clients", "remove", gone)

    assert upgraded.client_ids() == {keep}
    assert gone not in upgraded.ok("clients", "list")
    assert upgraded.run("clients", "remove", gone).exit_code == 1


def test_clients_remove_of_a_file_client_lasts_only_until_the_next_sync(
    with_test_clients: Gatehouse,
) -> None:
    with_test_clients.ok("clients", "sync")
    with_test_clients.ok("clients", "remove", "spa")
    assert "spa" not in with_test_clients.client_ids()

    assert "added: spa" in with_test_clients.ok("clients", "sync")


# -- keys ------------------------------------------------------------------------------


def _rotate(gatehouse: Gatehouse, *args: str) -> dict[str, Any]:
    output = gatehouse.ok("keys", "rotate", *args)
    found = re.search(r"kid: (\S+)\s+algorithm: (\S+)\s+signs from: (\S+)", output)
    assert found is not None, output
    return {"kid": found.group(1), "algorithm": found.group(2),
            "active_from": datetime.fromisoformat(found.group(3))}


def _signer(gatehouse: Gatehouse, when: datetime) -> str:
    with gatehouse.app() as app:
        return signing_key(app.extensions["idp"].encryptor, when).kid


def _published(gatehouse: Gatehouse, when: datetime) -> list[str]:
    with gatehouse.app():
        return [key["kid"] for key in jwks(when)["keys"]]


def test_keys_rotate_publishes_a_new_key_that_signs_only_from_the_publish_ahead_time(
    upgraded: Gatehouse,
) -> None:
    [first] = upgraded.signing_keys()
    before = now()

    new = _rotate(upgraded)

    after = now()
    ahead = timedelta(seconds=SETTINGS["keys.publish_ahead_seconds"].default)
    assert new["algorithm"] == "RS256"
    assert before + ahead <= new["active_from"] <= after + ahead
    keys = {key["kid"]: key for key in upgraded.signing_keys()}
    assert set(keys) == {first["kid"], new["kid"]}
    assert keys[first["kid"]]["retired_at"] == new["active_from"]
    assert keys[first["kid"]]["publish_until"] == new["active_from"] + timedelta(hours=1)
    assert keys[new["kid"]]["retired_at"] is None
    assert set(_published(upgraded, now())) == {first["kid"], new["kid"]}
    assert _signer(upgraded, now()) == first["kid"]
    assert _signer(upgraded, new["active_from"] - timedelta(seconds=1)) == first["kid"]
    assert _signer(upgraded, new["active_from"]) == new["kid"]
    assert _published(upgraded, new["active_from"] + timedelta(hours=1)) == [new["kid"]]


def test_keys_rotate_now_signs_with_the_new_key_at_once(upgraded: Gatehouse) -> None:
    [first] = upgraded.signing_keys()
    before = now()

    new = _rotate(upgraded, "--now")

    assert before <= new["active_from"] <= now()
    assert _signer(upgraded, now()) == new["kid"]
    assert set(_published(upgraded, now())) == {first["kid"], new["kid"]}
    old = next(key for key in upgraded.signing_keys() if key["kid"] == first["kid"])
    assert old["retired_at"] == new["active_from"]


def test_keys_rotate_with_es256_makes_a_key_that_signs_verifiable_tokens(
    upgraded: Gatehouse,
) -> None:
    new = _rotate(upgraded, "--algorithm", "ES256", "--now")

    assert new["algorithm"] == "ES256"
    assert {key["kid"]: key["algorithm"] for key in upgraded.signing_keys()}[new["kid"]] == "ES256"
    with upgraded.app() as app:
        key = signing_key(app.extensions["idp"].encryptor, now())
        published = KeySet.import_key_set(jwks(now()))
    assert (key.kid, key.algorithm) == (new["kid"], "ES256")
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, {"sub": "x"}, key.key,
                       algorithms=["ES256"])
    assert jwt.decode(token, published, algorithms=["ES256"]).claims == {"sub": "x"}


def test_keys_rotate_refuses_an_unknown_algorithm(upgraded: Gatehouse) -> None:
    result = upgraded.run("keys", "rotate", "--algorithm", "HS256")

    assert result.exit_code == 2
    assert len(upgraded.signing_keys()) == 1


def test_keys_rotate_now_after_a_scheduled_rotation_never_signs_with_an_unpublished_key(
    upgraded: Gatehouse,
) -> None:
    scheduled = _rotate(upgraded)
    emergency = _rotate(upgraded, "--now")

    later = scheduled["active_from"] + timedelta(seconds=1)

    signer = _signer(upgraded, later)
    assert signer in _published(upgraded, later)
    assert signer == emergency["kid"]


CLIENT_WITH_LONG_ACCESS_TOKENS = """\
client_id = "long-lived"
name = "Long-lived tokens"
type = "confidential"
token_endpoint_auth_method = "client_secret_post"
secret_env = "IDP_TEST_SECRET_CONFIDENTIAL"
redirect_uris = ["https://portal.example/cb"]
[lifetimes]
access_token = 7200
"""


def test_keys_rotate_keeps_the_old_key_published_as_long_as_any_token_it_signed_lives(
    upgraded: Gatehouse,
) -> None:
    upgraded.write_client("long-lived.toml", CLIENT_WITH_LONG_ACCESS_TOKENS)
    upgraded.ok("clients", "sync")
    [first] = upgraded.signing_keys()

    new = _rotate(upgraded, "--now")

    old = next(key for key in upgraded.signing_keys() if key["kid"] == first["kid"])
    assert old["publish_until"] >= new["active_from"] + timedelta(seconds=7200)


# -- users -----------------------------------------------------------------------------


def _add_user(gatehouse: Gatehouse, email: str, password: str = PASSWORD) -> Result:
    return gatehouse.run(
        "users", "add", "--email", email, "--given-name", "Jenny", "--family-name", "Hinsen",
        input=password + "\n",
    )


def test_users_add_creates_an_account_with_a_verified_email_and_prints_its_object_id(
    upgraded: Gatehouse,
) -> None:
    result = _add_user(upgraded, "Jenny.Hinsen@Example.com")

    assert result.exit_code == 0, result.output
    found = re.search(r"^object_id: (\S+)$", result.output, re.M)
    assert found is not None
    object_id = found.group(1)
    uuid.UUID(object_id)
    assert PASSWORD not in result.output
    [(user_id, email, verified, given, family)] = upgraded.rows(
        "SELECT id, email, email_verified, given_name, family_name FROM users "
        "WHERE object_id = ?", object_id,
    )
    assert (email, verified, given, family) == ("jenny.hinsen@example.com", 1, "Jenny", "Hinsen")
    assert upgraded.rows("SELECT route, issuer, subject FROM identities WHERE user_id = ?",
                         user_id) == [("local", "local", "jenny.hinsen@example.com")]
    [(password_hash,)] = upgraded.rows(
        "SELECT hash FROM password_credentials WHERE user_id = ?", user_id
    )
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in upgraded.dump()


def test_users_add_refuses_a_second_account_for_the_same_email_in_another_case(
    upgraded: Gatehouse,
) -> None:
    assert _add_user(upgraded, "jenny.hinsen@example.com").exit_code == 0

    result = _add_user(upgraded, "JENNY.HINSEN@example.com", "Another-Password-1")

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "an account already signs in with JENNY.HINSEN@example.com" in result.output
    assert upgraded.rows("SELECT count(*) FROM users") == [(1,)]


@pytest.mark.parametrize("password", ["short", "1234567", ""])
def test_users_add_refuses_a_password_under_eight_characters(
    upgraded: Gatehouse, password: str
) -> None:
    result = _add_user(upgraded, "jenny.hinsen@example.com", password)

    assert result.exit_code == 1
    assert "8 or more characters" in result.output
    assert upgraded.rows("SELECT count(*) FROM users") == [(0,)]


@pytest.mark.parametrize(
    "email",
    [
        "jenny.example.com",
        "",
        "jenny@",
        "@example.com",
        "jenny hinsen@example.com",
    ],
)
def test_users_add_refuses_a_malformed_email(upgraded: Gatehouse, email: str) -> None:
    result = _add_user(upgraded, email)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "--email" in result.output
    assert upgraded.rows("SELECT count(*) FROM users") == [(0,)]


def test_users_add_records_an_audit_event(upgraded: Gatehouse) -> None:
    assert _add_user(upgraded, "jenny.hinsen@example.com").exit_code == 0

    [(event, actor)] = upgraded.rows("SELECT event_type, actor FROM audit_events")
    # The operator on the box, by login and host.
    assert event == "user.created" and actor.startswith("cli:") and "@" in actor


def test_users_add_audit_event_names_the_new_account(upgraded: Gatehouse) -> None:
    result = _add_user(upgraded, "jenny.hinsen@example.com")
    found = re.search(r"^object_id: (\S+)$", result.output, re.M)
    assert found is not None

    assert upgraded.rows("SELECT user_object_id FROM audit_events") == [(found.group(1),)]


# -- policies --------------------------------------------------------------------------


def test_policies_list_shows_the_shipped_policies_and_their_steps(upgraded: Gatehouse) -> None:
    output = upgraded.ok("policies", "list")

    ids = [line.split("\t")[0] for line in output.splitlines()]
    shipped = {tomllib.loads(p.read_text())["id"] for p in SHIPPED_POLICIES.glob("*.toml")}
    assert set(ids) == shipped
    assert "B2C_1_signin" in ids
    assert "B2C_1_signin\tSign in\tsignin(signin_page)" in output.splitlines()


def test_policies_check_without_files_checks_every_shipped_policy(gatehouse: Gatehouse) -> None:
    output = gatehouse.ok("policies", "check")

    for path in SHIPPED_POLICIES.glob("*.toml"):
        assert f"ok: {path}" in output


GOOD_POLICY = """\
id = "B2C_1_test"
display_name = "Test"

[[steps]]
id = "signin"
order = 100
type = "signin_page"
[steps.settings]
heading = "Sign in"
"""

BAD_POLICIES = [
    pytest.param(GOOD_POLICY.replace('"signin_page"', '"captcha_page"'), "signin", "type",
                 id="unknown-step-type"),
    pytest.param(GOOD_POLICY + 'colour = "blue"\n', "signin", "settings.colour",
                 id="unknown-setting"),
    pytest.param(GOOD_POLICY.replace('"Sign in"\n', "5\n"), "signin", "settings.heading",
                 id="setting-of-the-wrong-type"),
    pytest.param('id = "B2C_1_test"\ndisplay_name = "Test"\n', None, "steps",
                 id="missing-steps"),
    pytest.param('id = "B2C_1_test"\nsteps = []\n', None, "steps", id="empty-steps"),
    pytest.param(GOOD_POLICY + GOOD_POLICY.split("\n\n", 1)[1].replace("100", "200"),
                 "signin", "id", id="duplicate-step-id"),
    pytest.param(GOOD_POLICY.replace("order = 100\n", 'order = 100\nskip_if = ["is_raining"]\n'),
                 "signin", "skip_if", id="unknown-skip-if-condition"),
    pytest.param(GOOD_POLICY.replace("order = 100\n", 'order = 100\nskip_if = "signed_in"\n'),
                 "signin", "skip_if", id="skip-if-not-a-list"),
    pytest.param(GOOD_POLICY.replace("order = 100\n", 'order = 100\nwhen = "always"\n'),
                 "signin", "when", id="unknown-step-field"),
    pytest.param(GOOD_POLICY.replace("order = 100", 'order = "first"'), "signin", "order",
                 id="order-not-a-number"),
    pytest.param(GOOD_POLICY.replace('id = "signin"', 'id = "Sign In"'), "Sign In", "id",
                 id="bad-step-id"),
]


@pytest.mark.parametrize(("text", "step", "field"), BAD_POLICIES)
def test_policies_check_refuses_a_bad_file_naming_the_file_the_step_and_the_field(
    gatehouse: Gatehouse, tmp_path: Path, text: str, step: str | None, field: str
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD_POLICY)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)

    result = gatehouse.run("policies", "check", str(good), str(bad))

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert f"ok: {good}" in result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert str(bad) in error
    if step is not None:
        assert f"step {step}" in error
    assert field in error
    assert "1 of 2 policy files are wrong" in result.output


def test_policies_check_refuses_a_file_that_is_not_toml(
    gatehouse: Gatehouse, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("id = \n")

    result = gatehouse.run("policies", "check", str(bad))

    assert result.exit_code == 1
    assert str(bad) in result.output and "TOML" in result.output


def test_policies_check_refuses_two_policies_with_one_id(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a.toml").write_text(GOOD_POLICY)
    (folder / "b.toml").write_text(GOOD_POLICY.replace("B2C_1_test", "b2c_1_TEST"))
    config = write_config(tmp_path / "gatehouse.toml", tmp_path / "cli.db", tmp_path, folder)

    result = CliRunner().invoke(main, ["--config", str(config), "policies", "check"])

    assert result.exit_code == 1
    assert str(folder / "b.toml") in result.output


def test_a_bad_policy_in_the_policies_folder_fails_any_command_with_a_clear_message(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    bad = folder / "bad.toml"
    bad.write_text(GOOD_POLICY.replace('"signin_page"', '"captcha_page"'))
    config = write_config(tmp_path / "gatehouse.toml", tmp_path / "cli.db", tmp_path, folder)

    result = CliRunner().invoke(main, ["--config", str(config), "clients", "list"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert str(bad) in result.output


def test_policies_check_with_a_bad_config_fails_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.toml"
    config.write_text('[server]\ncolour = "blue"\n')

    result = CliRunner().invoke(main, ["--config", str(config), "policies", "check"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "server.colour" in result.output


# -- dev-cert and example-config -------------------------------------------------------


def test_dev_cert_writes_a_certificate_for_loopback_and_a_private_key_only_its_owner_reads(
    tmp_path: Path,
) -> None:
    out = tmp_path / "certs"

    result = CliRunner().invoke(main, ["dev-cert", "--out", str(out)])

    assert result.exit_code == 0, result.output
    cert_path, key_path = out / "dev-cert.pem", out / "dev-key.pem"
    assert f"certificate: {cert_path}" in result.output
    assert f"key: {key_path}" in result.output
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert certificate.not_valid_before_utc <= now() < certificate.not_valid_after_utc
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == certificate.public_key()


def _uncommented(example: str) -> dict[str, Any]:
    """The example's settings as TOML: its tables and its commented-out assignments."""
    lines = []
    for line in example.splitlines():
        if line.startswith("["):
            lines.append(line)
        elif assignment := re.match(r"^# (\w+ = .*)$", line):
            lines.append(assignment.group(1))
    def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for name, value in data.items():
            if isinstance(value, dict):
                flat.update(flatten(value, f"{prefix}{name}."))
            else:
                flat[f"{prefix}{name}"] = value
        return flat

    return flatten(tomllib.loads("\n".join(lines)))


def test_example_config_prints_every_setting_with_its_default_and_variable() -> None:
    result = CliRunner().invoke(main, ["example-config"])

    assert result.exit_code == 0
    assert _uncommented(result.output) == {key: s.default for key, s in SETTINGS.items()}
    for key in SETTINGS:
        assert f"# env: {env_name(key)}\n" in result.output


def test_example_config_matches_the_committed_config_example_toml() -> None:
    committed = PROJECT_ROOT / "config.example.toml"
    if not committed.exists():
        pytest.skip("config.example.toml is not committed at the repository root")
    result = CliRunner().invoke(main, ["example-config"])

    assert committed.read_text() == result.output


# -- configuration errors --------------------------------------------------------------


def test_an_unknown_setting_in_the_config_file_is_a_clear_error_naming_it(
    gatehouse: Gatehouse,
) -> None:
    gatehouse.config.write_text(gatehouse.config.read_text() + '[tenant]\ncolour = "blue"\n')

    result = gatehouse.run("clients", "list")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "tenant.colour" in result.output
    assert str(gatehouse.config) in result.output


def test_a_setting_of_the_wrong_type_is_a_clear_error_naming_it(gatehouse: Gatehouse) -> None:
    gatehouse.config.write_text(
        gatehouse.config.read_text() + '[tokens]\nid_token_lifetime = "1h"\n'
    )

    result = gatehouse.run("db", "upgrade")

    assert result.exit_code == 1
    assert "tokens.id_token_lifetime must be int" in result.output
    assert not gatehouse.database.exists()


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"

    result = CliRunner().invoke(main, ["--config", str(missing), "db", "upgrade"])

    assert result.exit_code == 1
    assert f"config file {missing} does not exist" in result.output


def test_an_environment_variable_of_the_wrong_type_is_a_clear_error_naming_it(
    gatehouse: Gatehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_TOKENS_ID_TOKEN_LIFETIME", "an hour")

    result = gatehouse.run("clients", "list")

    assert result.exit_code == 1
    assert "IDP_TOKENS_ID_TOKEN_LIFETIME" in result.output


def test_a_missing_key_encryption_key_is_a_clear_error_naming_the_variable(
    gatehouse: Gatehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDP_KEY_ENCRYPTION_KEY")

    result = gatehouse.run("db", "upgrade")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "IDP_KEY_ENCRYPTION_KEY" in result.output


def test_idp_database_url_overrides_the_config_file(
    gatehouse: Gatehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{elsewhere}")

    gatehouse.ok("db", "upgrade")

    assert elsewhere.exists()
    assert not gatehouse.database.exists()
    overridden = Gatehouse(gatehouse.config, elsewhere, gatehouse.clients)
    assert len(overridden.rows("SELECT kid FROM signing_keys")) == 1


def test_idp_config_names_the_config_file_when_there_is_no_option(
    gatehouse: Gatehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_CONFIG", str(gatehouse.config))

    result = CliRunner().invoke(main, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert gatehouse.database.exists()
