"""UK address lookup by postcode, for the journey step that collects an address.

Plain Python with no Flask in it: a view or step normalises what was typed, asks the
configured provider, and shows the list (or the failure message, then manual entry)::

    from idp.address import address_provider_from_settings, normalise_postcode

    provider = address_provider_from_settings(settings)
    postcode = normalise_postcode(form["postcode"])      # None: ask again
    try:
        choices = provider.find(postcode)               # [] : nothing there
    except AddressLookupError as error:
        log.warning("address lookup failed: %s", error.detail)
        show(str(error))                                # safe to show the person

Providers: ``CsvAddressProvider`` (an offline file; the default, for development and
demos) and ``OsPlacesProvider`` (Ordnance Survey's Places API, for production).
"""

from __future__ import annotations

from idp.address.csv_file import CsvAddressProvider
from idp.address.factory import PROVIDERS, address_provider_from_settings
from idp.address.model import (
    LOOKUP_FAILED_MESSAGE,
    Address,
    AddressLookupError,
    AddressProvider,
    sort_addresses,
)
from idp.address.os_places import OsPlacesProvider
from idp.address.postcodes import normalise_postcode

__all__ = [
    "LOOKUP_FAILED_MESSAGE",
    "PROVIDERS",
    "Address",
    "AddressLookupError",
    "AddressProvider",
    "CsvAddressProvider",
    "OsPlacesProvider",
    "address_provider_from_settings",
    "normalise_postcode",
    "sort_addresses",
]
