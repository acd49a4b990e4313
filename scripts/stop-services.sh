#!/usr/bin/env bash
# Stop the throwaway PostgreSQL / Redis that scripts/ensure-services.sh started
# and delete their temp dirs. Reads the variables ensure-services.sh exported:
#   GATEHOUSE_STARTED_PG              data dir of the throwaway PostgreSQL
#   GATEHOUSE_STARTED_REDIS_PIDFILE   pidfile of the throwaway Redis
# Either may be unset/empty (then there is nothing of that kind to stop).
# Safe to run twice: the second run finds nothing and does nothing.
#
#   scripts/stop-services.sh                  stop now
#   scripts/stop-services.sh --when-gone PID  wait until process PID has
#       exited, then stop (the watchdog ensure-services.sh leaves behind, so
#       the servers go away even if their owner was killed without a trap)
set -uo pipefail

log() { printf 'stop-services: %s\n' "$*" >&2; }

# kill -0 also succeeds on a zombie, and a daemonized server that exited stays
# one until init reaps it (some container inits are slow to): count that as gone.
alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/stat" ] || return 0
    # /proc/PID/stat is "pid (comm) STATE ..."; comm may hold spaces, so cut after ") ".
    [ "$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)" != "Z" ]
}

# Is PID alive and running PROGRAM? Guards against a stale pidfile whose pid
# has since been reused by something else. Without /proc, trust the pidfile.
runs() {
    alive "$1" || return 1
    [ -r "/proc/$1/comm" ] || return 0
    case "$(cat "/proc/$1/comm" 2>/dev/null)" in "$2"*) return 0 ;; *) return 1 ;; esac
}

if [ "${1:-}" = "--when-gone" ]; then
    owner="${2:?--when-gone needs a pid}"
    while alive "$owner"; do sleep 1; done
fi

# Guard rails: only ever delete dirs that look like ours.
case "${GATEHOUSE_STARTED_PG:-}" in
    "") ;;
    /tmp/gatehouse-pg.*)
        datadir="$GATEHOUSE_STARTED_PG"
        if [ -f "$datadir/postmaster.pid" ]; then
            pid="$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)"
            log "stopping the throwaway PostgreSQL in $datadir"
            # SIGQUIT = "immediate shutdown": nothing in it is worth a checkpoint.
            # (Signalling the postmaster directly works as root or as its owner,
            # unlike pg_ctl, which refuses to run as root.)
            if runs "$pid" postgres && kill -QUIT "$pid" 2>/dev/null; then
                for _ in $(seq 1 100); do
                    alive "$pid" || break
                    sleep 0.1
                done
                if runs "$pid" postgres; then kill -KILL "$pid" 2>/dev/null || true; fi
            fi
        fi
        rm -rf "$datadir"
        ;;
    *) log "refusing to touch GATEHOUSE_STARTED_PG=$GATEHOUSE_STARTED_PG (not /tmp/gatehouse-pg.*)" ;;
esac

case "${GATEHOUSE_STARTED_REDIS_PIDFILE:-}" in
    "") ;;
    /tmp/gatehouse-redis.*/redis.pid)
        pidfile="$GATEHOUSE_STARTED_REDIS_PIDFILE"
        dir="$(dirname "$pidfile")"
        if [ -f "$pidfile" ]; then
            pid="$(cat "$pidfile" 2>/dev/null || true)"
            log "stopping the throwaway Redis (pid $pid)"
            if runs "$pid" redis-server && kill -TERM "$pid" 2>/dev/null; then
                for _ in $(seq 1 50); do
                    alive "$pid" || break
                    sleep 0.1
                done
                if runs "$pid" redis-server; then kill -KILL "$pid" 2>/dev/null || true; fi
            fi
        fi
        rm -rf "$dir"
        ;;
    *) log "refusing to touch GATEHOUSE_STARTED_REDIS_PIDFILE=$GATEHOUSE_STARTED_REDIS_PIDFILE (not /tmp/gatehouse-redis.*/redis.pid)" ;;
esac
exit 0
