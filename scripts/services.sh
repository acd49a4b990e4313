# Sourced by scripts/test.sh and scripts/bench.sh (not run): `use_services [VAR=value ...]`
# finds or starts PostgreSQL and Redis with scripts/ensure-services.sh (the assignments are
# passed to it), exports what it prints (IDP_TEST_POSTGRES_URL, IDP_TEST_REDIS_URL, and
# what it started), and stops anything it started when the calling script exits, however
# it exits.

# shellcheck disable=SC2317  # invoked by the trap below
stop_started_services() {
    if [ -n "${GATEHOUSE_STARTED_PG:-}" ] || [ -n "${GATEHOUSE_STARTED_REDIS_PIDFILE:-}" ]; then
        scripts/stop-services.sh || true
    fi
}

use_services() {
    # Set before the services exist, so there is no window in which they could leak.
    trap stop_started_services EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # Assign first, eval second: `eval "$(cmd)"` would hide cmd's failure from set -e.
    # The owner pid lets ensure-services.sh leave a watchdog that stops the servers even
    # if the calling script is SIGKILLed and its trap never runs.
    local exports
    exports="$(env "$@" GATEHOUSE_SERVICES_OWNER_PID=$$ scripts/ensure-services.sh)"
    eval "$exports"
}
