"""The checker itself: axe runs in the page and reports what a broken page breaks, so a
clean walk means clean pages, not a checker that never ran."""

from __future__ import annotations

from tests.browser.accessibility import run_axe
from tests.browser.walk import Walk

BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
<h1>Broken</h1><input type="text" name="unlabelled"><img src="data:," width="10" height="10">
<p style="color:#bbb;background:#fff">Pale words on white</p></main></body></html>"""


def test_axe_reports_a_field_without_a_label_an_image_without_words_and_pale_text(
    walk: Walk,
) -> None:
    walk.page.set_content(BROKEN)
    violations = run_axe(walk.page)
    assert {v.rule for v in violations} == {"label", "image-alt", "color-contrast"}
    label = next(v for v in violations if v.rule == "label")
    assert label.target == "input" and label.heading == "Broken"
    assert "page:    'Broken'" in label.describe()
