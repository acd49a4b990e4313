"""Phone numbers for a second factor: the "Country Code" list, parsing, mobile or landline.

parse_phone("GB", "07759 140004")  # -> ("+447759140004", "mobile"), None
parse_phone("GB", "0116 496 0000") # -> ("+441164960000", "landline"), None
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from babel import Locale
from phonenumbers import PhoneNumberType

from idp.journeys.context import N_

DEFAULT_REGION = "GB"
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@lru_cache(maxsize=1)
def country_codes() -> list[tuple[str, str]]:
    """(region, "United Kingdom (+44)") for every region, the United Kingdom first, then
    by name."""
    # Babel's territory names, not phonenumbers' geocoder: the geocoder loads every
    # place name it knows in every language, about 100 MB a worker (docs/performance.md).
    names = Locale("en").territories
    options = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        name = names.get(region, "")
        code = phonenumbers.country_code_for_region(region)
        options.append((region, f"{name or region} (+{code})"))
    options.sort(key=lambda o: (o[0] != DEFAULT_REGION, o[1]))
    return options


def parse_phone(region: str, number: str) -> tuple[tuple[str, str] | None, str | None]:
    """((E.164, "mobile" | "landline"), None), or (None, a message naming what to fix)."""
    if not number.strip():
        return None, N_("Enter your phone number")
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return None, N_("Select your country code")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return None, N_(
            "Enter a real phone number for the country code you chose, like 07400 123456"
        )
    kind = "mobile" if phonenumbers.number_type(parsed) in _MOBILE_TYPES else "landline"
    return (phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), kind), None


def phone_type(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "landline"
    return "mobile" if phonenumbers.number_type(parsed) in _MOBILE_TYPES else "landline"


def masked(e164: str) -> str:
    """How a number is shown on a code page: enough to recognise, not to read out."""
    digits = e164.lstrip("+")
    if e164.startswith("+44"):
        national = "0" + digits[2:]
        return f"{national[:2]}*** ***{national[-3:]}"
    return f"+{digits[:2]}*** ***{digits[-3:]}"


def masked_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
