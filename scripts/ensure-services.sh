#!/usr/bin/env bash
# Make sure a PostgreSQL and a Redis are reachable for the test suite.
#
# Usage:  eval "$(scripts/ensure-services.sh)"
#
# stdout carries only `export NAME=value` lines; every human-readable message
# goes to stderr, so the output can be eval'ed as is.
#
# Exported:
#   IDP_TEST_POSTGRES_URL   SQLAlchemy URL of a database the tests may use
#   IDP_TEST_REDIS_URL      Redis URL (database 15 on a shared server)
#   GATEHOUSE_STARTED_PG              data dir of a throwaway PostgreSQL we started
#   GATEHOUSE_STARTED_REDIS_PIDFILE   pidfile of a throwaway Redis we started
# The last two are only printed when this script started something; stop those
# with scripts/stop-services.sh (test.sh does so from its EXIT trap).
#
# Knobs:
#   IDP_TEST_POSTGRES_URL / IDP_TEST_REDIS_URL   already set: used as they are
#   GATEHOUSE_FORCE_THROWAWAY=1   don't look at 127.0.0.1:5432/6379; always
#                                 start throwaway servers (used to test this path)
#   GATEHOUSE_SKIP_CHROMIUM=1     don't try to install Debian's chromium
#   GATEHOUSE_SERVICES_OWNER_PID  pid of the process that owns the throwaway
#                                 servers; a detached watchdog stops them once
#                                 that process is gone, even if it was SIGKILLed
#                                 and never ran its trap.
set -euo pipefail

script_dir="$(cd "$(dirname "$0")" && pwd)"

log() { printf 'ensure-services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

force_throwaway() { [ "${GATEHOUSE_FORCE_THROWAWAY:-0}" = "1" ]; }

# --- cleanup of what *this* script started, should it fail half way ----------
# If PostgreSQL came up but Redis then failed, the caller never sees our export
# lines and so could not stop PostgreSQL itself: do it here.
started_pg=""
started_redis_pidfile=""
succeeded=0
cleanup_on_failure() {
    if [ "$succeeded" -eq 0 ] && { [ -n "$started_pg" ] || [ -n "$started_redis_pidfile" ]; }; then
        log "stopping the throwaway servers started so far"
        GATEHOUSE_STARTED_PG="$started_pg" \
            GATEHOUSE_STARTED_REDIS_PIDFILE="$started_redis_pidfile" \
            "$script_dir/stop-services.sh" >&2 || true
    fi
}
trap cleanup_on_failure EXIT

# --- helpers -------------------------------------------------------------------

# TCP connect check, used when the service's own client tool isn't installed.
port_open() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

# Export lines are collected here and printed only at the very end, so a
# failure part way leaves stdout empty rather than half a set of exports.
exports=""
emit() { exports="${exports}export $1=$(printf '%q' "$2")"$'\n'; }

# Redis PING without needing redis-cli: succeeds only on a +PONG reply, so a
# server that wants a password (or isn't Redis) doesn't count.
redis_pong() {
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" = "PONG" ]
        return
    fi
    python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as s:
        s.sendall(b"PING\r\n")
        ok = s.recv(64).startswith(b"+PONG")
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}

# A TCP port on 127.0.0.1 that nothing listens on right now. (There is a small
# window before the server binds it; good enough for a throwaway test server.)
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# apt-get, quietly: its output goes to a log that is shown only if it fails.
apt_updated=0
apt_install() {
    is_root || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    local aptlog rc=0
    aptlog="$(mktemp /tmp/gatehouse-apt.XXXXXX)"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        apt-get -q update >"$aptlog" 2>&1 || rc=$?
        [ "$rc" -ne 0 ] || apt_updated=1
    fi
    if [ "$rc" -eq 0 ]; then
        log "apt-get install $* (this can take a minute)"
        # Lock timeout: a concurrent apt run shouldn't make us fail at once.
        apt-get -q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 install "$@" >>"$aptlog" 2>&1 || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        log "apt-get failed (exit $rc); last lines of its output:"
        tail -n 30 "$aptlog" >&2
    fi
    rm -f "$aptlog"
    return "$rc"
}

# --- PostgreSQL ----------------------------------------------------------------

# Directory holding initdb/pg_ctl: Debian keeps them off PATH under
# /usr/lib/postgresql/VERSION/bin (take the newest); elsewhere they're on PATH.
pg_bindir() {
    local d
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        printf '%s\n' "$d"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
    else
        return 1
    fi
}

default_postgres_ok() {
    local url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432 || return 1
    else
        port_open 127.0.0.1 5432 || return 1
    fi
    # Something listens; if we can, also check that the URL we'd hand out works
    # (trust auth, database "test"), so a password-protected local server falls
    # back to a throwaway one instead of failing every test.
    if command -v psql >/dev/null 2>&1; then
        if ! psql -X -q -w -h 127.0.0.1 -p 5432 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
            log "a PostgreSQL listens on 127.0.0.1:5432 but ${url#*+psycopg://} is not usable (no trust auth or no database 'test'); starting a throwaway one instead"
            return 1
        fi
    fi
    return 0
}

start_throwaway_postgres() {
    local bindir port datadir run_as=()
    bindir="$(pg_bindir || true)"
    if [ -z "$bindir" ]; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            log "PostgreSQL server binaries not found; installing Debian's postgresql"
            apt_install postgresql || die "could not install Debian's postgresql package"
            bindir="$(pg_bindir || true)"
        fi
        [ -n "$bindir" ] || die "no PostgreSQL reachable at 127.0.0.1:5432 and no PostgreSQL server binaries (initdb, pg_ctl) installed. Install PostgreSQL (Debian: apt-get install postgresql), or set IDP_TEST_POSTGRES_URL=postgresql+psycopg://USER@HOST:PORT/DB"
    fi

    # initdb and postgres refuse to run as root: use Debian's postgres system user.
    if is_root; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run a throwaway PostgreSQL as (install Debian's postgresql package, or set IDP_TEST_POSTGRES_URL)"
        run_as=(runuser -u postgres --)
    fi

    port="$(free_port)"
    # The temp dir is the data dir itself; the unix socket and the log live in
    # it too, so one `rm -rf` removes every trace.
    datadir="$(mktemp -d /tmp/gatehouse-pg.XXXXXX)"
    started_pg="$datadir"
    if is_root; then chown postgres: "$datadir"; fi

    log "starting a throwaway PostgreSQL ($bindir) on 127.0.0.1:$port in $datadir"
    ${run_as[@]+"${run_as[@]}"} "$bindir/initdb" -D "$datadir" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$datadir.initdb.log" 2>&1 || { cat "$datadir.initdb.log" >&2; rm -f "$datadir.initdb.log"; die "initdb failed"; }
    rm -f "$datadir.initdb.log"

    # fsync & co. off: it's thrown away anyway, and it makes the tests faster.
    ${run_as[@]+"${run_as[@]}"} "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$datadir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null 2>&1 || { cat "$datadir/server.log" >&2 || true; die "the throwaway PostgreSQL did not start"; }

    ${run_as[@]+"${run_as[@]}"} "$bindir/psql" -X -q -w -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c 'CREATE DATABASE test' >&2 || die "could not create database 'test' on the throwaway PostgreSQL"

    emit IDP_TEST_POSTGRES_URL "postgresql+psycopg://postgres@127.0.0.1:$port/test"
    emit GATEHOUSE_STARTED_PG "$datadir"
}

ensure_postgres() {
    if [ -n "${IDP_TEST_POSTGRES_URL:-}" ]; then
        log "PostgreSQL: using IDP_TEST_POSTGRES_URL from the environment"
        emit IDP_TEST_POSTGRES_URL "$IDP_TEST_POSTGRES_URL"
        return
    fi
    if ! force_throwaway && default_postgres_ok; then
        log "PostgreSQL: using the server at 127.0.0.1:5432"
        emit IDP_TEST_POSTGRES_URL "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        return
    fi
    start_throwaway_postgres
}

# --- Redis -----------------------------------------------------------------------

start_throwaway_redis() {
    local port dir pidfile i
    if ! command -v redis-server >/dev/null 2>&1; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            log "redis-server not found; installing Debian's redis-server"
            apt_install redis-server || die "could not install Debian's redis-server package"
        fi
        command -v redis-server >/dev/null 2>&1 \
            || die "no Redis reachable at 127.0.0.1:6379 and redis-server is not installed. Install it (Debian: apt-get install redis-server), or set IDP_TEST_REDIS_URL=redis://HOST:PORT/DB"
    fi

    port="$(free_port)"
    dir="$(mktemp -d /tmp/gatehouse-redis.XXXXXX)"
    pidfile="$dir/redis.pid"
    started_redis_pidfile="$pidfile"

    log "starting a throwaway Redis on 127.0.0.1:$port in $dir"
    # No persistence at all (--save '' / no AOF): nothing is ever written to disk.
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$pidfile" --dir "$dir" --logfile "$dir/redis.log" >&2 \
        || die "redis-server failed to start"

    for i in $(seq 1 50); do
        redis_pong 127.0.0.1 "$port" && break
        [ "$i" -eq 50 ] && { cat "$dir/redis.log" >&2 || true; die "the throwaway Redis does not answer PING"; }
        sleep 0.1
    done

    emit IDP_TEST_REDIS_URL "redis://127.0.0.1:$port/15"
    emit GATEHOUSE_STARTED_REDIS_PIDFILE "$pidfile"
}

ensure_redis() {
    if [ -n "${IDP_TEST_REDIS_URL:-}" ]; then
        log "Redis: using IDP_TEST_REDIS_URL from the environment"
        emit IDP_TEST_REDIS_URL "$IDP_TEST_REDIS_URL"
        return
    fi
    if ! force_throwaway && redis_pong 127.0.0.1 6379; then
        log "Redis: using the server at 127.0.0.1:6379 (database 15)"
        emit IDP_TEST_REDIS_URL "redis://127.0.0.1:6379/15"
        return
    fi
    start_throwaway_redis
}

# --- Chromium (for the browser tests) ------------------------------------------------

ensure_chromium() {
    [ "${GATEHOUSE_SKIP_CHROMIUM:-0}" = "1" ] && return 0
    [ -x /usr/bin/chromium ] && return 0
    if is_root && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's chromium for the browser tests (skip with GATEHOUSE_SKIP_CHROMIUM=1)"
        apt_install chromium || log "WARNING: could not install chromium; browser tests will be unable to run"
    else
        log "WARNING: /usr/bin/chromium is missing (Debian: apt-get install chromium); browser tests will be unable to run"
    fi
    return 0
}

# --- main -------------------------------------------------------------------------------

ensure_postgres
ensure_redis
ensure_chromium

if [ -n "${GATEHOUSE_SERVICES_OWNER_PID:-}" ] && { [ -n "$started_pg" ] || [ -n "$started_redis_pidfile" ]; }; then
    # Detached (own session, no inherited fds) so that `$(...)` in the caller
    # doesn't wait for it and a kill of the caller's process group spares it.
    GATEHOUSE_STARTED_PG="$started_pg" GATEHOUSE_STARTED_REDIS_PIDFILE="$started_redis_pidfile" \
        setsid "$script_dir/stop-services.sh" --when-gone "$GATEHOUSE_SERVICES_OWNER_PID" \
        </dev/null >/dev/null 2>&1 &
fi

printf '%s' "$exports"
succeeded=1
