"""Address lookup by postcode: postcodes, the CSV file, the address claim, OS Places, settings.

OS Places is faked by a real HTTP server on 127.0.0.1, so the adapter's requests, timeouts
and error handling run exactly as they would against the real API.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.address import (
    LOOKUP_FAILED_MESSAGE,
    Address,
    AddressLookupError,
    AddressProvider,
    CsvAddressProvider,
    OsPlacesProvider,
    address_provider_from_settings,
    normalise_postcode,
)
from idp.config import PROJECT_ROOT, ConfigError, load_settings

EXAMPLE_CSV = PROJECT_ROOT / "data" / "addresses.example.csv"
API_KEY = "test-os-key-0123456789"
HOME = Address("105 Petworth Drive", "", "Leicester", "Leicestershire", "LE3 9RE")


# -- postcodes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("LE3 9RE", "LE3 9RE"),
        ("le39re", "LE3 9RE"),
        ("  le3   9re ", "LE3 9RE"),
        ("Le11 3qf", "LE11 3QF"),
        ("m1 1ae", "M1 1AE"),  # A9
        ("B33 8TH", "B33 8TH"),  # A99
        ("w1a0ax", "W1A 0AX"),  # A9A
        ("SW1A 2AA", "SW1A 2AA"),  # AA9A
        ("ec1v 9hx", "EC1V 9HX"),
        ("DN55 1PT", "DN55 1PT"),  # AA99
        ("gir0aa", "GIR 0AA"),
        ("GIR 0AA", "GIR 0AA"),
    ],
)
def test_a_valid_postcode_is_capitalised_and_spaced_before_its_last_three(typed, expected):
    assert normalise_postcode(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "LE3",  # an outward code alone
        "LE3 9R",
        "LE3 9RE1",
        "SW1A 2AAA",
        "QE3 9RE",  # no area starts with Q
        "LZ3 9RE",  # no area has Z second
        "LE3 9CE",  # units never use C
        "LE3 99E",
        "LE3-9RE",
        "12345",
        "LE3 9RÉ",
        "GIR 0AB",
    ],
)
def test_text_that_cannot_be_a_uk_postcode_is_refused(typed):
    assert normalise_postcode(typed) is None


# -- the address and its claim ----------------------------------------------------------


def test_an_address_lists_only_its_non_empty_lines():
    assert HOME.lines() == ["105 Petworth Drive", "Leicester", "Leicestershire", "LE3 9RE"]


def test_an_address_becomes_the_oidc_address_claim():
    flat = Address(
        "Flat 2, Rose House", "111 Petworth Drive", "Leicester", "Leicestershire", "LE3 9RE"
    )
    assert flat.as_claim() == {
        "formatted": "Flat 2, Rose House\n111 Petworth Drive\nLeicester\nLeicestershire\nLE3 9RE",
        "street_address": "Flat 2, Rose House\n111 Petworth Drive",
        "locality": "Leicester",
        "region": "Leicestershire",
        "postal_code": "LE3 9RE",
        "country": "GB",
    }


def test_an_address_without_a_county_leaves_region_out_of_its_claim():
    claim = Address("1 Burleigh Gardens", "", "Loughborough", "", "LE11 3QF").as_claim()
    assert "region" not in claim and claim["street_address"] == "1 Burleigh Gardens"


@pytest.mark.parametrize(
    "address",
    [
        HOME,
        Address(
            "Flat 2, Rose House", "111 Petworth Drive", "Leicester", "Leicestershire", "LE3 9RE"
        ),
        Address("The Old Forge", "Mill Lane, Barrow upon Soar", "Loughborough", "", "LE12 8PX"),
    ],
)
def test_an_address_survives_a_round_trip_through_its_claim(address):
    assert Address.from_claim(address.as_claim()) == address


def test_a_claim_from_elsewhere_with_three_street_lines_keeps_the_rest_in_line2():
    claim = {
        "street_address": "Unit 4\nHarcourt Way\nMeridian Business Park",
        "locality": "Leicester",
        "postal_code": "le19 1ww",
        "country": "GB",
    }
    assert Address.from_claim(claim) == Address(
        "Unit 4", "Harcourt Way, Meridian Business Park", "Leicester", "", "LE19 1WW"
    )


def test_a_claim_for_another_country_is_not_taken_for_a_uk_address():
    with pytest.raises(ValueError, match="country"):
        Address.from_claim({"street_address": "1 Rue de Rivoli", "country": "FR"})


def test_a_lookup_error_shows_a_safe_message_and_keeps_the_detail_for_logs():
    error = AddressLookupError(detail="OS Places answered HTTP 503")
    assert str(error) == LOOKUP_FAILED_MESSAGE == error.message
    assert error.detail == "OS Places answered HTTP 503"


# -- the CSV file -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> CsvAddressProvider:
    return CsvAddressProvider(EXAMPLE_CSV)


def test_the_example_file_has_105_petworth_drive_among_its_neighbours(example):
    found = example.find("LE3 9RE")
    assert HOME in found and len(found) > 5
    assert any(a.line2 for a in found), "some neighbours live in flats"


def test_the_example_file_covers_several_leicestershire_postcodes(example):
    for postcode in ("LE1 5XT", "LE11 3QF", "LE12 8PX", "LE65 1HU"):
        found = example.find(postcode)
        assert found and all(a.county == "Leicestershire" for a in found)


def test_houses_come_in_house_number_order_so_2_comes_before_10(example):
    assert [a.line1 for a in example.find("LE1 5XT")] == [
        "2 Tanner's Row",
        "4 Tanner's Row",
        "6 Tanner's Row",
        "8 Tanner's Row",
        "10 Tanner's Row",
        "12 Tanner's Row",
    ]


def test_numbered_houses_come_before_flats_and_flat_10_comes_after_flat_3(example):
    lines = [a.line1 for a in example.find("LE3 9RE")]
    assert lines.index("99 Petworth Drive") < lines.index("101 Petworth Drive")
    assert lines.index("105 Petworth Drive") < lines.index("105A Petworth Drive")
    assert lines[-4:] == [
        "Flat 1, Rose House",
        "Flat 2, Rose House",
        "Flat 3, Rose House",
        "Flat 10, Rose House",
    ]


def test_an_unknown_postcode_has_no_addresses(example):
    assert example.find("LE1 1AA") == []


def write_csv(folder: Path, text: str) -> Path:
    path = folder / "addresses.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_postcodes_match_however_the_file_and_the_caller_space_them(tmp_path):
    path = write_csv(
        tmp_path,
        "line1,line2,town,county,postcode\n105 Petworth Drive,,Leicester,Leicestershire,le39re\n",
    )
    provider = CsvAddressProvider(path)
    assert provider.find("LE3 9RE") == provider.find("le3  9re") == [HOME]


def test_the_file_is_read_once_when_the_provider_is_made(tmp_path):
    path = write_csv(
        tmp_path,
        "line1,line2,town,county,postcode\n105 Petworth Drive,,Leicester,Leicestershire,LE3 9RE\n",
    )
    provider = CsvAddressProvider(path)
    path.unlink()
    assert provider.find("LE3 9RE") == [HOME]


def test_changing_a_returned_list_does_not_change_the_next_answer(example):
    example.find("LE3 9RE").clear()
    assert example.find("LE3 9RE")


def test_a_file_without_the_expected_columns_is_refused_naming_them(tmp_path):
    path = write_csv(tmp_path, "line1,town,postcode\n1 A Road,Leicester,LE3 9RE\n")
    with pytest.raises(ValueError, match=r"addresses\.csv.*line2, county"):
        CsvAddressProvider(path)


def test_a_row_with_a_bad_postcode_is_refused_naming_its_line(tmp_path):
    path = write_csv(
        tmp_path,
        "line1,line2,town,county,postcode\n"
        "1 A Road,,Leicester,,LE3 9RE\n"
        "2 A Road,,Leicester,,LE3\n",
    )
    with pytest.raises(ValueError, match="line 3: 'LE3' is not a UK postcode"):
        CsvAddressProvider(path)


def test_the_csv_provider_is_an_address_provider(example):
    assert isinstance(example, AddressProvider)


# -- OS Places, against a fake on a loopback port -----------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    delay: float = 0.0


class FakeOsPlaces:
    """A real HTTP server on 127.0.0.1 answering as OS Places does.

    Queue replies with ``reply``; the last one is repeated. ``queries`` records each
    request's query string.
    """

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.queries: list[dict[str, str]] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                fake.queries.append({name: values[0] for name, values in query.items()})
                reply = fake.replies.pop(0) if len(fake.replies) > 1 else fake.replies[0]
                if reply.delay:
                    # Woken at teardown, so no thread outlives the test.
                    fake.release.wait(reply.delay)
                body = (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                )
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/search/places/v1/postcode"

    def reply(self, status: int = 200, body: Any = None, **options: Any) -> None:
        self.replies.append(Reply(status, body, **options))

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests honours proxy variables, and a proxy cannot reach a loopback port.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def os_places() -> Iterator[FakeOsPlaces]:
    fake = FakeOsPlaces()
    yield fake
    fake.stop()


def provider_for(fake: FakeOsPlaces, timeout: float = 2) -> OsPlacesProvider:
    return OsPlacesProvider(fake.url, API_KEY, timeout)


def dpa(**fields: Any) -> dict[str, Any]:
    record = {"UPRN": "100030000000", "POST_TOWN": "LEICESTER", "POSTCODE": "LE3 9RE"}
    record.update(fields)
    record["ADDRESS"] = ", ".join(str(v) for k, v in record.items() if k != "UPRN")
    return record


def page(*records: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    count = len(records) if total is None else total
    return {
        "header": {"query": "postcode=LE3 9RE", "dataset": "DPA", "totalresults": count},
        "results": [{"DPA": record} for record in records],
    }


def test_os_places_is_asked_for_delivery_points_at_the_postcode_with_the_key(os_places):
    os_places.reply(body=page(dpa(BUILDING_NUMBER="105", THOROUGHFARE_NAME="PETWORTH DRIVE")))
    provider_for(os_places).find("LE3 9RE")
    query = os_places.queries[0]
    assert (query["postcode"], query["key"], query["dataset"]) == ("LE3 9RE", API_KEY, "DPA")


def test_os_places_records_are_laid_out_as_address_lines_in_house_number_order(os_places):
    os_places.reply(
        body=page(
            dpa(
                SUB_BUILDING_NAME="FLAT 2",
                BUILDING_NAME="ROSE HOUSE",
                BUILDING_NUMBER="111",
                THOROUGHFARE_NAME="PETWORTH DRIVE",
            ),
            dpa(BUILDING_NUMBER="105", THOROUGHFARE_NAME="PETWORTH DRIVE"),
            dpa(BUILDING_NAME="105A", THOROUGHFARE_NAME="PETWORTH DRIVE"),
            dpa(
                BUILDING_NUMBER="99",
                THOROUGHFARE_NAME="PETWORTH DRIVE",
                DEPENDENT_LOCALITY="BRAUNSTONE TOWN",
            ),
            dpa(
                ORGANISATION_NAME="ST JOHN'S SURGERY",
                BUILDING_NUMBER="113",
                THOROUGHFARE_NAME="PETWORTH DRIVE",
            ),
        )
    )
    assert provider_for(os_places).find("LE3 9RE") == [
        Address("99 Petworth Drive", "Braunstone Town", "Leicester", "", "LE3 9RE"),
        Address("105 Petworth Drive", "", "Leicester", "", "LE3 9RE"),
        Address("105A Petworth Drive", "", "Leicester", "", "LE3 9RE"),
        Address("Flat 2, Rose House", "111 Petworth Drive", "Leicester", "", "LE3 9RE"),
        Address("St John's Surgery", "113 Petworth Drive", "Leicester", "", "LE3 9RE"),
    ]


def test_os_places_place_names_keep_their_small_words_in_lower_case(os_places):
    os_places.reply(
        body=page(
            dpa(
                BUILDING_NUMBER="1",
                DEPENDENT_THOROUGHFARE_NAME="MILL YARD",
                THOROUGHFARE_NAME="MILL LANE",
                DEPENDENT_LOCALITY="BARROW UPON SOAR",
                POST_TOWN="ASHBY-DE-LA-ZOUCH",
                POSTCODE="LE65 1HU",
            )
        )
    )
    assert provider_for(os_places).find("LE65 1HU") == [
        Address("1 Mill Yard, Mill Lane", "Barrow upon Soar", "Ashby-de-la-Zouch", "", "LE65 1HU")
    ]


def test_a_postcode_os_places_has_no_addresses_for_gives_an_empty_list(os_places):
    # OS Places leaves the results key out altogether when nothing matched.
    os_places.reply(body={"header": {"query": "postcode=LE1 1AA", "totalresults": 0}})
    assert provider_for(os_places).find("LE1 1AA") == []


def test_a_postcode_os_places_calls_malformed_gives_an_empty_list(os_places):
    os_places.reply(
        400,
        {
            "error": {
                "statuscode": 400,
                "message": "Requested postcode must contain a minimum of the sector plus 1 digit",
            }
        },
    )
    assert provider_for(os_places).find("LE3 9RE") == []


def test_results_over_several_pages_are_all_collected(os_places):
    os_places.reply(
        body=page(
            dpa(BUILDING_NUMBER="1", THOROUGHFARE_NAME="A ROAD"),
            dpa(BUILDING_NUMBER="2", THOROUGHFARE_NAME="A ROAD"),
            total=3,
        )
    )
    os_places.reply(body=page(dpa(BUILDING_NUMBER="3", THOROUGHFARE_NAME="A ROAD"), total=3))
    found = provider_for(os_places).find("LE3 9RE")
    assert [a.line1 for a in found] == ["1 A Road", "2 A Road", "3 A Road"]
    assert os_places.queries[1]["offset"] == "2"


def lookup_failure(provider: OsPlacesProvider) -> AddressLookupError:
    with pytest.raises(AddressLookupError) as caught:
        provider.find("LE3 9RE")
    error = caught.value
    assert str(error) == LOOKUP_FAILED_MESSAGE, "people see only the safe message"
    assert API_KEY not in error.detail, "the key never reaches the logs"
    return error


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_a_lookup_failure_whose_detail_says_so(os_places, status):
    os_places.reply(status, {"fault": {"faultstring": "Invalid ApiKey"}})
    error = lookup_failure(provider_for(os_places))
    assert "refused the API key" in error.detail and "Invalid ApiKey" in error.detail


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_server_error_is_a_lookup_failure(os_places, status):
    os_places.reply(status, b"upstream trouble", content_type="text/plain")
    assert f"HTTP {status}" in lookup_failure(provider_for(os_places)).detail


def test_an_answer_that_is_not_json_is_a_lookup_failure(os_places):
    os_places.reply(200, b"<html><body>Service unavailable</body></html>", content_type="text/html")
    assert "not JSON" in lookup_failure(provider_for(os_places)).detail


def test_a_slow_answer_is_a_lookup_failure_once_the_timeout_passes(os_places):
    os_places.reply(body=page(), delay=10)
    error = lookup_failure(provider_for(os_places, timeout=0.2))
    assert "did not answer within 0.2 seconds" in error.detail


def test_an_unreachable_service_is_a_lookup_failure_that_does_not_leak_the_key():
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OsPlacesProvider(f"http://127.0.0.1:{port}/postcode", API_KEY, 2)
    error = lookup_failure(provider)
    assert "could not be reached" in error.detail
    assert error.__suppress_context__, "the traceback would show the URL with the key"


def test_the_os_places_provider_does_not_show_its_key_in_its_repr(os_places):
    assert API_KEY not in repr(provider_for(os_places))


# -- settings -----------------------------------------------------------------------------


def settings_with(**address: Any) -> dict[str, Any]:
    return load_settings(
        environ={}, overrides={f"address.{name}": value for name, value in address.items()}
    )


def test_the_default_settings_look_addresses_up_in_the_example_file():
    provider = address_provider_from_settings(settings_with(), environ={})
    assert isinstance(provider, CsvAddressProvider) and provider.path == EXAMPLE_CSV
    assert HOME in provider.find("LE3 9RE")


def test_a_missing_csv_file_is_a_config_error_naming_the_setting_and_the_file():
    with pytest.raises(ConfigError, match=r"address\.csv_path: .*nowhere\.csv does not exist"):
        address_provider_from_settings(settings_with(csv_path="data/nowhere.csv"), environ={})


def test_a_malformed_csv_file_is_a_config_error_naming_the_setting(tmp_path):
    path = write_csv(tmp_path, "postcode\nLE3 9RE\n")
    with pytest.raises(ConfigError, match=r"address\.csv_path: .*lacks the column"):
        address_provider_from_settings(settings_with(csv_path=str(path)), environ={})


def test_os_places_settings_build_the_adapter_with_the_key_from_the_environment():
    settings = settings_with(provider="os_places", timeout=3)
    provider = address_provider_from_settings(settings, environ={"IDP_ADDRESS_API_KEY": "k1"})
    assert isinstance(provider, OsPlacesProvider)
    assert (provider.url, provider.api_key, provider.timeout) == (
        "https://api.os.uk/search/places/v1/postcode",
        "k1",
        3,
    )


@pytest.mark.parametrize("environ", [{}, {"LEICS_OS_KEY": "  "}])
def test_os_places_without_its_key_is_a_config_error_naming_the_variable(environ):
    settings = settings_with(provider="os_places", api_key_env="LEICS_OS_KEY")
    with pytest.raises(ConfigError, match="LEICS_OS_KEY"):
        address_provider_from_settings(settings, environ=environ)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.os.uk/search/places/v1/postcode",
        "ftp://127.0.0.1/postcode",
        "api.os.uk/postcode",
    ],
)
def test_an_api_url_that_would_send_the_key_in_the_clear_is_refused(url):
    settings = settings_with(provider="os_places", api_url=url)
    with pytest.raises(ConfigError, match=r"address\.api_url"):
        address_provider_from_settings(settings, environ={"IDP_ADDRESS_API_KEY": "k1"})


@pytest.mark.parametrize("timeout", [0, -1, "5", True])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout):
    settings = settings_with(provider="os_places", timeout=timeout)
    with pytest.raises(ConfigError, match=r"address\.timeout"):
        address_provider_from_settings(settings, environ={"IDP_ADDRESS_API_KEY": "k1"})


def test_an_unknown_provider_is_a_config_error_naming_the_setting_and_the_choices():
    with pytest.raises(ConfigError, match=r"address\.provider must be one of csv, os_places"):
        address_provider_from_settings(settings_with(provider="postcodes_io"), environ={})


def test_a_provider_built_from_settings_talks_to_the_configured_api(os_places):
    os_places.reply(body=page(dpa(BUILDING_NUMBER="105", THOROUGHFARE_NAME="PETWORTH DRIVE")))
    settings = settings_with(provider="os_places", api_url=os_places.url, timeout=2)
    provider = address_provider_from_settings(settings, environ={"IDP_ADDRESS_API_KEY": API_KEY})
    assert provider.find("LE3 9RE") == [
        Address("105 Petworth Drive", "", "Leicester", "", "LE3 9RE")
    ]
