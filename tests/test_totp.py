"""Authenticator apps (RFC 6238) and recovery codes without HTTP, at fixed times."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from idp.mfa.recovery import (
    ALPHABET,
    LENGTH,
    find_recovery_code,
    hash_recovery_code,
    new_recovery_codes,
)
from idp.mfa.totp import grouped, new_secret, provisioning_uri, qr_svg, verify_totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Ten seconds into a 30-second step, so a second either way stays in the same step.
NOW = datetime(2026, 1, 1, 9, 0, 10, tzinfo=UTC)
STEP = int(NOW.timestamp()) // 30


def code_at(steps_away: int = 0) -> str:
    """The code an app with a clock ``steps_away`` steps off would show at NOW."""
    return pyotp.TOTP(SECRET).at(NOW + timedelta(seconds=30 * steps_away))


def test_a_code_from_the_app_for_now_is_accepted_and_its_step_returned():
    assert verify_totp(SECRET, code_at(0), NOW, last_used_step=None) == STEP


@pytest.mark.parametrize("steps_away", [-1, 1])
def test_a_code_one_step_either_side_is_accepted_for_clock_drift(steps_away):
    assert verify_totp(SECRET, code_at(steps_away), NOW, None) == STEP + steps_away


@pytest.mark.parametrize("steps_away", [-2, 2])
def test_a_code_two_steps_away_is_refused(steps_away):
    assert verify_totp(SECRET, code_at(steps_away), NOW, None) is None


def test_without_drift_only_the_current_step_is_accepted():
    assert verify_totp(SECRET, code_at(1), NOW, None, drift_steps=0) is None
    assert verify_totp(SECRET, code_at(0), NOW, None, drift_steps=0) == STEP


def test_the_same_code_is_refused_the_second_time():
    step = verify_totp(SECRET, code_at(0), NOW, last_used_step=None)
    assert step is not None
    again = NOW + timedelta(seconds=5)
    assert verify_totp(SECRET, code_at(0), again, last_used_step=step) is None


def test_an_older_code_is_refused_after_a_newer_one():
    newer = verify_totp(SECRET, code_at(1), NOW, last_used_step=None)
    assert newer == STEP + 1
    assert verify_totp(SECRET, code_at(0), NOW, last_used_step=newer) is None


def test_the_next_step_is_accepted_after_the_current_one_was_used():
    later = NOW + timedelta(seconds=30)
    assert verify_totp(SECRET, code_at(1), later, last_used_step=STEP) == STEP + 1


def test_a_wrong_code_is_refused():
    wrong = f"{(int(code_at(0)) + 1) % 10**6:06d}"
    assert wrong not in {code_at(-1), code_at(0), code_at(1)}
    assert verify_totp(SECRET, wrong, NOW, None) is None


@pytest.mark.parametrize(
    "given", ["", "12345a", "abcdef", "123-456", "12345", "1234567", "123456\x00", "¹²³⁴⁵⁶"]
)
def test_a_code_that_is_not_six_digits_is_refused(given):
    assert verify_totp(SECRET, given, NOW, None) is None


@pytest.mark.parametrize("spacing", ["{} {}", " {}{} ", "{}\t{}", "{}\u00a0{}"])
def test_spaces_in_a_code_are_tolerated(spacing):
    code = code_at(0)
    assert verify_totp(SECRET, spacing.format(code[:3], code[3:]), NOW, None) == STEP


def test_a_code_in_full_width_digits_is_read_as_ascii():
    full_width = "".join(chr(ord(digit) - ord("0") + ord("\uff10")) for digit in code_at(0))
    assert verify_totp(SECRET, full_width, NOW, None) == STEP


def test_a_time_without_a_timezone_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_totp(SECRET, code_at(0), NOW.replace(tzinfo=None), None)


def test_a_new_secret_is_160_bits_of_base32_and_never_repeats():
    secret = new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert new_secret() != secret


def test_the_uri_carries_issuer_account_digits_and_period():
    uri = provisioning_uri(SECRET, "alice@example.com", "Contoso Pharma")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/Contoso%20Pharma:alice@example.com"
    assert query == {
        "secret": [SECRET],
        "issuer": ["Contoso Pharma"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert "+" not in uri


def test_an_authenticator_reading_the_uri_shows_the_codes_we_accept():
    app = pyotp.parse_uri(provisioning_uri(SECRET, "alice@example.com", "Contoso"))
    assert (app.name, app.issuer) == ("alice@example.com", "Contoso")
    assert verify_totp(SECRET, app.at(NOW), NOW, None) == STEP


@pytest.mark.parametrize(("account", "issuer"), [("a:b", "Contoso"), ("alice", "Con:toso")])
def test_an_issuer_or_account_with_a_colon_is_refused(account, issuer):
    with pytest.raises(ValueError, match="colon"):
        provisioning_uri(SECRET, account, issuer)


def test_the_qr_code_is_an_inline_svg_with_a_title_and_no_script():
    svg = qr_svg(provisioning_uri(SECRET, "alice@example.com", "Contoso"))
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg
    assert "<title>" in svg and 'role="img"' in svg
    assert "<script" not in svg.lower() and "javascript:" not in svg.lower()
    assert " on" not in svg.split(">", 1)[0]  # no event handler attributes
    assert 'stroke="#000"' in svg and 'fill="#fff"' in svg


def test_the_qr_code_title_is_escaped():
    svg = qr_svg("otpauth://totp/x", title="<script>alert(1)</script>")
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_the_secret_is_grouped_in_fours_for_typing_by_hand():
    assert grouped(SECRET) == "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
    assert grouped("ABCDEF") == "ABCD EF"


def test_ten_recovery_codes_are_made_and_all_differ():
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        first, second = code.split("-")
        assert len(first) == len(second) == 5
        assert set(first + second) <= set(ALPHABET)


def test_a_recovery_code_has_at_least_fifty_bits():
    assert len(set(ALPHABET)) ** LENGTH >= 2**50
    assert math.log2(len(set(ALPHABET))) * LENGTH >= 50


def test_the_recovery_alphabet_has_no_letters_read_as_digits():
    assert not set("ilou") & set(ALPHABET)


def test_a_recovery_code_is_found_whatever_its_case_spaces_and_hyphens():
    codes = new_recovery_codes()
    hashes = [hash_recovery_code(code) for code in codes]
    typed = f"  {codes[3].upper().replace('-', ' ')} "
    assert find_recovery_code(typed, hashes) == hashes[3]
    assert find_recovery_code(codes[3].replace("-", ""), hashes) == hashes[3]


def test_letters_typed_for_the_digits_they_resemble_still_match():
    hashes = [hash_recovery_code("01abc-de01f")]
    assert find_recovery_code("OIabc-deOLf", hashes) == hashes[0]


def test_a_wrong_or_malformed_recovery_code_is_not_found():
    hashes = [hash_recovery_code(code) for code in new_recovery_codes()]
    assert find_recovery_code("00000-00000", hashes) is None
    assert find_recovery_code("", hashes) is None
    assert find_recovery_code("u" * LENGTH, hashes) is None
    assert find_recovery_code("x" * 10_000, hashes) is None


def test_a_used_recovery_code_removed_from_the_list_is_no_longer_found():
    codes = new_recovery_codes()
    hashes = [hash_recovery_code(code) for code in codes]
    used = find_recovery_code(codes[0], hashes)
    assert used is not None
    hashes.remove(used)
    assert find_recovery_code(codes[0], hashes) is None
    assert find_recovery_code(codes[1], hashes) is not None


def test_a_recovery_code_hash_is_salted_and_fits_a_64_character_column():
    code = new_recovery_codes(1)[0]
    first, second = hash_recovery_code(code), hash_recovery_code(code)
    assert first != second
    assert code.replace("-", "") not in first
    assert len(first) == 64 and set(first) <= set("0123456789abcdef")


def test_stored_values_that_are_not_our_hashes_are_skipped():
    code = new_recovery_codes(1)[0]
    good = hash_recovery_code(code)
    junk = ["", "plain", "0" * 64, "g" * 64, good.upper(), good[:-1]]
    assert find_recovery_code(code, [*junk, good]) == good


def test_hashing_something_that_is_not_a_recovery_code_is_refused():
    with pytest.raises(ValueError):
        hash_recovery_code("too short")
