"""Languages: English ships, a second catalogue changes the pages, and messages that steps
format before a view sees them are translated through the template they came from."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import render_template_string

from idp.config import PROJECT_ROOT, ConfigError
from idp.i18n import TRANSLATIONS, MessageTemplate, message_templates, translate_message
from idp.journeys.fields import check_text
from tests.conftest import build_app
from tests.test_seed_journeys import start

SIGNIN = "B2C_1_signin"

#: A few Welsh entries: page text, a label, an exact message and formatted ones.
WELSH = {
    "Sign in": "Mewngofnodi",
    "Email address": "Cyfeiriad e-bost",
    "Password": "Cyfrinair",
    "There is a problem": "Mae problem",
    "Enter your email address": "Rhowch eich cyfeiriad e-bost",
    "Enter your password": "Rhowch eich cyfrinair",
    "Mobile number": "Rhif ffôn symudol",
    "Enter your {label}": "Rhowch eich {label}",
    "Wait {n} seconds, then select 'Send a new code'": (
        "Arhoswch {n} eiliad, yna dewiswch 'Anfon cod newydd'"
    ),
    "Your security code is {code}. It works for {minutes}.": (
        "Eich cod diogelwch yw {code}. Mae'n gweithio am {minutes}."
    ),
    "{n} minutes": "{n} munud",
    # A translator's slip: a placeholder the English does not have.
    "{n} seconds": "{eiliadau} eiliad",
}


def write_catalogue(folder: Path, locale: str, entries: dict[str, str]) -> Path:
    """``folder/LOCALE/LC_MESSAGES/messages.mo``, as `pybabel compile` would write it."""
    catalog = Catalog(locale=locale)
    for english, translated in entries.items():
        catalog.add(english, translated)
    target = folder / locale / "LC_MESSAGES" / "messages.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as handle:
        write_mo(handle, catalog)
    return folder


@pytest.fixture
def welsh_catalogue(tmp_path: Path) -> Path:
    return write_catalogue(tmp_path / "translations", "cy", WELSH)


@pytest.fixture
def app(settings: dict[str, Any], clock: Any, welsh_catalogue: Path) -> Any:
    """A deployment offering English and Welsh, with its Welsh catalogue in its own folder."""
    return build_app(
        {**settings, "i18n.locales": "en,cy", "i18n.translations_path": str(welsh_catalogue)},
        clock,
    )


def browser(app: Any, accept_language: str | None) -> Any:
    client = app.test_client()
    if accept_language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return client


# -- choosing the language ---------------------------------------------------------------


def test_a_browser_that_prefers_welsh_gets_the_sign_in_page_in_welsh(app: Any) -> None:
    visitor, _ = start(browser(app, "cy"), SIGNIN)
    assert visitor.heading() == "Mewngofnodi"  # the policy's heading
    assert visitor.field_value("Cyfeiriad e-bost") == ""
    assert visitor.field_value("Cyfrinair") == ""
    assert "Mewngofnodi" in visitor.buttons()
    assert "Email address" not in visitor.text


def test_errors_on_a_welsh_page_are_in_welsh(app: Any) -> None:
    visitor, _ = start(browser(app, "cy"), SIGNIN)
    visitor.press("Mewngofnodi")
    assert "Mae problem" in visitor.text
    assert visitor.errors() == ["Rhowch eich cyfeiriad e-bost", "Rhowch eich cyfrinair"]


def test_english_is_the_language_when_the_browser_names_none(app: Any) -> None:
    visitor, _ = start(browser(app, None), SIGNIN)
    assert visitor.heading() == "Sign in"
    assert visitor.field_value("Email address") == ""


@pytest.mark.parametrize("accept_language", ["fr", "de-DE, fr;q=0.8", "*", "not a tag"])
def test_a_language_that_is_not_offered_falls_back_to_english(
    app: Any, accept_language: str
) -> None:
    visitor, _ = start(browser(app, accept_language), SIGNIN)
    assert visitor.heading() == "Sign in"


@pytest.mark.parametrize("accept_language", ["cy-GB", "fr, cy;q=0.5", "en;q=0.3, cy"])
def test_the_best_offered_match_of_accept_language_wins(app: Any, accept_language: str) -> None:
    visitor, _ = start(browser(app, accept_language), SIGNIN)
    assert visitor.heading() == "Mewngofnodi"


def test_a_catalogue_is_not_used_unless_its_language_is_offered(
    settings: dict[str, Any], clock: Any, welsh_catalogue: Path
) -> None:
    app = build_app({**settings, "i18n.translations_path": str(welsh_catalogue)}, clock)
    visitor, _ = start(browser(app, "cy"), SIGNIN)
    assert visitor.heading() == "Sign in"


def test_each_deployment_in_a_process_reads_its_own_catalogues(
    settings: dict[str, Any], clock: Any, tmp_path: Path
) -> None:
    headings = {}
    for word in ("Mewngofnodi", "Mewngofnodwch"):
        folder = write_catalogue(tmp_path / word, "cy", {"Sign in": word})
        app = build_app(
            {**settings, "i18n.locales": "cy", "i18n.translations_path": str(folder)}, clock
        )
        visitor, _ = start(browser(app, "cy"), SIGNIN)
        headings[word] = visitor.heading()
    assert headings == {"Mewngofnodi": "Mewngofnodi", "Mewngofnodwch": "Mewngofnodwch"}


def test_an_offered_language_without_a_catalogue_stops_start_up(
    settings: dict[str, Any], clock: Any
) -> None:
    with pytest.raises(ConfigError, match="offers 'cy'"):
        build_app({**settings, "i18n.locales": "en,cy"}, clock)


def test_a_locale_code_that_is_not_one_stops_start_up(settings: dict[str, Any], clock: Any) -> None:
    with pytest.raises(ConfigError, match="not a locale code"):
        build_app({**settings, "i18n.locales": "en,english"}, clock)


# -- messages formatted before translation ----------------------------------------------


@pytest.mark.parametrize(
    ("english", "welsh"),
    [
        # A step's own entry: exact.
        ("Enter your email address", "Rhowch eich cyfeiriad e-bost"),
        # Formatted by the step: the template's translation, filled again.
        (
            "Wait 17 seconds, then select 'Send a new code'",
            "Arhoswch 17 eiliad, yna dewiswch 'Anfon cod newydd'",
        ),
        # The captured label is an entry too, lower-cased as the step lower-cased it.
        (check_text("", "Mobile number", True, 100), "Rhowch eich rhif ffôn symudol"),
        # A captured value that is itself a formatted message ("5 minutes").
        (
            "Your security code is 123456. It works for 5 minutes.",
            "Eich cod diogelwch yw 123456. Mae'n gweithio am 5 munud.",
        ),
    ],
)
def test_a_formatted_message_is_translated_through_its_template(
    app: Any, english: str, welsh: str
) -> None:
    with app.test_request_context(headers={"Accept-Language": "cy"}):
        assert translate_message(english) == welsh
    with app.test_request_context():
        assert translate_message(english) == english


def test_every_template_round_trips_in_english(app: Any) -> None:
    with app.test_request_context():
        for template in message_templates():
            names = template.pattern.groupindex
            english = template.text.format(**{name: "7" for name in names})
            assert translate_message(english) == english


def test_text_that_matches_nothing_comes_back_unchanged(app: Any) -> None:
    with app.test_request_context(headers={"Accept-Language": "cy"}):
        assert translate_message("Something no step says") == "Something no step says"
        assert translate_message("") == ""
        assert translate_message(None) == ""


def test_a_translation_with_a_placeholder_the_english_lacks_keeps_the_english(app: Any) -> None:
    with app.test_request_context(headers={"Accept-Language": "cy"}):
        assert translate_message("30 seconds") == "30 seconds"


def test_the_filter_escapes_what_the_person_typed(app: Any) -> None:
    message = (
        "We could not find any addresses for <b>LE3</b>. Check the postcode, or select "
        "'Enter address manually'"
    )
    with app.test_request_context():
        html = render_template_string("{{ m|translate_message }}", m=message)
    assert "&lt;b&gt;LE3&lt;/b&gt;" in html


def test_a_percent_sign_in_a_message_does_not_break_the_page(app: Any) -> None:
    message = (
        "Password must have at least 3 of: a lowercase letter, an uppercase letter, a digit, "
        "a symbol (for example £ $ %). Add 2 of: an uppercase letter, a digit, a symbol"
    )
    with app.test_request_context(headers={"Accept-Language": "cy"}):
        assert render_template_string("{{ m|translate_message }}", m=message) == message


def test_the_templates_are_the_marked_texts_with_placeholders() -> None:
    texts = {t.text for t in message_templates()}
    assert "Enter your {label}" in texts
    assert "Wait {n} seconds, then select 'Resend activation email'" in texts
    assert "Enter your email address" not in texts  # no placeholder: translated exactly


@pytest.mark.parametrize(
    ("text", "matches", "values"),
    [
        ("{label} must be {n} characters or fewer", "Surname must be 100 characters or fewer",
         {"label": "Surname", "n": "100"}),
        ("{a} and {a}", "x and x", {"a": "x"}),
        ("{a} and {a}", "x and y", None),
    ],
)
def test_a_template_captures_what_filled_it(
    text: str, matches: str, values: dict[str, str] | None
) -> None:
    template = MessageTemplate.compile(text)
    assert template is not None
    match = template.pattern.fullmatch(matches)
    assert (match.groupdict() if match else None) == values


@pytest.mark.parametrize("text", ["No placeholder", "{} seconds", "{0} seconds", "{a.b} left"])
def test_text_that_cannot_be_filled_again_by_name_is_not_a_template(text: str) -> None:
    assert MessageTemplate.compile(text) is None


# -- the shipped catalogues ---------------------------------------------------------------


def _messages(catalog: Catalog) -> dict[Any, Any]:
    def key(value: Any) -> Any:  # plural entries are lists of forms
        return tuple(value) if isinstance(value, list | tuple) else value

    def translated(message: Any) -> bool:
        # An untranslated plural compiles to its source forms; either way, nothing to check.
        string = key(message.string)
        filled = any(string) if isinstance(string, tuple) else bool(string)
        return filled and string != key(message.id)

    return {key(m.id): key(m.string) for m in catalog if m.id and translated(m)}


def test_the_template_lists_every_text_the_code_policies_and_pages_mark() -> None:
    with (PROJECT_ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    marked = {
        message
        for folder in ("idp", "templates", "policies")
        for _file, _line, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT / folder, method_map, options_map
        )
    }
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        listed = {m.id for m in read_po(handle) if m.id}
    missing = sorted(str(m) for m in marked - listed)
    assert not missing, (
        "idp/translations/messages.pot is out of date; run the pybabel extract command in "
        f"babel.cfg. Missing: {missing[:5]}"
    )


def test_english_ships_compiled() -> None:
    assert (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo").is_file()


@pytest.mark.parametrize("po", sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")),
                         ids=lambda p: p.parent.parent.name)
def test_each_shipped_catalogue_is_compiled_from_its_po_file(po: Path) -> None:
    with po.open("rb") as handle:
        source = read_po(handle)
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = read_mo(io.BytesIO(handle.read()))
    assert _messages(compiled) == _messages(source), (
        f"{po.with_suffix('.mo')} is stale: run .venv/bin/pybabel compile -d idp/translations"
    )
