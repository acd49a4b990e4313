"""One-time codes without HTTP: used once, within their lifetime, in a few attempts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from idp.mfa import codes
from idp.mfa.codes import CodeCheck, check_code, new_code, seconds_left, seconds_until_resend

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
TEN_MINUTES = 600


def later(seconds: int) -> datetime:
    return NOW + timedelta(seconds=seconds)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_new_code_is_six_digits_and_its_record_is_plain_json():
    code, record = new_code(NOW, TEN_MINUTES)
    assert len(code) == 6 and code.isdigit()
    assert json.loads(json.dumps(record)) == record
    assert record["issued_at"] == int(NOW.timestamp())
    assert record["expires_at"] == int(NOW.timestamp()) + TEN_MINUTES
    assert record["attempts"] == 0 and record["used"] is False


def test_the_record_holds_no_plain_code():
    code, record = new_code(NOW, TEN_MINUTES)
    assert code not in json.dumps(record)
    assert set(record) == {"hash", "salt", "issued_at", "expires_at", "attempts", "used"}


def test_the_same_code_gets_a_different_hash_each_time_it_is_issued(monkeypatch):
    monkeypatch.setattr(codes.secrets, "randbelow", lambda _: 123456)
    first = new_code(NOW, TEN_MINUTES)[1]
    second = new_code(NOW, TEN_MINUTES)[1]
    assert first["salt"] != second["salt"] and first["hash"] != second["hash"]


def test_the_right_code_is_accepted_once_then_refused_as_used():
    code, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, code, later(30)) is CodeCheck.OK
    assert record["used"] is True
    assert check_code(record, code, later(31)) is CodeCheck.USED


def test_a_wrong_code_is_counted_and_the_right_one_still_works_after_it():
    code, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, wrong(code), later(30)) is CodeCheck.WRONG
    assert record["attempts"] == 1
    assert check_code(record, code, later(40)) is CodeCheck.OK
    assert record["attempts"] == 1


def test_after_too_many_wrong_codes_even_the_right_one_is_refused():
    code, record = new_code(NOW, TEN_MINUTES)
    for _ in range(5):
        assert check_code(record, wrong(code), later(30)) is CodeCheck.WRONG
    assert check_code(record, code, later(40)) is CodeCheck.TOO_MANY_ATTEMPTS
    assert record["attempts"] == 5 and record["used"] is False


def test_the_attempt_limit_can_be_changed():
    code, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, wrong(code), later(1), max_attempts=1) is CodeCheck.WRONG
    assert check_code(record, code, later(2), max_attempts=1) is CodeCheck.TOO_MANY_ATTEMPTS


def test_a_code_expires_at_the_end_of_its_lifetime():
    code, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, code, later(TEN_MINUTES)) is CodeCheck.EXPIRED
    assert record["attempts"] == 0 and record["used"] is False


def test_a_code_works_until_the_last_second_of_its_lifetime():
    code, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, code, later(TEN_MINUTES - 1)) is CodeCheck.OK


def test_a_used_code_says_used_even_after_it_expires():
    code, record = new_code(NOW, TEN_MINUTES)
    check_code(record, code, later(1))
    assert check_code(record, code, later(TEN_MINUTES * 2)) is CodeCheck.USED


def test_codes_keep_their_leading_zeros(monkeypatch):
    monkeypatch.setattr(codes.secrets, "randbelow", lambda _: 42)
    code, record = new_code(NOW, TEN_MINUTES)
    assert code == "000042"
    assert check_code(record, "42", later(1)) is CodeCheck.WRONG
    assert check_code(record, "000042", later(2)) is CodeCheck.OK


def test_codes_can_be_longer_than_six_digits_but_not_shorter():
    code, record = new_code(NOW, TEN_MINUTES, digits=8)
    assert len(code) == 8
    assert check_code(record, code, later(1)) is CodeCheck.OK
    with pytest.raises(ValueError, match="at least 6 digits"):
        new_code(NOW, TEN_MINUTES, digits=4)


@pytest.mark.parametrize("typed", ["{0} {1}", " {0}{1} ", "{0}-{1}", "{0} - {1}", "{0}\t{1}"])
def test_spaces_and_hyphens_people_copy_from_a_message_are_ignored(typed):
    code, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, typed.format(code[:3], code[3:]), later(1)) is CodeCheck.OK


def test_digits_from_other_scripts_are_read_as_digits(monkeypatch):
    monkeypatch.setattr(codes.secrets, "randbelow", lambda _: 123456)
    _, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, "١٢٣٤٥٦", later(1)) is CodeCheck.OK  # Arabic-Indic digits


@pytest.mark.parametrize("typed", ["", "   ", "12345a", "one23456", "123.456", "+123456"])
def test_anything_but_digits_is_a_wrong_code_and_counts_as_an_attempt(typed):
    _, record = new_code(NOW, TEN_MINUTES)
    assert check_code(record, typed, later(1)) is CodeCheck.WRONG
    assert record["attempts"] == 1


def test_naive_times_are_refused_rather_than_read_as_local_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        new_code(datetime(2026, 1, 1, 9, 0), TEN_MINUTES)


def test_seconds_left_counts_down_to_zero_and_is_zero_once_used():
    code, record = new_code(NOW, TEN_MINUTES)
    assert seconds_left(record, NOW) == TEN_MINUTES
    assert seconds_left(record, later(590)) == 10
    assert seconds_left(record, later(TEN_MINUTES + 5)) == 0
    check_code(record, code, later(1))
    assert seconds_left(record, later(2)) == 0


@pytest.mark.parametrize(
    ("last_sent", "now", "wait"),
    [
        (None, NOW, 0),
        (int(NOW.timestamp()), later(15), 45),
        (int(NOW.timestamp()), later(60), 0),
        (int(NOW.timestamp()), later(3600), 0),
        (int(NOW.timestamp()), NOW - timedelta(seconds=30), 60),  # clock stepped back
    ],
)
def test_a_new_code_can_be_sent_once_the_cooldown_has_passed(last_sent, now, wait):
    assert seconds_until_resend(last_sent, now, cooldown=60) == wait
