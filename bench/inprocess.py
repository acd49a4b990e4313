"""CPU per request of each endpoint scenario with no server in between (the app called as WSGI).

Sets Gatehouse up as bench/run.py does (its folder, database, clients, users; a short-lived
``idp serve`` to sign in for the tokens), then calls the application in this process, the
way gunicorn's worker would, and reports CPU microseconds per request: the figure the
optimisations in docs/performance.md are judged by before the noisier full run.

    .venv/bin/python bench/inprocess.py                    # every scenario, SQLite
    .venv/bin/python bench/inprocess.py --database postgresql client_credentials
    .venv/bin/python bench/inprocess.py --profile client_credentials   # cProfile, top 30
    .venv/bin/python bench/inprocess.py --keycloak-argon2 --requests 100 "password sign-in"

Each scenario runs ``--requests`` times after a warm-up; the least of ``--rounds`` rounds
is shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds a profile.py of its own: the standard library's must win.
HERE = Path(__file__).resolve().parent
sys.path[0] = str(HERE.parent)

import argparse  # noqa: E402
import base64  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

from bench import run as bench  # noqa: E402

Call = Callable[[], int]


def _basic(pair: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(":".join(pair).encode()).decode()


def _caller(app: Any, method: str, path: str, headers: dict[str, str] | None = None,
            body: Callable[[], str] | str = "") -> Call:
    from werkzeug.test import EnvironBuilder

    host = bench.urlsplit(app.config["GATEHOUSE_BASE_URL"]).netloc

    def call() -> int:
        data = body() if callable(body) else body
        environ = EnvironBuilder(
            path=path, method=method, headers={"Host": host, **(headers or {})},
            data=data or None,
            content_type="application/x-www-form-urlencoded" if data else None,
        ).get_environ()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        status: list[str] = []
        chunks = app(environ, lambda s, h, e=None: status.append(s))
        out = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        code = int(status[0].split()[0])
        if code != 200:
            raise RuntimeError(f"{method} {path}: {status[0]} {out[:300]!r}")
        last[0] = out
        return code

    last: list[bytes] = [b""]
    call.last = last  # type: ignore[attr-defined]
    return call


def scenarios(app: Any, server: bench.Gatehouse, tokens: dict[str, Any],
              refresh: list[str]) -> dict[str, Call]:
    import json

    current = [refresh[0]]
    refresh_call: Call

    def refresh_body() -> str:
        return f"grant_type=refresh_token&refresh_token={current[0]}"

    refresh_call = _caller(app, "POST", server.token_path(),
                           {"Authorization": _basic(bench.PORTAL)}, refresh_body)

    def rotate() -> int:
        code = refresh_call()
        current[0] = json.loads(refresh_call.last[0])["refresh_token"]  # type: ignore[attr-defined]
        return code

    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    origin = app.config["GATEHOUSE_BASE_URL"]

    def sign_in() -> int:
        """authorize → sign-in page → password → code → token exchange, as bench/run.py."""
        verifier, challenge = bench._pkce()
        params = {"client_id": bench.PORTAL[0], "response_type": "code",
                  "redirect_uri": bench.REDIRECT, "scope": "openid offline_access",
                  "state": bench.secrets.token_hex(8), "nonce": bench.secrets.token_hex(8),
                  "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        base = f"/{bench.TENANT}/{bench.POLICY}"
        browser = app.test_client()  # a new browser each time, as the scripted client
        answer = browser.get(f"{base}/oauth2/v2.0/authorize?{bench.urlencode(params)}",
                             base_url=origin)
        journey = bench.urlsplit(answer.headers["Location"])
        journey = journey.path + ("?" + journey.query if journey.query else "")
        page = browser.get(journey, base_url=origin).get_data(as_text=True)
        answer = browser.post(journey, base_url=origin, data={
            **bench._form_fields(page), "email": server.emails[2], "password": bench.PASSWORD})
        if "Location" not in answer.headers:
            raise RuntimeError(f"{answer.status_code} {answer.get_data(as_text=True)[:3000]}")
        code = bench.parse_qs(bench.urlsplit(answer.headers["Location"]).query)["code"][0]
        answer = browser.post(f"{base}/oauth2/v2.0/token", base_url=origin, headers={
            "Authorization": _basic(bench.PORTAL)}, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": bench.REDIRECT,
            "code_verifier": verifier})
        if answer.status_code != 200:
            raise RuntimeError(answer.get_data(as_text=True))
        return 200

    return {
        "floor: /healthz": _caller(app, "GET", "/healthz"),
        "discovery": _caller(app, "GET", server.discovery_path()),
        "jwks": _caller(app, "GET", server.jwks_path()),
        "client_credentials": _caller(app, "POST", server.token_path(),
                                      {"Authorization": _basic(bench.MACHINE)},
                                      server.client_credentials_body()),
        "refresh_token": rotate,
        "userinfo": _caller(app, "GET", server.userinfo_path(), bearer),
        "introspection": _caller(app, "POST", server.introspect_path(),
                                 {"Authorization": _basic(bench.PORTAL)},
                                 "token=" + tokens["access_token"]),
        "password sign-in": sign_in,
    }


def measure(call: Call, requests: int, rounds: int) -> float:
    """CPU microseconds per request: the least of ``rounds`` rounds (the others were
    slowed by something else on the machine)."""
    for _ in range(min(200, requests)):
        call()
    per: list[float] = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(requests):
            call()
        per.append((time.process_time() - start) / requests * 1e6)
    return min(per)


def profile(call: Call, requests: int, top: int) -> str:
    for _ in range(100):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def prepared(database_kind: str, scratch: Path,
             argon2: dict[str, int] | None = None) -> Iterator[tuple[Any, Any, Any, Any]]:
    with bench.database(database_kind, scratch) as url:
        mailbox = bench.Mailbox()
        server = bench.Gatehouse("inprocess", url, scratch / "gatehouse", mailbox.port,
                                 argon2=argon2)
        try:
            tokens = bench.gatehouse_sign_in(server, server.emails[0])
            refresh = [bench.gatehouse_sign_in(server, server.emails[1])["refresh_token"]]
        finally:
            server.stop()
            mailbox.stop()
        os.environ.update({k: v for k, v in server.env.items() if k.startswith(("IDP_", "BENCH_"))})
        from idp.app import create_app

        app = create_app(config_file=str(server.config))
        app.config["GATEHOUSE_BASE_URL"] = server.url
        yield app, server, tokens, refresh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--keycloak-argon2", action="store_true",
                        help="hash passwords with Keycloak's argon2id parameters (t=5, 7 MiB), "
                             "so the sign-in's own work shows beside the hash")
    options = parser.parse_args()
    argon2 = bench.KEYCLOAK_ARGON2 if options.keycloak_argon2 else None
    with tempfile.TemporaryDirectory(prefix="gatehouse-inprocess-") as folder:
        for app, server, tokens, refresh in prepared(options.database, Path(folder), argon2):
            calls = scenarios(app, server, tokens, refresh)
            # The sign-in only when named: at the configured argon2id parameters each one
            # is a fifth of a second.
            for name in options.scenarios or [n for n in calls if n != "password sign-in"]:
                if options.profile:
                    print(f"== {name}\n{profile(calls[name], options.requests, options.top)}")
                else:
                    micros = measure(calls[name], options.requests, options.rounds)
                    print(f"{name:20} {micros:8.0f} µs CPU/request "
                          f"({1e6 / micros:,.0f} per CPU-s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
