#!/usr/bin/env bash
# Development (normally via `make run`): migrate the dev database, sync the client
# registrations, then serve Gatehouse on http://127.0.0.1:5000 and the example portal
# (examples/portal: the Parent Portal and the Blue Badge portal) on http://127.0.0.1:5001.
# Stopping either way (Ctrl-C, a kill, Gatehouse exiting) stops both.
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
    # ...who may also try the admin pages (a second factor by email, from the outbox).
    "${idp[@]}" admins grant demo@example.com --role admin >/dev/null 2>&1 || true
fi

# Gatehouse and the example portal (its footer linking Gatehouse's outbox page) run as
# background jobs of this shell, which waits for Gatehouse. Ctrl-C, a kill or Gatehouse
# stopping ends the script, and the EXIT trap then stops whichever is still running.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

PORTAL_GATEHOUSE_OUTBOX_URL=http://127.0.0.1:5000/dev/outbox \
    .venv/bin/python -m examples.portal --host 127.0.0.1 --port 5001 &
pids+=($!)
"${idp[@]}" serve --dev --host 127.0.0.1 --port 5000 &
gatehouse=$!
pids+=("$gatehouse")

echo "Gatehouse on http://127.0.0.1:5000 — try http://127.0.0.1:5000/.well-known/openid-configuration"
echo "Example portal on http://127.0.0.1:5001 — the Parent Portal (/parent/) and the Blue Badge portal (/bluebadge/)"
echo "Emails, texts and calls (codes, activation links) are listed on the outbox page at"
echo "http://127.0.0.1:5000/dev/outbox (also in instance/outbox-dev.jsonl). Ctrl-C stops both."
echo "Admin pages on http://127.0.0.1:5000/admin (the demo account has the admin role here)."
wait "$gatehouse"
