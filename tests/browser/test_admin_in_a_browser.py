"""A support call worked through the admin pages in chromium, every page checked by axe:
an admin signs in with a password and a code by email, finds the caller by phone number
and sees which way they signed up, looks after the account, registers a portal (putting
right a redirect URI with a fragment), reads the audit log and signs out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from idp.admin import operations
from idp.extensions import db
from idp.messaging import read_outbox
from idp.store.models import Identity, User
from tests.browser.walk import Walk
from tests.conftest import PASSWORD, add_user

ADMIN = "alex.admin@leics.example"


def test_an_admin_helps_a_caller_and_registers_a_portal(
    walk: Walk, live_server: Any, outbox: Path
) -> None:
    app = live_server.app
    add_user(app, email=ADMIN, given_name="Alex", family_name="Admin")
    with app.app_context():
        operations.grant_role("test", ADMIN, "admin")
        now = app.extensions["idp"].clock.now()
        caller = User(email="sam.patel@gmail.example", given_name="Sam", family_name="Patel",
                      phone_number="+447759140004", created_at=now, updated_at=now, claims={})
        caller.identities.append(Identity(route="google", issuer="https://accounts.google.com",
                                          subject="123", created_at=now))
        db.session.add(caller)
        db.session.commit()

    walk.open(f"{live_server.url}/admin/")
    assert walk.heading() == "Sign in to Gatehouse administration"
    walk.press("Sign in", {"Email address": ADMIN, "Password": PASSWORD})
    walk.press("Continue", {re.compile("^Email to"): True})
    code = [m for m in read_outbox(outbox, to=ADMIN, channel="email") if m["data"].get("code")]
    walk.press("Verify Code", {"Verification code": str(code[-1]["data"]["code"])})
    assert walk.heading() == "Find a person"

    # "Which way did I sign up?"
    walk.press("Search", {"Email address, phone number, name or object id": "07759 140004"})
    row = walk.page.locator("tr", has_text="Sam Patel")
    assert "Google" in row.inner_text()
    walk.page.get_by_role("link", name="Sam Patel").click()
    walk.arrived()
    assert walk.heading() == "Sam Patel"
    walk.press("Disable account")
    assert "The account is disabled" in walk.text()
    walk.press("Enable account")

    walk.page.get_by_role("link", name="Clients").click()
    walk.arrived()
    walk.page.get_by_role("button", name="Register a client").click()
    walk.arrived()
    walk.press("Register client", {
        "Name": "Library Portal", "Confidential": True,
        "Redirect URIs": "https://library.example/signin-oidc#top",
    })
    assert walk.errors() == ["Redirect URIs entry 'https://library.example/signin-oidc#top' "
                             "must not contain a fragment (RFC 6749 §3.1.2)"]
    walk.press("Register client", {"Redirect URIs": "https://library.example/signin-oidc"})
    assert "Copy the secret now: it is not shown again" in walk.text()
    walk.page.get_by_role("link", name="I have copied the secret: go to Library Portal").click()
    walk.arrived()
    walk.page.get_by_role("button", name="Delete client").click()
    walk.arrived()
    assert walk.heading() == "Delete this client?"
    walk.press("Yes, delete this client")
    assert "has been deleted" in walk.text()

    walk.page.get_by_role("link", name="Audit log").click()
    walk.arrived()
    walk.press("Show events", {"From date": "yesterday"})
    assert walk.errors() == [
        "From date must be a real date written as YYYY-MM-DD, like 2026-11-23"]
    walk.press("Show events", {"From date": "", "Event type": "client."})
    assert "client.registered" in walk.text()

    walk.page.get_by_role("link", name="Signing keys").click()
    walk.arrived()
    walk.press("Rotate signing key")
    assert "is published now" in walk.text()

    walk.press("Sign out")
    assert walk.heading() == "You have signed out"
    walk.open(f"{live_server.url}/admin/")
    assert walk.heading() == "Sign in to Gatehouse administration"
