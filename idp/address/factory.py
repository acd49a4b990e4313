"""Choose and build the address provider that the ``address.*`` settings describe."""

from __future__ import annotations

import csv
import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from idp.address.csv_file import CsvAddressProvider
from idp.address.model import AddressProvider
from idp.address.os_places import OsPlacesProvider
from idp.config import SETTINGS, ConfigError, resolve_path

#: The values address.provider may take.
PROVIDERS = ("csv", "os_places")


def address_provider_from_settings(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> AddressProvider:
    """The provider the settings ask for; ConfigError, naming the setting, if they are wrong.

    ``environ`` is where the API key's variable is read (``os.environ`` by default)::

        provider = address_provider_from_settings(load_settings())
        provider.find("LE3 9RE")
    """
    environ = os.environ if environ is None else environ

    def setting(key: str) -> Any:
        return settings.get(key, SETTINGS[key].default)

    provider = setting("address.provider")
    if provider == "csv":
        return _csv_provider(str(setting("address.csv_path")))
    if provider == "os_places":
        return _os_places_provider(
            url=str(setting("address.api_url")).strip(),
            key_variable=str(setting("address.api_key_env")),
            timeout=setting("address.timeout"),
            environ=environ,
        )
    raise ConfigError(f"address.provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")


def _csv_provider(value: str) -> CsvAddressProvider:
    path = resolve_path(value)
    try:
        return CsvAddressProvider(path)
    except FileNotFoundError:
        raise ConfigError(f"address.csv_path: {path} does not exist") from None
    except (OSError, ValueError, csv.Error) as error:
        # Includes a file that is not UTF-8 (UnicodeDecodeError is a ValueError).
        raise ConfigError(f"address.csv_path: {error}") from None


def _os_places_provider(
    url: str, key_variable: str, timeout: Any, environ: Mapping[str, str]
) -> OsPlacesProvider:
    api_key = environ.get(key_variable, "").strip()
    if not api_key:
        raise ConfigError(
            f"address.provider is os_places, but the environment variable {key_variable} "
            "(named by address.api_key_env) does not hold an API key"
        )
    if not _safe_url(url):
        # The key travels in the query string, so plain http would publish it.
        raise ConfigError(
            f"address.api_url must be an https URL (http only on this machine), not {url!r}"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"address.timeout must be a positive number of seconds, not {timeout!r}")
    return OsPlacesProvider(url, api_key, timeout)


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
