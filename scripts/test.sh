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

# shellcheck source=scripts/services.sh
source scripts/services.sh
use_services

status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$status"
