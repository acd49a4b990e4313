"""The questions a form step can ask: a fixed registry of fields, each a claim or more.

A policy lists them by name (``fields = ["given_name", "family_name", "password"]``); the
field knows its label, its input, how to judge an answer and which claim it fills. Labels
can be renamed per step (``labels = { given_name = "Forename" }``) so pages use the words
of the guide people already have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers

from idp.journeys.context import N_
from idp.validation import is_email_address


@dataclass(frozen=True)
class Field:
    """One question. ``kind`` picks the input and the checks: text, email, tel, date,
    password (entered twice), address (postcode lookup) or consent (a checkbox)."""

    name: str
    label: str
    kind: str
    autocomplete: str | None = None
    #: GOV.UK input width class suffix, e.g. "10" for govuk-input--width-10.
    width: str | None = None
    max_length: int = 100


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("email", N_("Email address"), "email", "email", max_length=320),
        Field("password", N_("Password"), "password", "new-password", max_length=256),
        Field("title", N_("Title"), "text", "honorific-prefix", width="5", max_length=20),
        Field("given_name", N_("Given name"), "text", "given-name"),
        Field("middle_name", N_("Middle name"), "text", "additional-name"),
        Field("family_name", N_("Surname"), "text", "family-name"),
        Field("birthdate", N_("Date of birth"), "date", "bday"),
        Field("phone_number", N_("Mobile number"), "tel", "tel", width="20"),
        Field("daytime_phone", N_("Daytime number"), "tel", "tel", width="20"),
        Field("evening_phone", N_("Evening number"), "tel", "tel", width="20"),
        Field("address", N_("Address"), "address"),
        Field("privacy_consent", N_("I agree to the privacy policy"), "consent"),
    )
}
#: Fields that are not claims of the account (the password is a credential; consent is
#: recorded with its version in its own table).
NOT_CLAIMS = frozenset({"password", "privacy_consent"})


def unknown_fields(names: list[str]) -> str | None:
    """A complaint naming the first unknown field, or None."""
    for name in names:
        if not isinstance(name, str) or name not in FIELDS:
            return f"has unknown field {name!r}; known: {', '.join(FIELDS)}"
    return None


def check_text(value: str, label: str, required: bool, max_length: int) -> str | None:
    if not value:
        return N_("Enter your {label}").format(label=label.lower()) if required else None
    if len(value) > max_length:
        return N_("{label} must be {n} characters or fewer").format(label=label, n=max_length)
    if any(ord(c) < 32 for c in value):
        return N_("{label} must not contain control characters").format(label=label)
    return None


def check_email(value: str, label: str, required: bool) -> str | None:
    if not value:
        return N_("Enter your email address") if required else None
    if not is_email_address(value):
        return N_("Enter an email address in the correct format, like name@example.com")
    return None


def parse_phone(value: str, label: str, required: bool) -> tuple[str | None, str | None]:
    """A UK-first phone number as E.164 (+447700900123), or the message saying what to fix."""
    if not value:
        return None, (N_("Enter your {label}").format(label=label.lower()) if required else None)
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return None, N_(
            "Enter a {label} in the correct format, like 07400 123456 or 0121 234 5678"
        ).format(label=label.lower())
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def display_phone(e164: str | None) -> str:
    """How a stored number is shown back: national format for UK numbers."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == "GB"
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


_DIGITS = re.compile(r"^\d{1,4}$")


def parse_date(
    day: str, month: str, year: str, label: str, required: bool, today: date
) -> tuple[str | None, str | None]:
    """GOV.UK's date pattern: three boxes; an ISO date (OIDC's birthdate), or a message."""
    parts = [day.strip(), month.strip(), year.strip()]
    if not any(parts):
        return None, (N_("Enter your {label}").format(label=label.lower()) if required else None)
    missing = [n for n, v in zip((N_("day"), N_("month"), N_("year")), parts, strict=True) if not v]
    if missing:
        return None, N_("{label} must include a {part}").format(label=label, part=missing[0])
    if not all(_DIGITS.match(p) for p in parts) or len(parts[2]) != 4:
        return None, N_("{label} must be a real date, like 27 3 1985").format(label=label)
    try:
        value = date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None, N_("{label} must be a real date, like 27 3 1985").format(label=label)
    if value >= today:
        return None, N_("{label} must be in the past").format(label=label)
    if value.year < 1900:
        return None, N_("{label} must be after 1900").format(label=label)
    return value.isoformat(), None


def date_parts(iso: str | None) -> dict[str, str]:
    if not iso:
        return {"day": "", "month": "", "year": ""}
    try:
        value = date.fromisoformat(iso)
    except ValueError:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == {}
