"""Languages: Flask-Babel set up from the ``[i18n]`` settings, and a translation for the
messages that steps format before any view sees them.

Page text is English in the code, marked for translation: ``_()`` in templates, and
``N_()`` in steps, which import nothing from Flask and so only mark. A step that fills a
placeholder hands the view finished English that no catalogue entry matches::

    N_("Enter your {label}").format(label="mobile number")  # "Enter your mobile number"

``translate_message`` undoes that: it finds the marked text the message was made from,
translates it, and fills it again with the values it captured, each translated too when
it is itself a catalogue entry (a field's label, lower-cased as the step lower-cased it)::

    translate_message("Enter your mobile number")
    # English: "Enter your mobile number"; Welsh: "Rhowch eich rhif ffôn symudol"

Templates use it as a filter, ``{{ message|translate_message }}``.

Catalogues live in ``idp/translations/LOCALE/LC_MESSAGES/messages.po``; the compiled
``.mo`` files are committed, so a fresh clone needs no build step. After changing page
text, from the project directory::

    .venv/bin/pybabel extract -F babel.cfg -o idp/translations/messages.pot \\
        idp templates policies
    .venv/bin/pybabel update -i idp/translations/messages.pot -d idp/translations
    .venv/bin/pybabel compile -d idp/translations
"""

from __future__ import annotations

import ast
import re
import string
import tomllib
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, has_request_context, request
from flask_babel import Domain, get_locale, get_translations

from idp.config import ConfigError, resolve_path
from idp.extensions import babel

PACKAGE = Path(__file__).resolve().parent
#: The shipped catalogues (English, the source language, and any contributed ones).
TRANSLATIONS = PACKAGE / "translations"
DOMAIN = "messages"
#: The step settings in policy files that are page text (``labels`` is a table of them).
POLICY_TEXT_SETTINGS = ("heading", "intro", "button")
#: The name steps mark text with (idp.journeys.context.N_).
MARKER = "N_"


# -- set-up ------------------------------------------------------------------------------


def offered_locales(settings: dict[str, Any]) -> list[str]:
    """The locale codes pages are offered in, the default first; a bad code stops start-up."""
    default = settings["i18n.default_locale"].strip()
    codes = [default] + [c.strip() for c in settings["i18n.locales"].split(",") if c.strip()]
    offered: list[str] = []
    for code in codes:
        try:
            # Babel spells regional locales en_GB; Accept-Language and settings say en-GB.
            name = str(Locale.parse(code.replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            raise ConfigError(
                f"i18n.locales or i18n.default_locale: {code!r} is not a locale code, "
                "e.g. en or cy"
            ) from None
        if name not in offered:
            offered.append(name)
    return offered


def translation_directories(settings: dict[str, Any]) -> list[str]:
    """The shipped catalogues, then the deployment's, whose entries win (later merge over)."""
    folders = [str(TRANSLATIONS)]
    if settings["i18n.translations_path"]:
        folders.append(str(resolve_path(settings["i18n.translations_path"])))
    return folders


def _check_catalogues(offered: list[str], folders: list[str]) -> None:
    # An offered language without a catalogue would silently be English: say so at start-up.
    # gettext falls back from en_GB to en, so either catalogue serves en_GB.
    for code in offered:
        names = dict.fromkeys([code, code.split("_", 1)[0]])
        wanted = [Path(name) / "LC_MESSAGES" / f"{DOMAIN}.mo" for name in names]
        if not any((Path(folder) / path).is_file() for folder in folders for path in wanted):
            raise ConfigError(
                f"i18n.locales offers {code!r} but no folder has {wanted[-1]}: "
                f"looked in {', '.join(folders)} (set i18n.translations_path)"
            )


class _AppDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, caching catalogues per application, not per process.

    The stock domain lives on the one shared ``Babel`` instance, so two applications in a
    process (tests, each with its own i18n.translations_path) would share loaded catalogues.
    """

    def get_translations_cache(self, ctx: Any) -> dict[tuple[str, str], Any]:
        cache: dict[tuple[str, str], Any] = current_app.extensions["idp.translations"]
        return cache


def init_app(app: Flask, settings: dict[str, Any]) -> None:
    """Attach Flask-Babel: catalogues from ``translation_directories``, each request's
    language the best match of its Accept-Language among ``offered_locales``."""
    offered = offered_locales(settings)
    folders = translation_directories(settings)
    _check_catalogues(offered, folders)

    def choose_locale() -> str | None:
        if not has_request_context():
            return None  # Flask-Babel then uses the default
        return request.accept_languages.best_match(offered)

    babel.init_app(
        app,
        default_locale=offered[0],
        default_domain=DOMAIN,
        default_translation_directories=";".join(folders),
        locale_selector=choose_locale,
    )
    app.extensions["idp.translations"] = {}
    babel.domain_instance = _AppDomain(domain=DOMAIN)
    app.jinja_env.filters["translate_message"] = translate_message
    app.jinja_env.globals["translate_message"] = translate_message
    app.jinja_env.globals["page_language"] = page_language


def page_language() -> str:
    """The request's language as a BCP 47 tag for ``<html lang>``: "en", "cy", "en-GB"."""
    locale = get_locale()
    return str(locale).replace("_", "-") if locale else "en"


# -- messages formatted before translation -------------------------------------------


@dataclass(frozen=True)
class MessageTemplate:
    """A marked text with ``{name}`` placeholders, and a pattern that recognises its output."""

    text: str
    pattern: re.Pattern[str]

    @classmethod
    def compile(cls, text: str) -> MessageTemplate | None:
        """The template for ``text``; None when it has no placeholders or ones that cannot
        be filled again by name (``{}``, ``{0}``, ``{user.name}``)."""
        pattern = ""
        seen: set[str] = set()
        for literal, name, _spec, _conversion in string.Formatter().parse(text):
            pattern += re.escape(literal)
            if name is None:
                continue
            if not name.isidentifier():
                return None
            pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
            seen.add(name)
        return cls(text, re.compile(pattern, re.DOTALL)) if seen else None


def marked_texts(root: Path = PACKAGE) -> Iterator[str]:
    """Every text marked with ``N_("...")`` in the Python modules under ``root``."""
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _called_name(node.func) == MARKER
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.args[0].value


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


@cache
def message_templates() -> tuple[MessageTemplate, ...]:
    """The marked texts with placeholders, found once by reading the idp package's source;
    the most literal text first, so the most specific template wins."""
    found = {t.text: t for t in map(MessageTemplate.compile, marked_texts()) if t}
    literal = {text: len(re.sub(r"\{[^{}]*\}", "", text)) for text in found}
    return tuple(sorted(found.values(), key=lambda t: -literal[t.text]))


def translate_message(text: Any) -> str:
    """``text`` in the request's language: its own catalogue entry if it has one, else the
    translation of the marked template it was formatted from, filled with its values.

    Text that matches nothing comes back unchanged. The result is plain text, so a template
    escapes it (unlike ``_(message)``, which marks it safe and %-formats it).
    """
    if not text:
        return ""
    return _translate(str(text), get_translations(), depth=0)


def _translate(text: str, translations: Any, depth: int) -> str:
    exact: str = translations.ugettext(text)
    if exact != text:
        return exact
    lowered = _lowered_entries(translations).get(text)
    if lowered is not None:  # a label the step lower-cased: "mobile number"
        return str(translations.ugettext(lowered)).lower()
    if depth > 1:  # a message, and a value filling it ("5 minutes"), may be formatted
        return text
    for template in message_templates():
        match = template.pattern.fullmatch(text)
        if match is None:
            continue
        values = {
            name: _translate(value, translations, depth + 1)
            for name, value in match.groupdict().items()
        }
        try:
            return str(translations.ugettext(template.text)).format(**values)
        except (KeyError, IndexError, ValueError):
            # A translation with a placeholder the English does not have: keep the English.
            return text
    return text


_LOWERED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def _lowered_entries(translations: Any) -> dict[str, str]:
    """The catalogue's entries by their lower-cased text, for labels a step lower-cased."""
    index = _LOWERED.get(translations)
    if index is None:
        # gettext keeps a catalogue's entries in _catalog (babel's merge() relies on it
        # too); plural entries are keyed by (msgid, n) and are not labels.
        index = {}
        for msgid in getattr(translations, "_catalog", {}):
            if isinstance(msgid, str) and msgid and msgid.lower() != msgid:
                index.setdefault(msgid.lower(), msgid)
        _LOWERED[translations] = index
    return index


# -- extraction (pybabel extract, through babel.cfg) ------------------------------------


def policy_texts(data: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """The page text in one policy file's data: (text, its TOML key, where it is used)."""
    for step in data.get("steps", []):
        settings = step.get("settings", {})
        where = f"{data.get('id', '?')}, step {step.get('id', '?')}"
        for name in POLICY_TEXT_SETTINGS:
            if isinstance(settings.get(name), str) and settings[name]:
                yield settings[name], name, f"{where}: {name}"
        for field, label in (settings.get("labels") or {}).items():
            if isinstance(label, str) and label:
                yield label, field, f"{where}: label of {field}"


def extract_policy_text(
    fileobj: IO[bytes], keywords: Iterable[str], comment_tags: Iterable[str], options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """A Babel extraction method for policy files: headings, intros, buttons and labels,
    which templates translate with ``_(settings.heading)`` and the like. babel.cfg::

        [extractors]
        policy = idp.i18n:extract_policy_text

        [policy: **.toml]
    """
    raw = fileobj.read().decode("utf-8")
    for text, key, where in policy_texts(tomllib.loads(raw)):
        # TOML keeps no line numbers: the first line setting this key to this text.
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        found = re.search(rf'^[^#\n]*\b{re.escape(key)}\s*=\s*"{re.escape(quoted)}"', raw, re.M)
        lineno = raw.count("\n", 0, found.start()) + 1 if found else 1
        yield lineno, None, text, [where]
