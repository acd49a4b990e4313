"""Ordnance Survey's OS Places API, postcode endpoint, Delivery Point Addresses only.

``GET {url}?postcode=LE3 9RE&key=...&dataset=DPA`` answers
``{"header": {"totalresults": 12, ...}, "results": [{"DPA": {...}}, ...]}``; a postcode
with no addresses comes back without ``results``, and a malformed one with HTTP 400.
See dpa.py for how a record becomes an ``Address``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, quote_plus

import requests

from idp.address.dpa import address_from_dpa
from idp.address.model import Address, AddressLookupError, sort_addresses

log = logging.getLogger(__name__)

#: The most results OS Places returns in one page.
PAGE_SIZE = 100
# A postcode covers about 15 delivery points and very rarely more than a few hundred; the
# cap keeps a wrong totalresults from turning one lookup into endless requests.
MAX_PAGES = 10


class OsPlacesProvider:
    """Looks postcodes up in OS Places; every failure is an ``AddressLookupError``.

    ``timeout`` is in seconds; ``session`` lets a deployment share a connection pool or
    add a proxy. Example::

        provider = OsPlacesProvider(
            "https://api.os.uk/search/places/v1/postcode", api_key="...", timeout=5
        )
        provider.find("LE3 9RE")   # [Address("105 Petworth Drive", "", "Leicester", ...), ...]
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        timeout: float,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        # The key must not reach logs through a repr.
        return f"OsPlacesProvider(url={self.url!r}, timeout={self.timeout!r})"

    def find(self, postcode: str) -> list[Address]:
        """The addresses at a normalised postcode, in house-number order."""
        found: dict[Address, None] = {}
        offset = 0
        for _ in range(MAX_PAGES):
            page = self._fetch(postcode, offset)
            if page is None:
                return []
            results = page.get("results") or []
            if not isinstance(results, list):
                raise AddressLookupError(detail="OS Places answered with a malformed results list")
            for result in results:
                dpa = result.get("DPA") if isinstance(result, dict) else None
                address = address_from_dpa(dpa, postcode) if isinstance(dpa, dict) else None
                if address is not None:
                    found[address] = None
            offset += len(results)
            header = page.get("header")
            total = header.get("totalresults", 0) if isinstance(header, dict) else 0
            if not results or not isinstance(total, int) or offset >= total:
                break
        return sort_addresses(found)

    def _fetch(self, postcode: str, offset: int) -> dict[str, Any] | None:
        """One page of results; None when OS Places calls the postcode malformed."""
        params: dict[str, str | int] = {
            "postcode": postcode,
            "key": self.api_key,
            "dataset": "DPA",
            "maxresults": PAGE_SIZE,
        }
        if offset:
            params["offset"] = offset
        try:
            # No redirects: following one would send the key (in the query) somewhere else.
            response = self.session.get(
                self.url,
                params=params,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
                allow_redirects=False,
            )
        except requests.Timeout:
            raise AddressLookupError(
                detail=f"OS Places did not answer within {self.timeout} seconds"
            ) from None
        except requests.RequestException as error:
            # "from None" and the redaction both matter: requests puts the whole URL, key
            # included, into its exception messages, and a logged traceback shows them.
            raise AddressLookupError(
                detail=self._redact(
                    f"OS Places could not be reached: {type(error).__name__}: {error}"
                )
            ) from None
        status = response.status_code
        if status == 200:
            return self._json(response)
        explanation = self._redact(_explanation(response))
        if status == 400:
            # The postcode passed normalise_postcode, so this is OS Places disagreeing
            # about one odd postcode: there is nothing to list, and the person can retype.
            log.warning("OS Places refused postcode %r: %s", postcode, explanation)
            return None
        if status in (401, 403):
            raise AddressLookupError(
                detail=f"OS Places refused the API key (HTTP {status}): {explanation}"
            )
        if status == 429:
            raise AddressLookupError(
                detail=f"OS Places is limiting our requests (HTTP 429): {explanation}"
            )
        raise AddressLookupError(detail=f"OS Places answered HTTP {status}: {explanation}")

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise AddressLookupError(
                detail=f"OS Places answered HTTP 200 with a body that is not JSON ({kind})"
            ) from None
        if not isinstance(body, dict):
            raise AddressLookupError(detail="OS Places answered with JSON that is not an object")
        return body

    def _redact(self, text: str) -> str:
        if not self.api_key:
            return text
        # The key may appear as given or URL-encoded, as it was in the query string.
        for form in {self.api_key, quote_plus(self.api_key), quote(self.api_key, safe="")}:
            text = text.replace(form, "[key]")
        return text


def _explanation(response: requests.Response) -> str:
    """OS Places' own words about an error, from either of its two error shapes."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason or "no explanation"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        # The API gateway's own refusals (bad or missing key) use this shape.
        fault = body.get("fault")
        if isinstance(fault, dict) and fault.get("faultstring"):
            return str(fault["faultstring"])
    return str(body)[:200]
