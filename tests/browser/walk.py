"""A person in a real browser: fill fields by their labels, press buttons by their words.

Every page the walk arrives at is screenshot into ``test-artifacts/screenshots/<test>/``
and checked with axe-core, and for script errors, scripts the Content-Security-Policy
refused and files that failed to load. A problem that ``accessibility.KNOWN`` or
``KNOWN_FAULTS`` does not allow fails the walk there, naming the rule, element and page::

    walk.open(f"{server.url}/authorize?...")
    walk.press("Sign up now")
    walk.press("Send verification code", {"Email address": "jenny@example.com"})
    walk.press("Continue", {re.compile("^Text message"): True})
    code = walk.code()                      # back at the portal (portal.py) with ?code=
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.accessibility import Violation, known_entry, known_fault, run_axe

Label = str | re.Pattern[str]


class Walk:
    """One browser tab walking journeys; screenshots numbered in the order pages were seen."""

    def __init__(self, page: Any, screenshots: Path, portal_callback: str) -> None:
        self.page = page
        self.screenshots = screenshots
        self.portal_callback = portal_callback
        self.count = 0
        self.allowed: list[Violation] = []
        self.allowed_faults: list[str] = []
        self._faults: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._faults.append(f"script error: {error}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # A failed load is reported below with its URL; anything else, such as a script
        # the Content-Security-Policy refused, is a fault of the page.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self._faults.append(f"console error: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self._faults.append(f"{response.status} for {response.url}")

    # -- moving --------------------------------------------------------------------------

    def open(self, url: str) -> Walk:
        """Type a URL into the address bar (or follow a link from an email)."""
        self.page.goto(url)
        return self.arrived()

    def press(self, button: str, fields: Mapping[Label, str | bool] | None = None,
              choose: Mapping[str, str] | None = None) -> Walk:
        """Fill ``fields`` (text, or True to tick), pick ``choose`` options (label -> the
        start of the option's words), then press the button whose words are ``button``."""
        self.fill(fields or {}, choose or {})
        target = self.page.get_by_role("button", name=button, exact=True)
        with self.page.expect_navigation():
            target.click()
        return self.arrived()

    def fill(self, fields: Mapping[Label, str | bool], choose: Mapping[str, str]) -> None:
        for label, value in fields.items():
            control = self.page.get_by_label(label, exact=True)
            if value is True:
                control.check()
            else:
                control.fill(str(value))
        for label, words in choose.items():
            select = self.page.get_by_label(label, exact=True)
            value = select.locator("option", has_text=words).first.get_attribute("value")
            select.select_option(value=value)

    def arrived(self) -> Walk:
        """Keep a screenshot of the page; check it unless it is the portal's."""
        self.page.wait_for_load_state("load")
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading().lower()).strip("-") or "page"
        self.screenshots.mkdir(parents=True, exist_ok=True)
        shot = self.screenshots / f"{self.count:02d}-{slug[:60]}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        if not self.page.url.startswith(self.portal_callback):  # not Gatehouse's page
            self.check_accessibility(shot)
            self.check_faults(shot)
        return self

    def check_faults(self, shot: Path) -> None:
        """No script error, refused script or missing file behind the page."""
        faults, self._faults = self._faults, []
        problems = []
        for fault in faults:
            if known_fault(fault):
                self.allowed_faults.append(fault)
            else:
                problems.append(fault)
        if problems:
            pytest.fail(f"page {self.heading()!r} at {self.url} (screenshot {shot}):\n  "
                        + "\n  ".join(problems), pytrace=False)

    def check_accessibility(self, shot: Path) -> None:
        problems = []
        for violation in run_axe(self.page):
            if known_entry(violation):
                self.allowed.append(violation)
            else:
                problems.append(violation)
        if problems:
            lines = "\n".join(v.describe() for v in problems)
            pytest.fail(f"{len(problems)} accessibility violation(s) (WCAG 2.2 AA) on "
                        f"{self.heading()!r}, screenshot {shot}:\n{lines}", pytrace=False)

    # -- reading -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return str(self.page.url)

    def heading(self) -> str:
        h1 = self.page.locator("h1")
        return " ".join(h1.first.inner_text().split()) if h1.count() else ""

    def text(self) -> str:
        return " ".join(self.page.locator("body").inner_text().split())

    def errors(self) -> list[str]:
        """The error summary's messages, as a screen reader hears them first."""
        return [" ".join(t.split()) for t in
                self.page.locator(".govuk-error-summary__list li").all_inner_texts()]

    def field_value(self, label: Label) -> str:
        return str(self.page.get_by_label(label, exact=True).input_value())

    def code(self) -> str:
        """The authorization code the portal got; fails if the walk is not back there."""
        assert self.url.startswith(self.portal_callback), (self.url, self.heading(), self.errors())
        query = parse_qs(urlsplit(self.url).query)
        assert query.get("state") == ["state-123"], query
        return query["code"][0]
