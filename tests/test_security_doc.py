"""docs/security.md maps every threat and conformance check to tests: each row must name
at least one, and each named test must exist."""

from __future__ import annotations

import re

from idp.config import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(test_\w+))?`")


def rows() -> list[str]:
    table_rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    return [r for r in table_rows if not r.startswith(("| § ", "| module ", "| requirement "))]


def test_every_row_names_a_test() -> None:
    assert len(rows()) > 50
    bare = [row[:80] for row in rows() if not REFERENCE.search(row.rsplit("|", 2)[-2])]
    assert not bare, f"rows without a test: {bare}"


def test_every_named_test_exists() -> None:
    missing = []
    for row in rows():
        for path, name in REFERENCE.findall(row):
            source = PROJECT_ROOT / path
            if not source.is_file():
                missing.append(path)
            elif name and not re.search(rf"^def {name}\(", source.read_text(), re.M):
                missing.append(f"{path}::{name}")
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"
