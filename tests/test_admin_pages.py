"""The admin pages (/admin): signing in through Gatehouse with a role and a second factor,
what each role sees, every change to people and clients made by pressing the pages'
buttons (with its audit event), form errors that name their field, and the ways access
ends: signing out, a revoked role, the admin lifetime."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer

from idp.admin import operations, signin
from idp.extensions import db
from idp.messaging import read_outbox
from idp.security import audit
from idp.security.digests import digest, new_secret
from idp.store.models import (
    AuditEvent,
    AuthorizationCode,
    BrowserSession,
    Client,
    Identity,
    MfaMethod,
    PendingSignup,
    SigningKey,
    User,
)
from tests.conftest import PASSWORD, add_user, build_app
from tests.flows import csrf_token
from tests.pages import Control, Visitor, _Parser

ADMIN = "alex.admin@leics.example"
HELPER = "sam.support@leics.example"
JENNY = "jenny.hinsen@example.com"


# -- a browser for the admin pages -------------------------------------------------------


class _ParserWithTextareas(_Parser):
    """The page walker's parser, also reading <textarea>s (redirect URIs, one a line)."""

    def __init__(self) -> None:
        super().__init__()
        self._textarea: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "textarea" and self.forms:
            a = {k: (v or "") for k, v in attrs}
            self._textarea = Control("textarea", a.get("name", ""), "textarea", "",
                                     a.get("id", ""))
            self.forms[-1].controls.append(self._textarea)
            return
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
            return
        super().handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        super().handle_data(data)


class AdminVisitor(Visitor):
    """A Visitor that fills textareas and can stop short of the admin callback, to hold
    the code and state the admin policy sends back."""

    hold_callback = False
    held = ""

    def _parse(self) -> _Parser:
        parser = _ParserWithTextareas()
        parser.feed(self.html)
        return parser

    def _request(
        self, method: str, url: str, data: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        status, headers, body = super()._request(method, url, data)
        location = headers.get("Location", "")
        if self.hold_callback and "/admin/callback?" in location:
            self.held = location
            return 200, {}, "<html><body><h1>Held</h1></body></html>"
        return status, headers, body

    def banner(self) -> str:
        """The words of the success notification banner(s)."""
        found = re.findall(r'govuk-notification-banner__heading">\s*(.*?)\s*</p>', self.html,
                           re.S)
        return " ".join(" ".join(f.split()) for f in found)

    def row(self, words: str) -> str:
        """The text of the first table row holding ``words``."""
        for html in re.findall(r"<tr[^>]*>(.*?)</tr>", self.html, re.S):
            text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
            if words in text:
                return text
        raise AssertionError(f"no table row with {words!r}")

    def event_types(self) -> list[str]:
        """The audit log table's Event column, top to bottom."""
        return re.findall(r'<td class="govuk-table__cell"><code>([^<]+)</code>', self.html)

    def links(self) -> list[str]:
        return [" ".join(re.sub(r"<[^>]+>", "", t).split())
                for t in re.findall(r"<a [^>]*>(.*?)</a>", self.html, re.S)]


def staff(app: Any, email: str, role: str | None, **fields: Any) -> str:
    object_id = add_user(app, email=email, **fields)
    if role:
        with app.app_context():
            operations.grant_role("test", email, role)
    return object_id


def pass_second_factor_by_email(visitor: Visitor, outbox: Path, email: str) -> None:
    assert visitor.heading() == "Multi-factor authentication", visitor.text[:400]
    label = next(o for o in _radio_labels(visitor) if o.startswith("Email"))
    visitor.press("Continue", {label: True})
    codes = [m for m in read_outbox(outbox, to=email, channel="email") if m["data"].get("code")]
    visitor.press("Verify Code", {"Verification code": str(codes[-1]["data"]["code"])})


def _radio_labels(visitor: Visitor) -> list[str]:
    return [" ".join(m.split()) for m in
            re.findall(r'class="govuk-label govuk-radios__label"[^>]*>([^<]*)<', visitor.html)]


def sign_in(client: Any, outbox: Path, email: str, start: str = "/admin/",
            hold: bool = False) -> AdminVisitor:
    """Open an admin page and sign in as the admin policy asks: password, then a code."""
    visitor = AdminVisitor(client)
    visitor.open(start)
    assert visitor.heading() == "Sign in to Gatehouse administration", visitor.text[:300]
    visitor.press("Sign in", {"Email address": email, "Password": PASSWORD})
    visitor.hold_callback = hold
    pass_second_factor_by_email(visitor, outbox, email)
    return visitor


@pytest.fixture
def admin(app: Any, client: Any, outbox: Path) -> AdminVisitor:
    staff(app, ADMIN, "admin", given_name="Alex", family_name="Admin")
    return sign_in(client, outbox, ADMIN)


@pytest.fixture
def helper(app: Any, client: Any, outbox: Path) -> AdminVisitor:
    staff(app, HELPER, "support", given_name="Sam", family_name="Support")
    return sign_in(client, outbox, HELPER)


def events(app: Any, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.query(AuditEvent).filter_by(event_type=event_type).all()
        db.session.expunge_all()
        return rows


def person(app: Any, email: str) -> User | None:
    with app.app_context():
        row = db.session.query(User).filter_by(email=email).one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def object_id_of(app: Any, email: str) -> str:
    found = person(app, email)
    assert found is not None
    return found.object_id


def assert_acted_by(event: AuditEvent, app: Any, email: str, role: str) -> None:
    """Every change says who (person and role), and from where."""
    assert event.actor == f"person:{object_id_of(app, email)} ({email})"
    assert event.details["role"] == role
    assert event.ip_address == "127.0.0.1"


def pending_sign_ins(client: Any) -> list[dict[str, Any]]:
    """The state, nonce and verifier this browser holds for its admin sign-ins."""
    cookie = client.get_cookie(signin.PENDING_COOKIE, path="/admin")
    assert cookie is not None
    serializer = URLSafeTimedSerializer("test-secret-key", salt=signin.PENDING_SALT)
    entries: list[dict[str, Any]] = serializer.loads(cookie.value)
    return entries


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- signing in ---------------------------------------------------------------------------


def test_an_admin_signs_in_with_a_password_and_a_second_factor_and_sees_how_people_sign_in(
    app: Any, client: Any, outbox: Path, clock: Any
) -> None:
    staff(app, ADMIN, "admin")
    jenny = add_user(app, email=JENNY, phone_number="+447759140004")
    with app.app_context():
        sam = User(email="sam.patel@gmail.example", given_name="Sam", family_name="Patel",
                   created_at=clock.now(), updated_at=clock.now(), claims={})
        sam.identities.append(Identity(route="google", issuer="https://accounts.google.com",
                                       subject="123", created_at=clock.now()))
        db.session.add(sam)
        db.session.commit()

    visitor = sign_in(client, outbox, ADMIN)
    assert visitor.url.endswith("/admin/")
    assert visitor.heading() == "Find a person"
    assert [link for link in visitor.links() if link in
            ("People", "Clients", "Signing keys", "Audit log")] == [
        "People", "Clients", "Signing keys", "Audit log"]
    assert "Sign out" in visitor.buttons()

    visitor.press("Search", {"Email address, phone number, name or object id": "07759 140004"})
    assert "Jenny Hinsen" in visitor.text and jenny in visitor.html
    assert visitor.row("Jenny Hinsen") == (
        f"Jenny Hinsen {JENNY} +447759140004 Email and password Active")

    visitor.press("Search", {"Email address, phone number, name or object id": "sam patel"})
    assert visitor.row("Sam Patel") == "Sam Patel sam.patel@gmail.example None Google Active"
    assert "Email and password" not in visitor.text

    [signed_in] = events(app, "admin.signed_in")
    assert signed_in.actor == f"person:{object_id_of(app, ADMIN)} ({ADMIN})"
    assert signed_in.details["role"] == "admin" and signed_in.client_id == "gatehouse-admin"


def test_the_search_term_stays_out_of_the_address(admin: AdminVisitor) -> None:
    admin.press("Search", {"Email address, phone number, name or object id": JENNY})
    assert "jenny" not in admin.url and admin.status == 200
    assert admin.field_value("Email address, phone number, name or object id") == JENNY


def test_signing_in_returns_to_the_page_asked_for(app: Any, client: Any, outbox: Path) -> None:
    staff(app, ADMIN, "admin")
    visitor = sign_in(client, outbox, ADMIN, start="/admin/audit?event_type=user.")
    assert visitor.url.endswith("/admin/audit?event_type=user.")
    assert visitor.heading() == "Audit log"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/admin/", "//evil.example/admin/", "/\\evil.example/admin",
     "/journey/x", "/adminx", "javascript:alert(1)", "/admin/../authorize",
     "/admin/signin?next=/admin/", "/admin/api/users", "/admin/\r\nSet-Cookie: x=1"],
)
def test_the_next_page_is_always_an_admin_page(app: Any, next_url: str) -> None:
    with app.test_request_context():
        assert signin.safe_next(next_url) == "/admin/"
        assert signin.safe_next("/admin/people/abc?x=1") == "/admin/people/abc?x=1"


def test_the_internal_client_is_made_when_first_needed_and_put_right(
    app: Any, client: Any
) -> None:
    with app.app_context():
        assert db.session.query(Client).filter_by(client_id="gatehouse-admin").count() == 0
    client.get("/admin/signin")
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id="gatehouse-admin").one()
        assert row.source == "internal" and row.client_type == "public"
        assert row.metadata_["redirect_uris"] == ["http://127.0.0.1:5000/admin/callback"]
        assert row.metadata_["policies"] == ["B2C_1_admin_signin"]
        row.metadata_ = {**row.metadata_, "redirect_uris": ["https://evil.example/cb"]}
        db.session.commit()
    client.get("/admin/signin")
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id="gatehouse-admin").one()
        assert row.metadata_["redirect_uris"] == ["http://127.0.0.1:5000/admin/callback"]


def test_a_person_without_a_role_is_refused(app: Any, client: Any, outbox: Path) -> None:
    staff(app, JENNY, None)
    visitor = sign_in(client, outbox, JENNY)
    assert visitor.status == 403
    assert visitor.heading() == "Your account does not have access to Gatehouse administration"
    assert "Sign out" not in visitor.buttons()
    assert client.get("/admin/").status_code == 303  # still not in
    [refused] = events(app, "admin.signin_refused")
    assert refused.user_object_id == object_id_of(app, JENNY)
    assert refused.details["reason"] == "no role"


def test_a_sign_in_without_a_second_factor_is_refused_even_if_the_policy_forgot_to_ask(
    settings: dict[str, Any], clock: Any
) -> None:
    # admin.policy set by mistake to a password-only policy.
    app = build_app({**settings, "admin.policy": "B2C_1_signin"}, clock)
    staff(app, ADMIN, "admin")
    client = app.test_client()
    visitor = AdminVisitor(client)
    visitor.open("/admin/")
    visitor.press("Sign in", {"Email address": ADMIN, "Password": PASSWORD})
    assert visitor.status == 403
    assert visitor.heading() == "Sign in with a second factor to use Gatehouse administration"
    assert client.get("/admin/").status_code == 303
    assert events(app, "admin.signin_refused")[0].details["reason"] == "no second factor"


def _forge(app: Any, held: str, **changes: Any) -> str:
    """A code row like the one the admin policy issued, with ``changes``: its value."""
    value = new_secret()
    with app.app_context():
        real = db.session.query(AuthorizationCode).filter_by(
            code_hash=digest(query(held)["code"])).one()
        columns = {c.name: getattr(real, c.key) for c in AuthorizationCode.__mapper__.columns
                   if c.key not in ("id", "code_hash")}
        db.session.add(AuthorizationCode(**{**columns, "code_hash": digest(value), **changes}))
        db.session.commit()
    return value


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"amr": ["pwd"]}, 403),  # a password-only sign-in
        ({"client_id": "spa"}, 400),  # a code issued to another client
        ({"policy_id": "B2C_1_signin"}, 400),  # through another policy
        ({"redirect_uri": "http://127.0.0.1:8000/spa"}, 400),
        ({"code_challenge": "another-browsers-challenge"}, 400),  # PKCE
        ({"nonce": "another-sign-ins-nonce"}, 400),
        ({"used_at": "now"}, 400),  # already used
        ({"expires_at": "past"}, 400),
    ],
)
def test_a_forged_code_never_gets_in(
    app: Any, client: Any, outbox: Path, clock: Any, changes: dict[str, Any], status: int
) -> None:
    staff(app, ADMIN, "admin")
    visitor = sign_in(client, outbox, ADMIN, hold=True)
    assert visitor.held
    if changes.get("used_at") == "now":
        changes["used_at"] = clock.now()
    if changes.get("expires_at") == "past":
        changes["expires_at"] = clock.now() - timedelta(seconds=1)
    forged = _forge(app, visitor.held, **changes)
    visitor.hold_callback = False
    visitor.open("/admin/callback?" + urlencode({"code": forged,
                                                 "state": query(visitor.held)["state"]}))
    assert visitor.status == status
    assert "Sign out" not in visitor.buttons()
    assert client.get("/admin/").status_code == 303
    assert events(app, "admin.signed_in") == []


def test_a_callback_with_another_state_is_refused_and_the_right_one_still_works(
    app: Any, client: Any, outbox: Path
) -> None:
    staff(app, ADMIN, "admin")
    visitor = sign_in(client, outbox, ADMIN, hold=True)
    visitor.hold_callback = False
    code = query(visitor.held)["code"]
    visitor.open("/admin/callback?" + urlencode({"code": code, "state": "guessed"}))
    assert visitor.status == 400 and visitor.heading() == "Sign-in did not finish"
    visitor.open("/admin/callback?" + urlencode({"code": code}))
    assert visitor.status == 400
    visitor.open(visitor.held)
    assert visitor.heading() == "Find a person"


def test_a_code_replayed_here_or_in_another_browser_is_refused(
    app: Any, client: Any, outbox: Path
) -> None:
    staff(app, ADMIN, "admin")
    visitor = sign_in(client, outbox, ADMIN, hold=True)
    visitor.hold_callback = False
    visitor.open(visitor.held)
    assert visitor.heading() == "Find a person"
    elsewhere = AdminVisitor(app.test_client())
    elsewhere.open(visitor.held)
    assert elsewhere.status == 400
    assert elsewhere.client.get("/admin/").status_code == 303
    visitor.press("Sign out")
    visitor.open(visitor.held)
    assert visitor.status == 400
    assert client.get("/admin/").status_code == 303


def test_a_code_carried_to_another_browser_with_its_cookie_is_refused(
    app: Any, client: Any, outbox: Path
) -> None:
    """Even with the pending sign-in cookie copied, the code names this browser's session."""
    staff(app, ADMIN, "admin")
    visitor = sign_in(client, outbox, ADMIN, hold=True)
    thief = app.test_client()
    cookie = client.get_cookie(signin.PENDING_COOKIE, path="/admin")
    thief.set_cookie(signin.PENDING_COOKIE, cookie.value, path="/admin")
    stolen = AdminVisitor(thief)
    stolen.open(visitor.held)
    assert stolen.status == 400
    assert thief.get("/admin/").status_code == 303


def test_a_cancelled_sign_in_says_it_did_not_finish(client: Any) -> None:
    visitor = AdminVisitor(client)
    visitor.open("/admin/callback?error=access_denied&state=x")
    assert visitor.status == 400
    assert visitor.heading() == "Sign-in did not finish"
    assert "Sign in again" in visitor.links()


def test_the_sign_in_cookie_keeps_its_secrets_and_tabs_apart(client: Any) -> None:
    first = client.get("/admin/signin?next=/admin/clients")
    second = client.get("/admin/signin?next=/admin/keys")
    [one, two] = pending_sign_ins(client)
    assert one["state"] != two["state"] and one["verifier"] != two["verifier"]
    assert (one["next"], two["next"]) == ("/admin/clients", "/admin/keys")
    sent = query(second.headers["Location"])
    assert sent["code_challenge_method"] == "S256" and sent["client_id"] == "gatehouse-admin"
    assert two["verifier"] not in second.headers["Location"]
    assert "HttpOnly" in first.headers["Set-Cookie"] and "Path=/admin" in first.headers[
        "Set-Cookie"] and "SameSite=Lax" in first.headers["Set-Cookie"]


# -- what each role sees --------------------------------------------------------------------


def test_support_sees_no_clients_or_keys_and_is_refused_them(
    app: Any, helper: AdminVisitor
) -> None:
    assert "Clients" not in helper.links() and "Signing keys" not in helper.links()
    assert "People" in helper.links() and "Audit log" in helper.links()
    for path in ("/admin/clients", "/admin/clients/new", "/admin/clients/portal",
                 "/admin/clients/portal/delete", "/admin/keys"):
        helper.open(path)
        assert helper.status == 403, path
        assert helper.heading() == "You cannot use this page"
    token = csrf_token(helper.html)
    for path in ("/admin/keys/rotate", "/admin/clients/portal/disable",
                 "/admin/clients/portal/rotate-secret"):
        assert helper.client.post(path, data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.query(Client).filter_by(client_id="portal").one().enabled
        assert db.session.query(SigningKey).count() == 1


def test_every_admin_page_is_kept_out_of_caches(admin: AdminVisitor) -> None:
    for path in ("/admin/", "/admin/clients", "/admin/keys", "/admin/audit",
                 "/admin/signin", "/admin/callback?error=x"):
        response = admin.client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        if response.status_code != 303:
            assert response.mimetype == "text/html", path


def test_a_signed_in_admin_may_call_the_api_with_the_csrf_header(
    app: Any, admin: AdminVisitor
) -> None:
    add_user(app, email=JENNY)
    found = admin.client.get("/admin/api/users?q=jenny")
    assert found.status_code == 200 and found.json["users"][0]["email"] == JENNY
    jenny = found.json["users"][0]["object_id"]
    refused = admin.client.post(f"/admin/api/users/{jenny}/disable")
    assert refused.status_code == 400 and refused.json["field"] == "X-CSRFToken"
    token = csrf_token(admin.html)
    done = admin.client.post(f"/admin/api/users/{jenny}/disable",
                             headers={"X-CSRFToken": token})
    assert done.status_code == 200
    assert_acted_by(events(app, "user.disabled")[0], app, ADMIN, "admin")


# -- people -------------------------------------------------------------------------------


def open_person(visitor: AdminVisitor, term: str) -> None:
    visitor.open("/admin/")
    visitor.press("Search", {"Email address, phone number, name or object id": term})
    link = re.search(r'href="(/admin/people/[^"]+)"', visitor.html)
    assert link, visitor.text
    visitor.open(link.group(1))


def test_support_disables_and_enables_an_account(app: Any, helper: AdminVisitor) -> None:
    add_user(app, email=JENNY)
    open_person(helper, "jenny")
    assert helper.heading() == "Jenny Hinsen"
    assert "Email and password" in helper.text
    helper.press("Disable account")
    assert "The account is disabled" in helper.banner()
    assert person(app, JENNY).enabled is False  # type: ignore[union-attr]
    assert "Enable account" in helper.buttons() and "Disable account" not in helper.buttons()
    assert_acted_by(events(app, "user.disabled")[0], app, HELPER, "support")
    helper.press("Enable account")
    assert "The account is enabled" in helper.banner()
    assert person(app, JENNY).enabled is True  # type: ignore[union-attr]
    assert_acted_by(events(app, "user.enabled")[0], app, HELPER, "support")


def test_support_resets_second_factors(app: Any, helper: AdminVisitor, clock: Any) -> None:
    add_user(app, email=JENNY)
    with app.app_context():
        jenny = db.session.query(User).filter_by(email=JENNY).one()
        db.session.add(MfaMethod(user_id=jenny.id, kind="phone", phone_number="+447400123456",
                                 phone_type="mobile", created_at=clock.now()))
        db.session.commit()
    open_person(helper, JENNY)
    assert "Phone +447400123456 (mobile)" in helper.text
    helper.press("Reset MFA")
    assert "Second factors are reset" in helper.banner()
    assert "None set up" in helper.text
    with app.app_context():
        assert db.session.query(MfaMethod).filter(
            MfaMethod.user_id == db.session.query(User.id).filter_by(email=JENNY).scalar_subquery()
        ).count() == 0
    [reset] = events(app, "mfa.reset")
    assert_acted_by(reset, app, HELPER, "support")
    assert reset.details["methods_removed"] == 1


def test_support_unlocks_a_blocked_account(app: Any, helper: AdminVisitor, clock: Any) -> None:
    add_user(app, email=JENNY)
    open_person(helper, JENNY)
    assert "Unlock" not in helper.buttons() and "Not locked" in helper.text
    with app.app_context():
        db.session.query(User).filter_by(email=JENNY).one().mfa_blocked_until = (
            clock.now() + timedelta(minutes=15))
        db.session.commit()
    helper.open(helper.url)
    assert "23 Nov 2026, 09:15:00 UTC (second factors)" in helper.text
    helper.press("Unlock")
    assert "The account is unlocked" in helper.banner()
    assert "Unlock" not in helper.buttons()
    assert person(app, JENNY).mfa_blocked_until is None  # type: ignore[union-attr]
    assert_acted_by(events(app, "user.unlocked")[0], app, HELPER, "support")


def test_support_resends_an_activation_email(
    app: Any, helper: AdminVisitor, outbox: Path, clock: Any
) -> None:
    with app.app_context():
        row = PendingSignup(digest="old-digest", email="new.parent@example.com",
                            password_hash="x", claims={}, created_at=clock.now(),
                            expires_at=clock.now() - timedelta(minutes=1))
        db.session.add(row)
        db.session.flush()
        row.first_id = row.id
        db.session.commit()
    helper.press("Search", {"Email address, phone number, name or object id": "new.parent"})
    assert "Waiting for activation" in helper.text
    assert "No account matches" in helper.text
    assert "Expired 23 Nov 2026, 08:59:00 UTC" in helper.row("new.parent@example.com")
    helper.press("Resend activation email to new.parent@example.com")
    assert "A new activation email has been sent to new.parent@example.com" in helper.banner()
    assert helper.heading() == "Find a person" and "Works until" in helper.text
    assert "/activate/" in outbox.read_text()
    [resent] = events(app, "signup.activation_resent")
    assert_acted_by(resent, app, HELPER, "support")
    assert resent.details["email"] == "new.parent@example.com"


def test_support_deletes_an_account_after_confirming(app: Any, helper: AdminVisitor) -> None:
    jenny = add_user(app, email=JENNY)
    open_person(helper, JENNY)
    helper.open(f"/admin/people/{jenny}/delete")
    assert helper.heading() == "Delete this account?"
    assert person(app, JENNY) is not None
    helper.press("Yes, delete this account")
    assert helper.heading() == "Find a person"
    assert "The account for Jenny Hinsen has been deleted" in helper.banner()
    assert person(app, JENNY) is None
    [deleted] = events(app, "user.deleted")
    assert_acted_by(deleted, app, HELPER, "support")
    assert deleted.user_object_id == jenny
    helper.open(f"/admin/people/{jenny}")
    assert helper.status == 404


def test_nobody_disables_or_deletes_their_own_account(app: Any, admin: AdminVisitor) -> None:
    open_person(admin, ADMIN)
    admin.press("Disable account")
    assert admin.status == 409
    assert "That is your own account: ask another admin to change it." in admin.text
    assert person(app, ADMIN).enabled is True  # type: ignore[union-attr]
    admin.open(f"/admin/people/{object_id_of(app, ADMIN)}/delete")
    admin.press("Yes, delete this account")
    assert admin.status == 409 and person(app, ADMIN) is not None


def test_a_search_needs_a_term(helper: AdminVisitor) -> None:
    helper.press("Search", {"Email address, phone number, name or object id": "  "})
    assert helper.status == 400
    assert helper.errors() == ["Enter an email address, phone number, name or object id"]


def test_a_form_sent_without_its_csrf_token_changes_nothing(
    app: Any, helper: AdminVisitor
) -> None:
    jenny = add_user(app, email=JENNY)
    refused = helper.client.post(f"/admin/people/{jenny}/disable")
    assert refused.status_code == 400
    assert "The form could not be sent" in refused.get_data(as_text=True)
    assert helper.client.post(f"/admin/people/{jenny}/disable",
                              data={"csrf_token": "forged"}).status_code == 400
    assert person(app, JENNY).enabled is True  # type: ignore[union-attr]
    assert events(app, "user.disabled") == []


# -- clients -------------------------------------------------------------------------------

NEW_CLIENT: dict[str, str | bool] = {
    "Name": "Library Portal",
    "Confidential": True,
    "Redirect URIs": "https://library.example/signin-oidc\nhttps://library.example/alt\n",
    "Post-logout redirect URIs": "https://library.example/",
    "Sign in (B2C_1_signin)": True,
}


def register(admin: AdminVisitor, **changes: Any) -> None:
    admin.open("/admin/clients")
    admin.open("/admin/clients/new")
    admin.press("Register client", {**NEW_CLIENT, **changes},
                choose={"Token endpoint authentication method": "client_secret_basic"})


def test_an_admin_registers_a_client_and_sees_its_secret_once(
    app: Any, admin: AdminVisitor
) -> None:
    register(admin)
    assert admin.status == 201
    assert "Copy the secret now: it is not shown again" in admin.text
    client_id = re.search(r'id="client-id">([^<]+)<', admin.html).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="client-secret">([^<]+)<', admin.html).group(1)  # type: ignore[union-attr]
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client_id).one()
        assert row.secret_hash == digest(secret) and row.source == "api"
        assert row.metadata_["redirect_uris"] == ["https://library.example/signin-oidc",
                                                  "https://library.example/alt"]
        assert row.metadata_["policies"] == ["B2C_1_signin"]
        assert row.metadata_["token_endpoint_auth_method"] == "client_secret_basic"
    [registered] = events(app, "client.registered")
    assert_acted_by(registered, app, ADMIN, "admin")
    admin.open(f"/admin/clients/{client_id}")
    assert secret not in admin.html
    admin.open("/admin/clients")
    assert "Library Portal" in admin.text and "The admin pages or API" in admin.text


def test_sending_the_registration_form_twice_registers_one_client(
    app: Any, admin: AdminVisitor
) -> None:
    admin.open("/admin/clients/new")
    form = {"csrf_token": csrf_token(admin.html),
            "once": re.search(r'name="once" value="([^"]+)"', admin.html).group(1),  # type: ignore[union-attr]
            "name": "Twin", "type": "public",
            "redirect_uris": "https://twin.example/cb"}
    assert admin.client.post("/admin/clients/new", data=form).status_code == 303
    again = admin.client.post("/admin/clients/new", data=form)
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/clients")
    with app.app_context():
        assert db.session.query(Client).filter_by(name="Twin").count() == 1


def test_a_public_client_is_registered_without_a_secret(app: Any, admin: AdminVisitor) -> None:
    register(admin, Confidential=False, Public=True)
    assert admin.status == 200
    assert "Library Portal is registered" in admin.banner()
    assert "Client secret" not in admin.text
    with app.app_context():
        row = db.session.query(Client).filter_by(name="Library Portal").one()
        assert row.client_type == "public" and row.secret_hash is None
        assert row.metadata_["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"Redirect URIs": "https://library.example/cb#top"},
         ["Redirect URIs entry 'https://library.example/cb#top' must not contain a fragment "
          "(RFC 6749 §3.1.2)"]),
        ({"Redirect URIs": "http://library.example/cb"},
         ["Redirect URIs entry 'http://library.example/cb' must use https (plain http is "
          "allowed only for loopback addresses)"]),
        ({"Redirect URIs": ""}, ["Enter at least one redirect URI"]),
        ({"Name": ""}, ["Enter a name for the client"]),
        ({"Confidential": False}, ["Select whether the client is public or confidential"]),
        ({"Post-logout redirect URIs": "library.example/"},
         ["Post-logout redirect URIs entry 'library.example/' must be an absolute URI"]),
    ],
)
def test_a_registration_error_names_the_field_and_keeps_what_was_typed(
    app: Any, admin: AdminVisitor, changes: dict[str, Any], errors: list[str]
) -> None:
    register(admin, **changes)
    assert admin.status == 400
    assert admin.errors() == errors  # and the page walker checked each is beside its field
    assert admin.field_value("Name") == changes.get("Name", "Library Portal")
    with app.app_context():
        assert db.session.query(Client).filter_by(source="api").count() == 0


def test_an_admin_edits_rotates_disables_and_deletes_a_client(
    app: Any, admin: AdminVisitor, clock: Any
) -> None:
    register(admin)
    client_id = re.search(r'id="client-id">([^<]+)<', admin.html).group(1)  # type: ignore[union-attr]
    old_secret = re.search(r'id="client-secret">([^<]+)<', admin.html).group(1)  # type: ignore[union-attr]
    admin.open(f"/admin/clients/{client_id}")

    admin.press("Save changes", {"Name": "County Library",
                                 "Redirect URIs": "https://library.example/new-callback"})
    assert "Your changes are saved" in admin.banner()
    assert admin.heading() == "County Library"
    admin.press("Save changes", {"Redirect URIs": "https://library.example/cb#frag"})
    assert admin.status == 400
    assert admin.errors() == ["Redirect URIs entry 'https://library.example/cb#frag' must not "
                              "contain a fragment (RFC 6749 §3.1.2)"]
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client_id).one()
        assert row.name == "County Library"
        assert row.metadata_["redirect_uris"] == ["https://library.example/new-callback"]
    assert_acted_by(events(app, "client.updated")[0], app, ADMIN, "admin")

    admin.open(f"/admin/clients/{client_id}")
    admin.press("Rotate secret", choose={"Keep the old secret working for": "1 hour"})
    assert "Copy the secret now: it is not shown again" in admin.text
    assert "The old secret keeps working until 23 Nov 2026, 10:00:00 UTC" in admin.text
    new_secret_value = re.search(r'id="client-secret">([^<]+)<', admin.html).group(1)  # type: ignore[union-attr]
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client_id).one()
        assert row.secret_hash == digest(new_secret_value)
        assert row.previous_secret_hash == digest(old_secret)
    [rotated] = events(app, "client.secret_rotated")
    assert_acted_by(rotated, app, ADMIN, "admin")
    assert rotated.details["overlap_seconds"] == 3600

    admin.open(f"/admin/clients/{client_id}")
    admin.press("Disable client")
    assert "County Library is disabled" in admin.banner()
    assert "Enable client" in admin.buttons()
    admin.press("Enable client")
    assert "County Library is enabled" in admin.banner()
    assert_acted_by(events(app, "client.disabled")[0], app, ADMIN, "admin")
    assert_acted_by(events(app, "client.enabled")[0], app, ADMIN, "admin")

    admin.open(f"/admin/clients/{client_id}/delete")
    assert admin.heading() == "Delete this client?"
    admin.press("Yes, delete this client")
    assert admin.heading() == "Clients"
    assert f"County Library ({client_id}) has been deleted" in admin.banner()
    with app.app_context():
        assert db.session.query(Client).filter_by(client_id=client_id).count() == 0
    assert_acted_by(events(app, "client.deleted")[0], app, ADMIN, "admin")


def test_rotating_twice_by_resending_the_form_keeps_the_old_secrets_overlap(
    app: Any, admin: AdminVisitor
) -> None:
    admin.open("/admin/clients/portal")  # a file client: no rotate form; use one of ours
    register(admin)
    client_id = re.search(r'id="client-id">([^<]+)<', admin.html).group(1)  # type: ignore[union-attr]
    admin.open(f"/admin/clients/{client_id}")
    form = {"csrf_token": csrf_token(admin.html),
            "once": re.search(r'name="once" value="([^"]+)"', admin.html).group(1),  # type: ignore[union-attr]
            "overlap_seconds": "3600"}
    assert admin.client.post(f"/admin/clients/{client_id}/rotate-secret",
                             data=form).status_code == 200
    again = admin.client.post(f"/admin/clients/{client_id}/rotate-secret", data=form)
    assert again.status_code == 303
    assert len(events(app, "client.secret_rotated")) == 1


def test_clients_from_files_are_changed_in_their_files(app: Any, admin: AdminVisitor) -> None:
    admin.open("/admin/clients")
    assert "A file in clients/" in admin.text
    admin.open("/admin/clients/portal")
    assert ("Registered by a file in clients/: change the file and run idp clients sync"
            in admin.text)
    assert "Save changes" not in admin.buttons() and "Rotate secret" not in admin.buttons()
    assert "Delete client" not in admin.links()
    assert "Disable client" in admin.buttons()
    token = csrf_token(admin.html)
    forced = admin.client.post("/admin/clients/portal", data={
        "csrf_token": token, "name": "Renamed", "redirect_uris": "https://x.example/cb"})
    assert forced.status_code == 409
    assert "registered by a file in clients/" in forced.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Client).filter_by(client_id="portal").one().name != "Renamed"
    admin.open("/admin/clients/gatehouse-admin")
    assert "belongs to Gatehouse itself" in admin.text
    assert "Disable client" not in admin.buttons()


# -- signing keys and the audit log ---------------------------------------------------------


def test_an_admin_rotates_the_signing_key(app: Any, admin: AdminVisitor) -> None:
    admin.open("/admin/keys")
    assert "Signing now" in admin.text
    admin.press("Rotate signing key")
    assert "A new signing key" in admin.banner() and "is published now" in admin.banner()
    assert "Published, not signing yet" in admin.text
    with app.app_context():
        assert db.session.query(SigningKey).count() == 2
    assert_acted_by(events(app, "keys.rotated")[0], app, ADMIN, "admin")


def test_the_audit_log_filters_by_person_type_and_date_and_pages_back(
    app: Any, admin: AdminVisitor, clock: Any
) -> None:
    jenny = add_user(app, email=JENNY)
    with app.app_context():
        user = db.session.query(User).filter_by(email=JENNY).one()
        for _ in range(55):
            earlier = audit.record("signin.succeeded", user=user, details={"route": "local"})
            earlier.occurred_at = clock.now() - timedelta(days=2)
        audit.record("user.disabled", user=user, actor="cli:root@box", details={"role": "admin"})
        db.session.commit()
    admin.open("/admin/audit")
    admin.press("Show events", {"Person": JENNY})
    assert JENNY not in admin.url and f"user={jenny}" in admin.url
    assert admin.event_types() == ["user.disabled"] + ["signin.succeeded"] * 49
    assert "Older events" in admin.links()
    older = re.search(r'href="([^"]*before=[^"]*)"', admin.html).group(1)  # type: ignore[union-attr]
    admin.open(older.replace("&amp;", "&"))
    assert admin.event_types() == ["signin.succeeded"] * 6
    assert f"user={jenny}" in admin.url and "Older events" not in admin.links()

    admin.open("/admin/audit")
    admin.press("Show events", {"Event type": "user."})
    assert admin.event_types() == ["user.disabled"]
    assert "cli:root@box" in admin.row("user.disabled")

    admin.open("/admin/audit")
    admin.press("Show events", {"From date": "2026-11-21", "To date": "2026-11-21",
                                "Person": jenny})
    assert admin.event_types() == ["signin.succeeded"] * 50


@pytest.mark.parametrize(
    ("fill", "errors"),
    [
        ({"From date": "23/11/2026"},
         ["From date must be a real date written as YYYY-MM-DD, like 2026-11-23"]),
        ({"To date": "2026-02-30"},
         ["To date must be a real date written as YYYY-MM-DD, like 2026-11-23"]),
        ({"From date": "2026-11-24", "To date": "2026-11-23"},
         ["To date must be the same as or after the from date"]),
        ({"Person": "nobody@example.com"},
         ["No account has this email address. Enter the person's object id to see the "
          "events of a deleted account"]),
    ],
)
def test_a_bad_audit_filter_names_its_field(
    admin: AdminVisitor, fill: dict[str, str | bool], errors: list[str]
) -> None:
    admin.open("/admin/audit")
    admin.press("Show events", fill)
    assert admin.status == 400
    assert admin.errors() == errors


def test_support_reads_only_the_events_about_people(app: Any, helper: AdminVisitor) -> None:
    with app.app_context():
        audit.record("client.registered", client_id="portal", actor="cli:root@box")
        db.session.commit()
    helper.open("/admin/audit")
    shown = helper.event_types()
    assert shown[0] == "admin.signed_in" and "admin.role_granted" in shown
    assert "client.registered" not in shown


# -- how access ends ------------------------------------------------------------------------


def test_revoking_the_role_ends_access_at_once(app: Any, admin: AdminVisitor) -> None:
    assert admin.client.get("/admin/").status_code == 200
    with app.app_context():
        operations.revoke_role("test", ADMIN)
    response = admin.client.get("/admin/clients")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/signin?next=/admin/clients")


def test_a_role_changed_to_support_takes_effect_at_once(app: Any, admin: AdminVisitor) -> None:
    with app.app_context():
        operations.grant_role("test", ADMIN, "support")
    assert admin.client.get("/admin/clients").status_code == 403


def test_signing_out_ends_the_admin_pages_and_the_browser_session(
    app: Any, admin: AdminVisitor
) -> None:
    admin.press("Sign out")
    assert admin.heading() == "You have signed out"
    assert admin.client.get("/admin/").status_code == 303
    with app.app_context():
        [session_row] = db.session.query(BrowserSession).all()
        assert session_row.ended_at is not None


def test_a_copied_session_cookie_is_worthless_after_signing_out(
    app: Any, admin: AdminVisitor
) -> None:
    cookie = admin.client.get_cookie("gatehouse_session")
    admin.press("Sign out")
    replay = app.test_client()
    replay.set_cookie("gatehouse_session", cookie.value)
    assert replay.get("/admin/").status_code == 303


def test_disabling_an_admins_account_ends_their_access(app: Any, admin: AdminVisitor) -> None:
    with app.app_context():
        db.session.query(User).filter_by(email=ADMIN).one().enabled = False
        db.session.commit()
    assert admin.client.get("/admin/").status_code == 303


def test_an_admin_sign_in_lasts_admin_session_lifetime(
    app: Any, admin: AdminVisitor, clock: Any
) -> None:
    clock.advance(seconds=1800)
    assert admin.client.get("/admin/").status_code == 200
    clock.advance(seconds=1799)
    assert admin.client.get("/admin/").status_code == 200
    clock.advance(seconds=1)
    response = admin.client.get("/admin/keys")
    assert response.status_code == 303
    assert "/admin/signin?next=/admin/keys" in response.headers["Location"]


def test_an_unfinished_sign_in_cookie_expires(client: Any, clock: Any) -> None:
    client.get("/admin/signin")
    assert len(pending_sign_ins(client)) == 1
    clock.advance(seconds=signin.PENDING_MAX_AGE)
    client.get("/admin/signin")
    assert len(pending_sign_ins(client)) == 1  # the stale one was dropped


def test_the_admin_pages_client_gets_no_tokens_from_the_token_endpoint(
    app: Any, client: Any, outbox: Path
) -> None:
    """Its codes are redeemed in-process; the token endpoint does not know the client."""
    client.get("/admin/signin")  # makes the internal client
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": "anything", "client_id": "gatehouse-admin",
        "redirect_uri": "http://127.0.0.1:5000/admin/callback", "code_verifier": "x" * 43})
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"
