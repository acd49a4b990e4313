"""An offline address list in a CSV file, for development, demos and tests.

The file has a header row ``line1,line2,town,county,postcode`` (other columns are
ignored) and one address a row. It is read once, when the provider is made.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

from idp.address.model import Address, sort_addresses
from idp.address.postcodes import normalise_postcode

COLUMNS = ("line1", "line2", "town", "county", "postcode")


class CsvAddressProvider:
    """Addresses from a CSV file, indexed by normalised postcode.

    A bad file is refused when the provider is made (ValueError naming the file and line),
    never halfway through someone's sign-up::

        provider = CsvAddressProvider("data/addresses.example.csv")
        provider.find("LE3 9RE")[0]   # Address(line1="97 Petworth Drive", ...)
        provider.find("LE1 1AA")      # []
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._by_postcode = _read(self.path)

    def __repr__(self) -> str:
        return f"CsvAddressProvider({str(self.path)!r})"

    def find(self, postcode: str) -> list[Address]:
        """The addresses at this postcode, in house-number order; [] when none."""
        key = normalise_postcode(postcode)
        return list(self._by_postcode.get(key, ())) if key else []


def _read(path: Path) -> Mapping[str, tuple[Address, ...]]:
    grouped: dict[str, dict[Address, None]] = {}
    # utf-8-sig: files saved from Excel start with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: the header row lacks the column(s) {', '.join(missing)}")
        for row in reader:
            values = {c: " ".join((row.get(c) or "").split()) for c in COLUMNS}
            if not any(values.values()):
                continue
            where = f"{path}, line {reader.line_num}"
            postcode = normalise_postcode(values["postcode"])
            if postcode is None:
                raise ValueError(f"{where}: {values['postcode']!r} is not a UK postcode")
            if not values["line1"] or not values["town"]:
                raise ValueError(f"{where}: line1 and town must not be empty")
            address = Address(**{**values, "postcode": postcode})
            grouped.setdefault(postcode, {})[address] = None
    return {postcode: tuple(sort_addresses(found)) for postcode, found in grouped.items()}
