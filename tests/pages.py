"""Walk journey pages over HTTP the way a person does: read the page, fill fields by
their labels, press buttons by their words. No JavaScript, as a page must work without it.

    visitor = Visitor(client)               # a Flask test client or a requests.Session
    visitor.open("/authorize?...")
    visitor.press("Sign up now")
    visitor.press("Send verification code", {"Email address": "jenny@example.com"})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit


@dataclass
class Control:
    tag: str
    name: str
    type: str
    value: str
    id: str
    checked: bool = False
    text: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Form:
    action: str
    controls: list[Control] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.labels: dict[str, str] = {}  # id -> label text
        self.text: list[str] = []
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self._button: Control | None = None
        self._select: Control | None = None
        self._option: str | None = None
        self._option_text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self.forms.append(Form(a.get("action", "")))
        elif tag == "label":
            self._label_for, self._label_text = a.get("for"), []
        elif tag == "input" and self.forms:
            self.forms[-1].controls.append(
                Control(
                    "input",
                    a.get("name", ""),
                    a.get("type", "text"),
                    a.get("value", ""),
                    a.get("id", ""),
                    "checked" in a,
                )
            )
        elif tag == "button" and self.forms:
            self._button = Control(
                "button",
                a.get("name", ""),
                a.get("type", "submit"),
                a.get("value", ""),
                a.get("id", ""),
            )
        elif tag == "select" and self.forms:
            self._select = Control("select", a.get("name", ""), "select", "", a.get("id", ""))
        elif tag == "option" and self._select is not None:
            self._option, self._option_text = a.get("value", ""), []
            if "selected" in a:
                self._select.value = self._option

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "label" and self._label_for:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split())
            self._label_for = None
        elif tag == "button" and self._button is not None:
            self._button.text = " ".join(self._button.text.split())
            self.forms[-1].controls.append(self._button)
            self._button = None
        elif tag == "option" and self._select is not None and self._option is not None:
            self._select.options.append(
                (self._option, " ".join("".join(self._option_text).split()))
            )
            self._option = None
        elif tag == "select" and self._select is not None:
            self.forms[-1].controls.append(self._select)
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._label_for is not None:
            self._label_text.append(data)
        if self._button is not None:
            self._button.text += data
        if self._option is not None:
            self._option_text.append(data)


class Visitor:
    """One person's browser without JavaScript: cookies, redirects, forms."""

    def __init__(self, client: Any, base_url: str | None = None) -> None:
        self.client = client
        if base_url is None:
            # A Flask test client answers for the app's own public URL (emailed links).
            app = getattr(client, "application", None)
            base_url = app.extensions["idp"].settings["server.base_url"] if app else ""
        self.base_url = base_url or "http://localhost"
        self.url = ""
        self.status = 0
        self.html = ""
        self.redirects: list[str] = []

    # -- transport -------------------------------------------------------------------------
    def _request(
        self, method: str, url: str, data: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        if hasattr(self.client, "application"):  # Flask test client
            path = urlsplit(url).path + (("?" + urlsplit(url).query) if urlsplit(url).query else "")
            response = self.client.open(path, method=method, data=data)
            return response.status_code, dict(response.headers), response.get_data(as_text=True)
        response = self.client.request(method, url, data=data, allow_redirects=False, timeout=30)
        return response.status_code, dict(response.headers), response.text

    def _go(self, method: str, url: str, data: dict[str, str] | None = None) -> Visitor:
        url = urljoin(self.base_url + "/", url) if not url.startswith("http") else url
        self.redirects = []
        for _ in range(10):
            status, headers, body = self._request(method, url, data)
            location = headers.get("Location")
            if status in (301, 302, 303, 307) and location:
                target = urljoin(url, location)
                if not target.startswith(self.base_url):
                    # Leaving Gatehouse (back to the portal): stop and report where.
                    self.url, self.status, self.html = target, status, body
                    self.redirects.append(target)
                    return self
                self.redirects.append(target)
                method, url, data = "GET", target, None
                continue
            self.url, self.status, self.html = url, status, body
            self.check_errors()
            return self
        raise AssertionError(f"too many redirects from {url}")

    def open(self, url: str) -> Visitor:
        return self._go("GET", url)

    # -- reading -----------------------------------------------------------------------
    def _parse(self) -> _Parser:
        parser = _Parser()
        parser.feed(self.html)
        return parser

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._parse().text).split())

    def heading(self) -> str:
        start = self.html.find("<h1")
        end = self.html.find("</h1>", start)
        inner = self.html[self.html.find(">", start) + 1 : end]
        return " ".join(inner.split())

    def errors(self) -> list[str]:
        """The error summary's messages, in order."""
        summary = self.html.find("govuk-error-summary__list")
        if summary < 0:
            return []
        end = self.html.find("</ul>", summary)
        chunk = self.html[summary:end]
        parser = _Parser()
        parser.feed(chunk.split(">", 1)[1])
        return [t.strip() for t in parser.text if t.strip()]

    def check_errors(self) -> None:
        """Every message in the error summary links to its field, and the same message
        stands beside that field (GOV.UK's error pattern), so the check runs on every page
        a test sees."""
        import re

        for href, _text in re.findall(
            r'<a href="#([^"]+)"[^>]*>([^<]*)</a>', self._summary_html()
        ):
            assert f'id="{href}"' in self.html, f"the error summary links to a missing #{href}"
            owner = href.removesuffix("-day").removesuffix("-month").removesuffix("-year")
            assert f'id="{owner}-error"' in self.html, f"no inline error beside #{href}"

    def _summary_html(self) -> str:
        start = self.html.find("govuk-error-summary__list")
        return "" if start < 0 else self.html[start : self.html.find("</ul>", start)]

    def buttons(self) -> list[str]:
        return [c.text for f in self._parse().forms for c in f.controls if c.tag == "button"]

    def field_value(self, label: str) -> str:
        parser = self._parse()
        control = self._control(parser, label)
        return control.value

    def _control(self, parser: _Parser, label: str) -> Control:
        ids = [
            i for i, text in parser.labels.items() if text == label or text.startswith(label + " (")
        ]
        for form in parser.forms:
            for control in form.controls:
                if control.id and control.id in ids:
                    return control
        known = sorted(set(parser.labels.values()))
        raise AssertionError(f"no field labelled {label!r}; labels: {known}")

    # -- acting ------------------------------------------------------------------------
    def press(
        self,
        button: str,
        fill: dict[str, str | bool] | None = None,
        choose: dict[str, str] | None = None,
    ) -> Visitor:
        """Fill fields by label (True/False ticks a checkbox), choose options by their
        words, and press the button with these words."""
        parser = self._parse()
        for form in parser.forms:
            pressed = [c for c in form.controls if c.tag == "button" and c.text == button]
            if pressed:
                break
        else:
            raise AssertionError(f"no button {button!r} on {self.url}; buttons: {self.buttons()}")
        for label, value in (fill or {}).items():
            control = self._control(parser, label)
            if control.type == "radio":
                for other in form.controls:
                    if other.type == "radio" and other.name == control.name:
                        other.checked = False
                control.checked = bool(value)
            elif control.type == "checkbox":
                control.checked = bool(value)
            else:
                control.value = str(value)
        for label, wanted in (choose or {}).items():
            control = self._control(parser, label)
            matches = [v for v, text in control.options if wanted in text]
            assert matches, f"no option {wanted!r} in {control.options}"
            control.value = matches[0]
        data: dict[str, str] = {}
        for control in form.controls:
            if control.tag == "button" or not control.name:
                continue
            if control.type in ("checkbox", "radio") and not control.checked:
                continue
            data[control.name] = control.value
        if pressed[0].name:
            data[pressed[0].name] = pressed[0].value
        return self._go("POST", urljoin(self.url, form.action), data)
