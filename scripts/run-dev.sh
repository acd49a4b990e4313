#!/usr/bin/env bash
# Development server: migrate the dev database, sync the client registrations,
# then serve on http://127.0.0.1:5000 (normally via `make run`).
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/idp --config config.dev.toml db upgrade &&
    .venv/bin/idp --config config.dev.toml clients sync &&
    exec .venv/bin/idp --config config.dev.toml serve --dev --host 127.0.0.1 --port 5000
