"""Turn an OS Places Delivery Point Address (DPA) record into an ``Address``.

A DPA is Royal Mail's Postcode Address File entry as Ordnance Survey serves it, in
capitals and split into PAF's fields. Laid out the way Royal Mail's rules lay them out:

    ORGANISATION_NAME, DEPARTMENT_NAME  ->  line1 when present
    SUB_BUILDING_NAME, BUILDING_NAME    ->  "Flat 2, Rose House"
    BUILDING_NUMBER DEPENDENT_THOROUGHFARE_NAME, THOROUGHFARE_NAME
                                        ->  "105 Petworth Drive"
    DOUBLE_DEPENDENT_LOCALITY, DEPENDENT_LOCALITY
                                        ->  after the street
    POST_TOWN, POSTCODE                 ->  town, postcode (a DPA names no county)

The first of these parts becomes ``line1`` and the rest, joined by commas, ``line2``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from idp.address.model import Address
from idp.address.postcodes import normalise_postcode

# Short words that stay lower case inside a place or street name: Ashby-de-la-Zouch,
# Barrow upon Soar, Sutton in the Elms.
_PARTICLES = frozenset(
    {"and", "at", "by", "cum", "de", "en", "in", "la", "le", "of", "on", "the", "under", "upon"}
)
_WORD_SEPARATOR = re.compile(r"(\s+|-)")
_LETTERS = re.compile(r"[^\W\d_]+")
_ORDINAL = re.compile(r"(\d+)(ST|ND|RD|TH)", re.IGNORECASE)
# PAF keeps "12A" and "1-3" in BUILDING_NAME when the number has a suffix or is a range;
# Royal Mail prints them in front of the street like an ordinary number.
_NUMBER_LIKE = re.compile(r"\d+[A-Z]?(\s*-\s*\d+[A-Z]?)?", re.IGNORECASE)


def title_case(text: str) -> str:
    """Capitals as people write place names, not as str.title() does.

    >>> title_case("ASHBY-DE-LA-ZOUCH")
    'Ashby-de-la-Zouch'
    >>> title_case("FLAT 2A, ST JOHN'S COURT")
    "Flat 2A, St John's Court"
    """
    pieces = _WORD_SEPARATOR.split(text.strip())
    words = pieces[0::2]
    last = len(words) - 1
    for index, word in enumerate(words):
        inner = 0 < index < last
        words[index] = _title_word(word, may_be_particle=inner)
    pieces[0::2] = words
    return "".join(pieces)


def _title_word(word: str, *, may_be_particle: bool) -> str:
    lowered = word.lower()
    if may_be_particle and lowered in _PARTICLES:
        return lowered
    ordinal = _ORDINAL.fullmatch(word)
    if ordinal:
        return ordinal.group(1) + ordinal.group(2).lower()
    if any(character.isdigit() for character in word):
        # House and flat numbers with letters ("12A", "2B") read as codes, not words.
        return word.upper()
    result = []
    position = 0
    previous_run = ""
    for match in _LETTERS.finditer(lowered):
        run = match.group()
        before = lowered[position : match.start()]
        # After an apostrophe only a one-letter prefix (O'Neill, D'Arcy) takes a capital,
        # so possessives stay "John's".
        elided = before.endswith(("'", "\u2019")) and len(previous_run) != 1
        result.append(before + (run if elided else run[:1].upper() + run[1:]))
        position = match.end()
        previous_run = run
    result.append(lowered[position:])
    return "".join(result)


def address_from_dpa(dpa: Mapping[str, Any], postcode: str) -> Address | None:
    """The address in one DPA record; None when the record has nothing to deliver to.

    ``postcode`` (the one looked up) stands in when the record's own is missing.
    """

    def field(name: str) -> str:
        return " ".join(str(dpa.get(name) or "").split())

    number = field("BUILDING_NUMBER")
    building = field("BUILDING_NAME")
    if building and not number and _NUMBER_LIKE.fullmatch(building):
        number, building = building, ""
    sub_building = field("SUB_BUILDING_NAME")
    if sub_building and building and _NUMBER_LIKE.fullmatch(sub_building):
        premises = f"{sub_building.upper()} {title_case(building)}"
    else:
        premises = ", ".join(title_case(p) for p in (sub_building, building) if p)

    thoroughfares = [
        title_case(t) for t in (field("DEPENDENT_THOROUGHFARE_NAME"), field("THOROUGHFARE_NAME"))
    ]
    street = ", ".join(t for t in thoroughfares if t)
    if number and street:
        street = f"{number.upper()} {street}"
    elif number:
        # No street at all (a few rural delivery points): the number goes with the building.
        premises = f"{number.upper()} {premises}".strip()

    parts = [
        ", ".join(
            title_case(p) for p in (field("ORGANISATION_NAME"), field("DEPARTMENT_NAME")) if p
        ),
        f"PO Box {field('PO_BOX_NUMBER')}" if field("PO_BOX_NUMBER") else "",
        premises,
        street,
        title_case(field("DOUBLE_DEPENDENT_LOCALITY")),
        title_case(field("DEPENDENT_LOCALITY")),
    ]
    parts = [part for part in parts if part]
    if not parts:
        return None
    record_postcode = field("POSTCODE")
    return Address(
        line1=parts[0],
        line2=", ".join(parts[1:]),
        town=title_case(field("POST_TOWN")),
        county="",
        postcode=normalise_postcode(record_postcode) or record_postcode or postcode,
    )
