"""Smart lockout of passwords: ten wrong ones lock an address for a minute, then longer;
the same wrong password again does not count; a reset or an admin's unlock lifts it; it
looks the same whether or not an account uses the address; every instance sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from idp.admin import operations
from idp.admin.roles import Actor
from idp.extensions import db
from idp.security.lockout import (
    LockoutPolicy,
    LockoutState,
    fingerprint,
    record_failure,
    record_success,
    seconds_left,
)
from idp.store.models import PasswordLockout
from tests.conftest import PASSWORD, build_app
from tests.flows import authorize_params, sign_in

JENNY = "jenny.hinsen@example.com"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy(threshold=10, duration=60, max_duration=3600)


# -- the rule ---------------------------------------------------------------------------


def fail(state: LockoutState, password: str, now: datetime = NOW) -> LockoutState:
    return record_failure(state, fingerprint(b"k", JENNY, password), now, POLICY)


def test_ten_different_wrong_passwords_lock_for_a_minute() -> None:
    state = LockoutState()
    for n in range(9):
        state = fail(state, f"guess-{n}")
    assert seconds_left(state, NOW) == 0
    state = fail(state, "guess-9")
    assert seconds_left(state, NOW) == 60
    assert seconds_left(state, NOW + timedelta(seconds=60)) == 0


def test_the_same_wrong_password_again_does_not_count() -> None:
    state = LockoutState()
    for _ in range(50):
        state = fail(state, "Summer2026!")
    assert state.failures == 1 and seconds_left(state, NOW) == 0


def test_each_lockout_lasts_twice_as_long_up_to_the_limit() -> None:
    assert [POLICY.lock_seconds(n) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920,
                                                             3600, 3600]
    state = LockoutState()
    for round_ in range(2):
        for n in range(10):
            state = fail(state, f"round-{round_}-{n}")
    assert seconds_left(state, NOW) == 120


def test_a_right_password_clears_the_count() -> None:
    state = fail(LockoutState(), "wrong")
    assert record_success(state) == LockoutState()


def test_the_fingerprint_keeps_no_password() -> None:
    print_ = fingerprint(b"deployment-secret", JENNY, "Summer2026!")
    assert len(print_) == 16 and "Summer" not in print_
    assert print_ != fingerprint(b"another-secret", JENNY, "Summer2026!")


# -- in the sign-in page ------------------------------------------------------------------


def journey(client: Any) -> str:
    response = client.get("/authorize?" + urlencode(authorize_params()))
    return urlsplit(response.headers["Location"]).path


def try_passwords(client: Any, email: str, passwords: list[str]) -> str:
    path = journey(client)
    page = ""
    for password in passwords:
        page = sign_in(client, path, email, password).get_data(as_text=True)
    return page


LOCKED = "There have been too many wrong passwords for this email address. Wait 1 minute"
WRONG = "Enter the email address and password for your account"


def test_the_page_says_how_long_to_wait_and_refuses_even_the_right_password(
    app: Any, client: Any, user: str, clock: Any
) -> None:
    page = try_passwords(client, JENNY, [f"wrong-{n}" for n in range(9)])
    assert WRONG in page and LOCKED not in page
    page = try_passwords(client, JENNY, ["wrong-9"])
    assert LOCKED in page
    assert LOCKED in try_passwords(client, JENNY, [PASSWORD])
    clock.advance(61)
    response = sign_in(client, journey(client), JENNY, PASSWORD)
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    with app.app_context():
        assert db.session.query(PasswordLockout).count() == 0


def test_a_lockout_looks_the_same_for_an_address_with_no_account(client: Any) -> None:
    page = try_passwords(client, "nobody@example.com", [f"wrong-{n}" for n in range(10)])
    assert LOCKED in page


def test_retyping_the_same_wrong_password_never_locks(client: Any, user: str) -> None:
    page = try_passwords(client, JENNY, ["Password1!"] * 15)
    assert WRONG in page and LOCKED not in page


def test_an_admin_unlock_lifts_a_lockout(app: Any, client: Any, user: str) -> None:
    try_passwords(client, JENNY, [f"wrong-{n}" for n in range(10)])
    with app.app_context():
        actor = Actor("test", "support")
        assert operations.person_detail(actor, user)["password_locked_until"] is not None
        operations.unlock_person(actor, user)
        assert operations.person_detail(actor, user)["password_locked_until"] is None
    response = sign_in(client, journey(client), JENNY, PASSWORD)
    assert response.status_code == 302


def test_a_password_reset_lifts_a_lockout(app: Any, client: Any, user: str) -> None:
    from idp.journeys.services import SqlJourneyServices

    try_passwords(client, JENNY, [f"wrong-{n}" for n in range(10)])
    with app.test_request_context():
        rt = app.extensions["idp"]
        services = SqlJourneyServices(rt, None, None)
        assert services.lockout_seconds(JENNY) == 60
        services.set_password(JENNY, rt.hasher.hash("A-new-Password-2026"))
        assert services.lockout_seconds(JENNY) == 0


def test_lockout_can_be_switched_off(settings: dict[str, Any], clock: Any, user: str) -> None:
    relaxed = build_app({**settings, "lockout.threshold": 0}, clock)
    page = try_passwords(relaxed.test_client(), JENNY, [f"wrong-{n}" for n in range(12)])
    assert WRONG in page and LOCKED not in page


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_instance_counts_towards_one_lockout(
    app: Any, settings: dict[str, Any], clock: Any, user: str
) -> None:
    """Two processes on one database: wrong passwords on either add up."""
    other = build_app(settings, clock)
    try_passwords(app.test_client(), JENNY, [f"first-{n}" for n in range(5)])
    try_passwords(other.test_client(), JENNY, [f"second-{n}" for n in range(5)])
    assert LOCKED in try_passwords(app.test_client(), JENNY, [PASSWORD])
    with other.app_context():
        db.engine.dispose()


def test_wrong_passwords_are_audited_without_the_password(app: Any, client: Any,
                                                         user: str) -> None:
    from idp.store.models import AuditEvent

    try_passwords(client, JENNY, ["Summer2026!"])
    with app.app_context():
        [event] = db.session.query(AuditEvent).filter_by(event_type="signin.failed").all()
        assert event.user_object_id == user and event.details == {"reason": "wrong password"}
        assert "Summer2026" not in str(event.details)
