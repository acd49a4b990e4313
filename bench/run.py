"""Gatehouse's benchmarks, side by side with a certified peer, in one run (`make bench`).

Gatehouse runs as in production (`idp serve`: gunicorn, a sync worker per core, argon2id at
the configured parameters, every token persisted) on SQLite and on PostgreSQL; the peer is
panva's oidc-provider (bench/peer). Single endpoints are loaded by wrk (bench/wrk/*.lua);
journeys (authorize, sign-in page, password, code, token exchange; with an email code
step read from a real SMTP server) by a scripted client here.

For each scenario: requests per second, p50 and p99 latency, and requests per CPU-second of
the server's processes (the load generator shares the machine's cores, so CPU-seconds are
what compare), with the peer's figures and the ratio. Also the raw argon2id verifications
per CPU-second, so the sign-in figure can be read against its limit.

    .venv/bin/python bench/run.py            # the full run (about 10 minutes on 2 cores)
    BENCH_QUICK=1 .venv/bin/python bench/run.py   # a smoke run (about 3 minutes)

Results: bench/results/latest.json and latest.md; the throughput plot is written to
docs/performance-throughput.png when matplotlib is installed (make bench installs it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IDP = ROOT / ".venv" / "bin" / "idp"
RESULTS = HERE / "results"
QUICK = os.environ.get("BENCH_QUICK") == "1"
DURATION = 3 if QUICK else 10
JOURNEY_SECONDS = 6 if QUICK else 15
SWEEP = (1, 4, 16) if QUICK else (1, 4, 16, 64)
CONNECTIONS = 16
#: Threads of the scripted client in the journey scenarios.
JOURNEY_CLIENTS = 2 * (os.cpu_count() or 1)
CORES = os.cpu_count() or 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: A PostgreSQL the run may create a database in (scripts/bench.sh passes the test suite's).
POSTGRES = os.environ.get("BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TENANT = "gatehouse.onmicrosoft.com"
POLICY = "B2C_1_signin"
EMAIL_POLICY = "B2C_1_bench_email_code"
REDIRECT = "http://127.0.0.1:8000/callback"
PASSWORD = "Bench-password-2026!"
PORTAL = ("bench-portal", "bench-portal-secret-0123456789abcdef")
MACHINE = ("bench-machine", "bench-machine-secret-0123456789abcdef")
PEER_API = "urn:gatehouse:bench-api"
FLOOR = "floor: /healthz"
KEYCLOAK_ARGON2 = {"time_cost": 5, "memory_cost": 7168, "parallelism": 1}
#: Gatehouse's production defaults (idp/config.py), the parameters sign-ins are run with.
DEFAULT_ARGON2 = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}


# -- measuring a process tree ---------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (gunicorn's master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes, in seconds (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _die_with_parent() -> None:
    """Run in the child before exec: SIGTERM it when the driver dies, so no server outlives
    the run even if the driver is killed (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the servers ----------------------------------------------------------------------


class Server:
    name = ""
    url = ""
    process: subprocess.Popen[bytes] | None = None

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def workers(self) -> list[int]:
        return self.pids()[1:] or self.pids()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)

    def wait_until_up(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"{self.name} exited while starting (code {code})")
            try:
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} within 60 seconds")


class Gatehouse(Server):
    """`idp serve` on its own database, clients, users and bench policy."""

    def __init__(self, name: str, database: str, folder: Path, smtp_port: int,
                 argon2: dict[str, int] | None = None, users: int = 8,
                 workers: int = CORES) -> None:
        self.name = name
        self.folder = folder
        folder.mkdir(parents=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.database = database
        argon2 = argon2 or DEFAULT_ARGON2
        policies = folder / "policies"
        shutil.copytree(ROOT / "policies", policies)
        shutil.copy(HERE / "policies" / f"{EMAIL_POLICY}.toml", policies)
        shutil.copytree(HERE / "clients", folder / "clients")
        self.config = folder / "config.toml"
        self.config.write_text(
            f'[server]\nbase_url = "{self.url}"\nsecret_key = "{secrets.token_hex(32)}"\n'
            f'[database]\nurl = "{database}"\n'
            f'[paths]\npolicies = "{policies}"\nclients = "{folder / "clients"}"\n'
            f'[passwords]\ntime_cost = {argon2["time_cost"]}\n'
            f'memory_cost = {argon2["memory_cost"]}\nparallelism = {argon2["parallelism"]}\n'
            f'[email]\nsender = "smtp"\nfrom_address = "bench@gatehouse.example"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
            # One load generator on one address: the per-address throttles would measure
            # themselves. The per-account lockout and MFA limits stay on.
            '[throttle]\nsignin = "0"\nsignup = "0"\ncode_send = "0"\ntoken = "0"\n'
            'introspect = "0"\n'
            '[logging]\nformat = "json"\nlevel = "info"\n'
        )
        self.env = {
            **os.environ,
            "IDP_CONFIG": str(self.config),
            "IDP_KEY_ENCRYPTION_KEY": "bench-key-encryption-key-of-enough-length",
            "BENCH_PORTAL_SECRET": PORTAL[1],
            "BENCH_MACHINE_SECRET": MACHINE[1],
        }
        self._idp("db", "upgrade")
        self._idp("clients", "sync")
        self.emails = [f"bench{n}@example.com" for n in range(users)]
        for email in self.emails:
            self._idp("users", "add", "--email", email, "--given-name", "Bench",
                      "--family-name", "Person", stdin=PASSWORD + "\n")
        with open(folder / "server.log", "wb") as log:
            self.process = subprocess.Popen(
                [str(IDP), "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(workers)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        self.wait_until_up("/healthz")
        self.issuer_base = f"{self.url}/{TENANT}/{POLICY}/v2.0"

    def _idp(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(IDP), *args], env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"idp {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout

    # Endpoints, as a portal finds them in discovery.
    def discovery_path(self) -> str:
        return f"/{TENANT}/{POLICY}/v2.0/.well-known/openid-configuration"

    def jwks_path(self) -> str:
        return f"/{TENANT}/{POLICY}/discovery/v2.0/keys"

    def token_path(self) -> str:
        return f"/{TENANT}/{POLICY}/oauth2/v2.0/token"

    def userinfo_path(self) -> str:
        return "/userinfo"

    def introspect_path(self) -> str:
        return "/introspect"

    def client_credentials_body(self) -> str:
        return "grant_type=client_credentials&scope=openid"


class Peer(Server):
    """panva's oidc-provider, bench/peer/server.mjs."""

    def __init__(self) -> None:
        self.name = "oidc-provider"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            ["node", str(HERE / "peer" / "server.mjs"), str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, cwd=HERE / "peer", preexec_fn=_die_with_parent,
        )
        self.wait_until_up("/.well-known/openid-configuration")

    def discovery_path(self) -> str:
        return "/.well-known/openid-configuration"

    def jwks_path(self) -> str:
        return "/jwks"

    def token_path(self) -> str:
        return "/token"

    def userinfo_path(self) -> str:
        return "/me"

    def introspect_path(self) -> str:
        return "/token/introspection"

    def client_credentials_body(self) -> str:
        return f"grant_type=client_credentials&scope=bench.read&resource={PEER_API}"


# -- a real SMTP server for the email code step ----------------------------------------


class Mailbox:
    """aiosmtpd on 127.0.0.1: Gatehouse sends its security codes here."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.codes: dict[str, list[str]] = {}
        self.lock = threading.Condition()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                text = envelope.content.decode("utf-8", "replace")
                found = re.search(r"\b(\d{6})\b", text.split("\n\n", 1)[-1])
                with mailbox.lock:
                    for to in envelope.rcpt_tos:
                        code = found.group(1) if found else ""
                        mailbox.codes.setdefault(to.lower(), []).append(code)
                    mailbox.lock.notify_all()
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def next_code(self, to: str, seen: int, timeout: float = 10) -> str:
        with self.lock:
            ok = self.lock.wait_for(lambda: len(self.codes.get(to, [])) > seen, timeout)
            if not ok:
                raise RuntimeError(f"no code emailed to {to} within {timeout} s")
            return self.codes[to][seen]

    def count(self, to: str) -> int:
        with self.lock:
            return len(self.codes.get(to, []))

    def stop(self) -> None:
        self.controller.stop()


# -- wrk ------------------------------------------------------------------------------


@dataclass
class Figures:
    scenario: str
    server: str
    connections: int
    requests: int
    errors: int
    seconds: float
    cpu: float
    p50_ms: float
    p99_ms: float
    rss_mb: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_cpu(self) -> float:
        return self.requests / self.cpu if self.cpu else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1), "per_cpu_second": round(self.per_cpu, 1)}


def lua_string(value: str) -> str:
    return json.dumps(value)


def wrk(server: Server, scenario: str, script: str, connections: int,
        duration: int = DURATION, tokens: list[str] | None = None) -> Figures:
    """Run wrk against the server with a script from bench/wrk; figures for the run."""
    threads = min(connections, CORES)
    if tokens is not None:
        threads = connections  # one connection a thread: each keeps its own refresh token
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.json"
        env = {**os.environ, "BENCH_OUT": str(out),
               "BENCH_LUA_COMMON": str(HERE / "wrk" / "common.lua")}
        if tokens is not None:
            (Path(scratch) / "tokens").write_text("\n".join(tokens) + "\n")
            env["BENCH_TOKENS"] = str(Path(scratch) / "tokens")
        pids = server.pids()
        before = cpu_seconds(pids)
        started = time.monotonic()
        done = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
             "--timeout", "10s", "-s", str(HERE / "wrk" / script), server.url],
            env=env, capture_output=True, text=True, timeout=duration + 60,
        )
        seconds = time.monotonic() - started
        cpu = cpu_seconds(server.pids()) - before
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk {script} failed: {done.stderr or done.stdout}")
        result = json.loads(out.read_text())
    errors = int(result["errors"])
    return Figures(scenario, server.name, connections, int(result["requests"]) - errors, errors,
                   float(result["seconds"]) or seconds, cpu,
                   float(result["p50_us"]) / 1000, float(result["p99_us"]) / 1000,
                   max((rss_mb(p) for p in server.workers()), default=0.0))


# -- journeys, by a scripted client ---------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _form_fields(html: str) -> dict[str, str]:
    return {name: value for name, value in re.findall(
        r'<input type="hidden" name="(csrf_token|step|submitted)" value="([^"]*)"', html)}


def gatehouse_sign_in(server: Gatehouse, email: str, policy: str = POLICY,
                      mailbox: Mailbox | None = None) -> dict[str, Any]:
    """authorize → sign-in page → password → (email code) → code → token exchange."""
    session = requests.Session()
    verifier, challenge = _pkce()
    params = {"client_id": PORTAL[0], "response_type": "code", "redirect_uri": REDIRECT,
              "scope": "openid offline_access", "state": secrets.token_hex(8),
              "nonce": secrets.token_hex(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    answer = session.get(f"{server.url}/{TENANT}/{policy}/oauth2/v2.0/authorize?"
                         f"{urlencode(params)}", allow_redirects=False, timeout=30)
    journey = server.url + answer.headers["Location"]
    page = session.get(journey, timeout=30).text
    answer = session.post(journey, data={**_form_fields(page), "email": email,
                                         "password": PASSWORD}, allow_redirects=False, timeout=30)
    if mailbox is not None:
        page = session.get(server.url + answer.headers["Location"], timeout=30).text
        seen = mailbox.count(email)
        page = session.post(journey, data={**_form_fields(page), "action": "choose",
                                           "method": "email"}, timeout=30).text
        code = mailbox.next_code(email, seen)
        answer = session.post(journey, data={**_form_fields(page), "action": "verify",
                                             "code": code}, allow_redirects=False, timeout=30)
    location = answer.headers.get("Location", "")
    if not location.startswith(REDIRECT):
        raise RuntimeError(
            f"sign-in did not come back with a code: {answer.status_code} {location}")
    code = parse_qs(urlsplit(location).query)["code"][0]
    # A code is redeemed at the token endpoint of the policy that issued it.
    tokens = session.post(f"{server.url}/{TENANT}/{policy}/oauth2/v2.0/token", auth=PORTAL,
                          timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}).json()
    if "refresh_token" not in tokens:
        raise RuntimeError(f"token exchange failed: {tokens}")
    return dict(tokens)


def peer_sign_in(server: Peer) -> dict[str, Any]:
    """The peer's code flow, its interaction finished at once (it has no password step)."""
    session = requests.Session()
    answer = session.get(f"{server.url}/auth", params={
        "client_id": PORTAL[0], "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid offline_access email", "prompt": "consent",
        "state": secrets.token_hex(8), "nonce": secrets.token_hex(8)}, allow_redirects=False,
        timeout=30)
    for _ in range(6):
        location = answer.headers.get("Location", "")
        if location.startswith(REDIRECT):
            break
        target = location if location.startswith("http") else server.url + location
        answer = session.get(target, allow_redirects=False, timeout=30)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    tokens = session.post(f"{server.url}/token", auth=PORTAL, timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}).json()
    if "refresh_token" not in tokens:
        raise RuntimeError(f"peer token exchange failed: {tokens}")
    return dict(tokens)


def journeys(server: Server, scenario: str, run: Callable[[int], Any], workers: int,
             seconds: int = JOURNEY_SECONDS) -> Figures:
    """``workers`` threads repeat ``run(worker)`` for ``seconds``; one journey = one request."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop(worker: int) -> None:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            try:
                run(worker)
            except Exception:
                with lock:
                    errors[0] += 1
                    if errors[0] == 1:
                        raise
                continue
            with lock:
                latencies.append(time.monotonic() - started)

    pids = server.pids()
    before = cpu_seconds(pids)
    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(server.pids()) - before
    latencies.sort()

    def p(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    return Figures(scenario, server.name, workers, len(latencies), errors[0], elapsed, cpu,
                   p(0.5), p(0.99), max((rss_mb(x) for x in server.workers()), default=0.0))


# -- argon2id on its own ---------------------------------------------------------------


def argon2_rate(params: dict[str, int], seconds: float = 3.0,
                threads: int = 1) -> dict[str, float]:
    """Verifications per CPU-second (and per wall-second) at these parameters, by ``threads``
    threads verifying at once in this process (argon2-cffi lets go of the GIL). One thread
    is the raw rate; as many threads as the sign-in scenario has clients is the same rate
    with the memory bandwidth shared as it is during the sign-ins."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(**params)
    stored = hasher.hash(PASSWORD)
    counts = [0] * threads
    cpu_start, wall_start = time.process_time(), time.monotonic()

    def verify(index: int) -> None:
        while time.monotonic() - wall_start < seconds:
            hasher.verify(stored, PASSWORD)
            counts[index] += 1

    workers = [threading.Thread(target=verify, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    cpu = time.process_time() - cpu_start
    wall = time.monotonic() - wall_start
    count = sum(counts)
    return {"verifications": count, "per_cpu_second": count / cpu, "per_second": count / wall}


# -- the run --------------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the run, dropped afterwards."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    name = f"gatehouse_bench_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def database(kind: str, scratch: Path) -> Iterator[str]:
    """A fresh database of this kind ("sqlite" or "postgresql") for one server."""
    if kind == "sqlite":
        yield f"sqlite:///{scratch / f'bench-{secrets.token_hex(4)}.db'}"
        return
    with postgres_database() as url:
        yield url


@dataclass
class Run:
    figures: list[Figures] = field(default_factory=list)
    argon2: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, figures: Figures) -> Figures:
        self.figures.append(figures)
        print(f"  {figures.server:<22} {figures.scenario:<30} c={figures.connections:<3} "
              f"{figures.rps:8.1f}/s  p50 {figures.p50_ms:7.1f} ms  p99 {figures.p99_ms:7.1f} ms  "
              f"{figures.per_cpu:8.1f}/CPU-s  errors {figures.errors}", flush=True)
        return figures


def set_wrk_environment(server: Server, tokens: dict[str, Any]) -> None:
    """What the bench/wrk scripts read: this server's paths, credentials and a token."""
    os.environ.update({
        "BENCH_DISCOVERY": server.discovery_path(), "BENCH_JWKS": server.jwks_path(),
        "BENCH_TOKEN": server.token_path(), "BENCH_USERINFO": server.userinfo_path(),
        "BENCH_INTROSPECT": server.introspect_path(),
        "BENCH_CC_BODY": server.client_credentials_body(),
        "BENCH_MACHINE_AUTH": base64.b64encode(":".join(MACHINE).encode()).decode(),
        "BENCH_PORTAL_AUTH": base64.b64encode(":".join(PORTAL).encode()).decode(),
        "BENCH_ACCESS_TOKEN": tokens["access_token"],
    })


def endpoint_scenarios(run: Run, server: Server, tokens: dict[str, Any],
                       refresh_tokens: list[str]) -> None:
    set_wrk_environment(server, tokens)
    for scenario, script in (("discovery", "discovery.lua"), ("jwks", "jwks.lua"),
                             ("client_credentials", "client_credentials.lua"),
                             ("userinfo", "userinfo.lua"), ("introspection", "introspect.lua")):
        run.add(wrk(server, scenario, script, CONNECTIONS))
    run.add(wrk(server, "refresh_token", "refresh.lua", len(refresh_tokens),
                tokens=refresh_tokens))
    if isinstance(server, Gatehouse):
        # The floor: what any request costs before protocol work (the peer has no twin).
        run.add(wrk(server, FLOOR, "healthz.lua", CONNECTIONS))


def sweep(run: Run, server: Server) -> None:
    for connections in SWEEP:
        run.add(wrk(server, "client_credentials (sweep)", "client_credentials.lua", connections))
        run.add(wrk(server, "discovery (sweep)", "discovery.lua", connections))


def gatehouse_run(run: Run, name: str, database: str, scratch: Path, mailbox: Mailbox,
                  full: bool) -> None:
    print(f"{name}: starting", flush=True)
    server = Gatehouse(name, database, scratch / name, mailbox.port)
    try:
        signed_in = gatehouse_sign_in(server, server.emails[0])
        refresh = [gatehouse_sign_in(server, server.emails[i % len(server.emails)])
                   ["refresh_token"] for i in range(CORES * 2)]
        endpoint_scenarios(run, server, signed_in, refresh)
        if full:
            sweep(run, server)
        workers = JOURNEY_CLIENTS
        run.add(journeys(server, "password sign-in", lambda w: gatehouse_sign_in(
            server, server.emails[w]), workers))
        run.add(journeys(server, "sign-in + email code", lambda w: gatehouse_sign_in(
            server, server.emails[w], EMAIL_POLICY, mailbox), workers))
    finally:
        server.stop()


def main() -> int:
    for tool in ("wrk", "node"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (make bench installs it)", file=sys.stderr)
            return 2
    if not (HERE / "peer" / "node_modules" / "oidc-provider").exists():
        print("bench: the peer is not installed: npm ci --prefix bench/peer", file=sys.stderr)
        return 2
    run = Run()
    print(f"argon2id, {CORES} cores", flush=True)
    seconds = 3.0 if QUICK else 6.0
    run.argon2 = {
        "configured": {**DEFAULT_ARGON2, **argon2_rate(DEFAULT_ARGON2, seconds),
                       "concurrent": {"threads": JOURNEY_CLIENTS, **argon2_rate(
                           DEFAULT_ARGON2, seconds, JOURNEY_CLIENTS)}},
        "keycloak": {**KEYCLOAK_ARGON2, **argon2_rate(KEYCLOAK_ARGON2, seconds)},
    }
    for label, figures in run.argon2.items():
        print(f"  {label}: {figures['per_cpu_second']:.1f} verifications/CPU-s", flush=True)
    mailbox = Mailbox()
    scratch = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    try:
        gatehouse_run(run, "gatehouse-sqlite", f"sqlite:///{scratch / 'bench.db'}", scratch,
                      mailbox, full=True)
        with postgres_database() as url:
            gatehouse_run(run, "gatehouse-postgresql", url, scratch, mailbox, full=False)
        print("oidc-provider: starting", flush=True)
        peer = Peer()
        try:
            signed_in = peer_sign_in(peer)
            refresh = [peer_sign_in(peer)["refresh_token"] for _ in range(CORES * 2)]
            endpoint_scenarios(run, peer, signed_in, refresh)
            sweep(run, peer)
            run.add(journeys(peer, "code flow (no password step)", lambda w: peer_sign_in(peer),
                             JOURNEY_CLIENTS))
        finally:
            peer.stop()
        print("gatehouse-keycloak-argon2: starting", flush=True)
        keycloak = Gatehouse("gatehouse-keycloak-argon2", f"sqlite:///{scratch / 'kc.db'}",
                             scratch / "keycloak", mailbox.port, argon2=KEYCLOAK_ARGON2)
        try:
            run.add(journeys(keycloak, "password sign-in", lambda w: gatehouse_sign_in(
                keycloak, keycloak.emails[w]), JOURNEY_CLIENTS))
        finally:
            keycloak.stop()
    finally:
        mailbox.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    from bench.report import write_report

    write_report(run)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
