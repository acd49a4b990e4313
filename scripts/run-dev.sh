#!/usr/bin/env bash
# Development server: migrate the dev database, sync the client registrations,
# then serve on http://127.0.0.1:5000 (normally via `make run`).
set -euo pipefail
cd "$(dirname "$0")/.."

# The shipped example portals' secrets, for development only: clients/*.toml name these
# variables; a real deployment sets its own.
export IDP_CLIENT_SECRET_PARENT_PORTAL="${IDP_CLIENT_SECRET_PARENT_PORTAL:-dev-parent-portal-secret}"
export IDP_CLIENT_SECRET_BLUE_BADGE="${IDP_CLIENT_SECRET_BLUE_BADGE:-dev-blue-badge-secret}"

idp=(.venv/bin/idp --config config.dev.toml)
"${idp[@]}" db upgrade
"${idp[@]}" clients sync
if [ -n "${GATEHOUSE_DEMO_USER:-1}" ]; then
    # A demo account to sign in with (skipped when it exists already).
    printf '%s\n' 'Demo-password-2026' | "${idp[@]}" users add \
        --email demo@example.com --given-name Jenny --family-name Hinsen 2>/dev/null \
        && echo "Demo account: demo@example.com / Demo-password-2026" || true
fi
echo "Gatehouse on http://127.0.0.1:5000 — try http://127.0.0.1:5000/.well-known/openid-configuration"
echo "Emails (codes, activation links) go to instance/outbox-dev.jsonl"
exec "${idp[@]}" serve --dev --host 127.0.0.1 --port 5000
