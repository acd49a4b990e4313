"""What an address lookup returns, and what every lookup service promises."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from idp.address.postcodes import normalise_postcode

#: What a person sees when a lookup service fails; the journey then offers manual entry.
LOOKUP_FAILED_MESSAGE = "We could not look up addresses just now. Enter your address manually."
#: The ``country`` member of every address claim: ISO 3166-1 alpha-2, as OIDC Core asks.
COUNTRY = "GB"


@dataclass(frozen=True)
class Address:
    """A UK postal address in the five fields of GOV.UK's address pattern.

    ``line2`` and ``county`` may be empty. ``as_claim`` gives the OIDC ``address`` claim
    and ``from_claim`` takes it back::

        >>> home = Address("105 Petworth Drive", "", "Leicester", "Leicestershire", "LE3 9RE")
        >>> home.lines()
        ['105 Petworth Drive', 'Leicester', 'Leicestershire', 'LE3 9RE']
        >>> Address.from_claim(home.as_claim()) == home
        True
    """

    line1: str
    line2: str
    town: str
    county: str
    postcode: str

    def lines(self) -> list[str]:
        """The non-empty parts, in the order they are written on an envelope."""
        parts = (self.line1, self.line2, self.town, self.county, self.postcode)
        return [part for part in parts if part]

    def as_claim(self) -> dict[str, str]:
        """The address claim of OIDC Core §5.1.1.

        Empty members are left out rather than sent as "" (§5.3.2 asks the same of
        claims that have no value).
        """
        claim = {
            "formatted": "\n".join(self.lines()),
            "street_address": "\n".join(part for part in (self.line1, self.line2) if part),
            "locality": self.town,
            "region": self.county,
            "postal_code": self.postcode,
            "country": COUNTRY,
        }
        return {name: value for name, value in claim.items() if value}

    @classmethod
    def from_claim(cls, claim: Mapping[str, Any]) -> Address:
        """Rebuild an address from its OIDC claim; ``formatted`` is not needed.

        A ``street_address`` of more than two lines (written by another system) keeps its
        later lines in ``line2``, separated by commas. Raises ValueError for a claim that
        is not a UK address.
        """
        values: dict[str, str] = {}
        for name in ("street_address", "locality", "region", "postal_code", "country"):
            value = claim.get(name, "")
            if not isinstance(value, str):
                raise ValueError(f"address claim member {name} must be a string")
            values[name] = value.strip()
        if values["country"] and values["country"].upper() != COUNTRY:
            raise ValueError(f"address claim is for country {values['country']!r}, not GB")
        street = [line.strip() for line in values["street_address"].splitlines()]
        street = [line for line in street if line]
        postcode = values["postal_code"]
        return cls(
            line1=street[0] if street else "",
            line2=", ".join(street[1:]),
            town=values["locality"],
            county=values["region"],
            postcode=normalise_postcode(postcode) or postcode,
        )


class AddressLookupError(Exception):
    """An address service failed; the message is fit to show, ``detail`` is for logs.

    ``str(error)`` is always the message, so a view can show it as it is::

        raise AddressLookupError(detail="OS Places answered HTTP 503")
    """

    def __init__(self, message: str = LOOKUP_FAILED_MESSAGE, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


@runtime_checkable
class AddressProvider(Protocol):
    """Something that lists the addresses at a postcode.

    ``find`` is given a postcode already passed through ``normalise_postcode``, returns
    the addresses there in house-number order (an empty list when there are none), and
    raises ``AddressLookupError`` when the service behind it fails::

        provider = CsvAddressProvider("data/addresses.example.csv")
        provider.find("LE3 9RE")[0].line1
    """

    def find(self, postcode: str) -> list[Address]:
        """The addresses at this postcode, in house-number order."""
        ...


_DIGITS = re.compile(r"(\d+)")


def _natural_key(text: str) -> tuple[str | int, ...]:
    # re.split with a group alternates text and digits, always starting with text, so
    # every position compares a str with a str or an int with an int.
    chunks = _DIGITS.split(text.casefold())
    return tuple(int(chunk) if index % 2 else chunk for index, chunk in enumerate(chunks))


def sort_addresses(addresses: Iterable[Address]) -> list[Address]:
    """In the order people expect a dropdown to be in: 2 before 10, 10 before 10A.

    Numbered houses come before named ones and flats (whose lines start with text).
    """
    return sorted(addresses, key=lambda a: (_natural_key(a.line1), _natural_key(a.line2)))
