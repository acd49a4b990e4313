"""axe-core on a page in the browser: WCAG 2.2 AA rules only, violations as readable lines.

Gatehouse sends a strict Content-Security-Policy (a nonce, no inline script); axe goes in
through the DevTools protocol, which the policy does not govern, so the pages are tested
under their real policy.

    violations = run_axe(page)               # [] on an accessible page
    problems = [v for v in violations if not allowed(v)]

``KNOWN`` lists violations found and reported but not fixed yet: each is allowed where it
was found (rule, page and element) and nowhere else, so a new one still fails the walk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0, 2.1 and 2.2, levels A and AA (2.2 adds no level A rule that axe checks).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    rule: v.id, impact: v.impact, help: v.help, help_url: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html,
                              summary: n.failureSummary || ""})),
  }));
}"""


@dataclass(frozen=True)
class Violation:
    """One element breaking one axe rule on one page."""

    rule: str
    impact: str
    help: str
    target: str
    html: str
    summary: str
    url: str
    heading: str

    def describe(self) -> str:
        return (f"{self.rule} ({self.impact}): {self.help}\n"
                f"    page:    {self.heading!r} at {self.url}\n"
                f"    element: {self.target}  {self.html[:160]}\n"
                f"    {self.summary.replace(chr(10), chr(10) + '    ')}")


@dataclass
class Known:
    """A violation reported and not fixed yet: ``rule`` on pages whose heading matches
    ``heading`` (a regular expression), on elements whose selector matches ``target``."""

    rule: str
    heading: str
    target: str
    reason: str
    seen: list[Violation] = field(default_factory=list)

    def matches(self, violation: Violation) -> bool:
        return (violation.rule == self.rule
                and re.search(self.heading, violation.heading) is not None
                and re.search(self.target, violation.target) is not None)


#: Violations reported for fixing in templates/; remove an entry once its fix lands (the
#: session summary lists entries that no walk met any more).
KNOWN: list[Known] = []

#: Faults behind a page (failed loads, console errors) reported and not fixed yet:
#: regular expression -> why it is allowed for now.
KNOWN_FAULTS: dict[str, str] = {}
KNOWN_FAULTS_SEEN: set[str] = set()


@cache
def axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def run_axe(page: Any) -> list[Violation]:
    """Every WCAG 2.2 AA violation on the page now showing, one per element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy
        # does not govern: a <script> tag would be refused (no nonce), and a context made
        # with bypass_csp would no longer test the real policy.
        page.evaluate(axe_source())
    heading = page.locator("h1").first.inner_text() if page.locator("h1").count() else ""
    found: list[dict[str, Any]] = page.evaluate(_RUN, WCAG_TAGS)
    return [
        Violation(v["rule"], v["impact"] or "", v["help"], node["target"], node["html"],
                  node["summary"], page.url, " ".join(heading.split()))
        for v in found
        for node in v["nodes"]
    ]


def known_fault(fault: str) -> bool:
    for pattern in KNOWN_FAULTS:
        if re.search(pattern, fault):
            KNOWN_FAULTS_SEEN.add(pattern)
            return True
    return False


def known_entry(violation: Violation) -> Known | None:
    """The KNOWN entry that allows this violation, if any (and note that it was met)."""
    for known in KNOWN:
        if known.matches(violation):
            known.seen.append(violation)
            return known
    return None
