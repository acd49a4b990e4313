#!/usr/bin/env bash
# Run the benchmarks (bench/run.py) against Gatehouse and the peer, in one run.
#
#   scripts/bench.sh         (normally via `make bench`; BENCH_QUICK=1 for a smoke run)
#
# Installs what the run needs when it is missing: wrk (Debian, as root), the peer
# (npm ci in bench/peer) and bench/requirements.txt; finds or starts a PostgreSQL with
# scripts/ensure-services.sh, and stops anything it started when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'bench: %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing wrk"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -q update >&2
        apt-get -q -y -o DPkg::Lock::Timeout=300 install wrk >&2
    else
        log "wrk is not installed (Debian: apt-get install wrk)"
        exit 1
    fi
fi
if [ ! -f bench/peer/node_modules/oidc-provider/package.json ] \
    || [ bench/peer/package-lock.json -nt bench/peer/node_modules/.package-lock.json ]; then
    log "npm ci in bench/peer (panva's oidc-provider, the peer)"
    npm ci --prefix bench/peer --no-audit --no-fund --loglevel=error >/dev/null
fi
stamp=.venv/.gatehouse-bench-stamp
if [ ! -f "$stamp" ] || [ bench/requirements.txt -nt "$stamp" ]; then
    log "pip install -r bench/requirements.txt"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
    touch "$stamp"
fi

# shellcheck source=scripts/services.sh
source scripts/services.sh
use_services GATEHOUSE_SKIP_CHROMIUM=1

BENCH_POSTGRES_URL="$IDP_TEST_POSTGRES_URL" .venv/bin/python bench/run.py
