"""Browser fixtures: one headless Debian chromium for the session, a fresh browser profile
(context) per walk, screenshots under test-artifacts/screenshots/<test>/, and the portal
the walks end at (portal.py).

The servers are tests/conftest.py's: ``live_server`` is Gatehouse on a real socket with its
outbox at ``outbox``. Its clock is frozen at the real time here, not at a fixed date, because
the browser expires cookies by the real time; the pages' scripts get the server's frozen
time, so a code page's countdown agrees with the server.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from idp.clock import FrozenClock
from tests.browser.accessibility import (
    AXE_SCRIPT,
    KNOWN,
    KNOWN_FAULTS,
    KNOWN_FAULTS_SEEN,
    ROOT,
)
from tests.browser.portal import FakePortal
from tests.browser.walk import Walk

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
#: Long enough for a slow CI machine, short enough that a missing button fails quickly.
TIMEOUT_MS = 15_000


def _missing(reason: str) -> NoReturn:
    """In CI a missing browser or axe is a broken set-up; on a laptop, a skip that says so."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pytest.skip raises


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_SCRIPT.exists():
        _missing(f"browser tests need axe-core at {AXE_SCRIPT} (npm ci)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("browser tests need Playwright for Python (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        # Never Playwright's own browser build: it cannot be downloaded on these machines.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(scope="session")
def portal() -> Iterator[FakePortal]:
    """The relying portal's callback page on loopback (see portal.py for why not :8000)."""
    portal = FakePortal()
    yield portal
    portal.stop()


@pytest.fixture
def gatehouse(live_server: Any, portal: FakePortal) -> Any:
    """``live_server`` with the portal registered as a client."""
    portal.register(live_server.app)
    return live_server


@pytest.fixture
def new_walk(
    chromium: Any, portal: FakePortal, clock: FrozenClock, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Walk]]:
    """``new_walk("phone")``: another browser (its own cookies), screenshots in a subfolder."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    contexts: list[Any] = []

    def make(name: str = "") -> Walk:
        # No bypass_csp: the pages run under their real Content-Security-Policy, and a script
        # it refuses fails the walk (axe goes in by the DevTools protocol, see accessibility.py).
        context = chromium.new_context(locale="en-GB")
        context.set_default_timeout(TIMEOUT_MS)
        # The page's clock is the server's, so a code page's countdown agrees with it.
        context.clock.set_fixed_time(clock.now())
        contexts.append(context)
        return Walk(context.new_page(), folder / name if name else folder, portal.callback)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def walk(new_walk: Callable[..., Walk]) -> Walk:
    return new_walk()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which reported problems the walks met, and which allowances this run never met
    (after a full run: the fix has landed, remove the allowance)."""
    met = [f"allowed {k.rule} on {sorted({v.heading for v in k.seen})}: {k.reason}"
           for k in KNOWN if k.seen]
    met += [f"allowed {pattern}: {reason}" for pattern, reason in KNOWN_FAULTS.items()
            if pattern in KNOWN_FAULTS_SEEN]
    if not met:
        return  # no walk ran, or none met a known problem
    unmet = [f"not met in this run: {k.rule} on {k.heading!r} ({k.target!r})"
             for k in KNOWN if not k.seen]
    unmet += [f"not met in this run: {pattern}" for pattern in KNOWN_FAULTS
              if pattern not in KNOWN_FAULTS_SEEN]
    terminalreporter.section("known page problems (tests/browser/accessibility.py)")
    for line in met + unmet:
        terminalreporter.line(line)
