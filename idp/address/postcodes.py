"""UK postcodes: tidy what a person typed into the form Royal Mail prints.

A postcode is an outward code (area and district: ``LE3``, ``LE11``, ``SW1A``) and an
inward code (sector and unit: ``9RE``). People type them in any case and with any spacing,
so the spaces are dropped and the inward code is always the last three characters.
"""

from __future__ import annotations

import re

# The letter rules of the UK Government Data Standards Catalogue pattern: the area never
# starts with Q, V or X, its second letter is never I, J or Z, the optional letter after
# the district is limited by position, and the unit letters never use C, I, K, M, O or V
# (they look like digits or other letters when handwritten).
_OUTWARD = re.compile(
    r"""
    [A-PR-UWYZ] (?:
        [0-9] [0-9]?                      # A9, A99          (L1, M60)
      | [A-HK-Y] [0-9] [0-9]?             # AA9, AA99        (LE3, LE11)
      | [0-9] [A-HJKPSTUW]                # A9A              (W1A)
      | [A-HK-Y] [0-9] [ABEHMNPRV-Y]      # AA9A             (SW1A, EC1V)
    )
    """,
    re.VERBOSE,
)
_INWARD = re.compile(r"[0-9][ABD-HJLNP-UW-Z]{2}")
# Girobank's postcode predates the rules and is still in use.
_GIROBANK = "GIR0AA"


def normalise_postcode(text: str) -> str | None:
    """The postcode in capitals with one space before the inward code, or None.

    None means the text cannot be a UK postcode, whatever its spacing::

        >>> normalise_postcode(" le39re ")
        'LE3 9RE'
        >>> normalise_postcode("LE3") is None
        True
    """
    compact = "".join(text.split()).upper()
    if compact == _GIROBANK:
        return "GIR 0AA"
    if not 5 <= len(compact) <= 7:
        return None
    outward, inward = compact[:-3], compact[-3:]
    if not (_OUTWARD.fullmatch(outward) and _INWARD.fullmatch(inward)):
        return None
    return f"{outward} {inward}"
