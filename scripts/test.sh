#!/usr/bin/env bash
# Run the test suite against a reachable PostgreSQL and Redis.
#
#   scripts/test.sh [pytest args...]      (normally via `make test`)
#
# scripts/ensure-services.sh finds (or starts throwaway) servers and exports
# IDP_TEST_POSTGRES_URL / IDP_TEST_REDIS_URL; anything it started is stopped
# again when this script exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC2317  # invoked by the trap below
stop_started_services() {
    if [ -n "${GATEHOUSE_STARTED_PG:-}" ] || [ -n "${GATEHOUSE_STARTED_REDIS_PIDFILE:-}" ]; then
        scripts/stop-services.sh || true
    fi
}
# Set before the services exist, so there is no window in which they could leak.
trap stop_started_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Assign first, eval second: `eval "$(cmd)"` would hide cmd's failure from set -e.
# The owner pid lets ensure-services.sh leave a watchdog that stops the
# servers even if this script is SIGKILLed and its trap never runs.
exports="$(GATEHOUSE_SERVICES_OWNER_PID=$$ scripts/ensure-services.sh)"
eval "$exports"

status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$status"
