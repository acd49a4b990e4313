"""schemathesis against the admin API's own OpenAPI document, on a live Gatehouse: every
operation, with generated valid and invalid input, must answer as the document says —
never a 500; statuses, headers and bodies as documented; valid input accepted, invalid
input refused; no answer without credentials.

It runs schemathesis's own command (`st run`, every phase and every check), as a
deployment's CI would, with a bounded number of examples and a fixed seed so a failure
can be replayed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import LiveServer, add_user
from tests.test_admin_api import register_robot, robot_token

ST = Path(sys.executable).with_name("st")
EXAMPLES = 25


def test_the_admin_api_answers_as_its_document_says(
    live_server: LiveServer, tmp_path: Path
) -> None:
    app = live_server.app
    add_user(app)
    register_robot(app, "ops-robot", ["gatehouse.admin"])
    token = robot_token(app.test_client(), "ops-robot", "gatehouse.admin")
    run = subprocess.run(
        [
            str(ST), "run", f"{live_server.url}/admin/api/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all",
            "--max-examples", str(EXAMPLES),
            "--seed", "20261123",
            "--generation-database", "none",
            "--workers", "1",
            "--request-timeout", "30",
            "--report-dir", str(tmp_path),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
