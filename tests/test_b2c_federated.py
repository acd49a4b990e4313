"""An identity imported from B2C as "federated, google.com" enters the imported account
when the person signs in with Google (played by a second Gatehouse on loopback): the
route lock holds across the move, and the portal sees the B2C objectId."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.migrate.b2c import import_users
from idp.store.models import User
from tests import upstreams
from tests.conftest import build_app
from tests.test_federation_clients import SECRETS, google_at
from tests.test_federation_journeys import federate
from tests.test_seed_journeys import tokens_from
from tests.upstreams import UpstreamGatehouse

make_upstream = upstreams.make_upstream
upstream = upstreams.upstream
facebook = upstreams.facebook

PRIYA = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


def test_an_imported_google_identity_signs_in_to_the_imported_account(
    settings: dict[str, Any], clock: Any, upstream: UpstreamGatehouse,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # The council reuses its Google app registration, so Google's subject is unchanged.
    mapping = {"migration.b2c_issuers": f"google.com=google@{upstream.issuer}"}
    app = build_app(
        {**settings, "server.base_url": upstreams.DOWNSTREAM,
         **google_at(upstream.discovery_url), **mapping},
        clock,
    )
    export = tmp_path / "users.json"
    export.write_text(json.dumps({"value": [{
        "id": PRIYA, "givenName": "Priya", "surname": "Shah", "displayName": "Priya Shah",
        "otherMails": ["priya.shah@example.com"], "accountEnabled": True,
        "identities": [{"signInType": "federated", "issuer": "google.com",
                        "issuerAssignedId": upstream.user}],
    }]}))
    with app.app_context():
        rt = app.extensions["idp"]
        report = import_users([export], [], {**rt.settings, **mapping}, rt.clock.now())
        assert report.counts["created"] == 1, report.lines()
        users_before = db.session.scalar(select(db.func.count()).select_from(User))
    client = app.test_client()
    visitor, verifier = federate(client, "Sign in with Google")
    if visitor.heading() == "Review Account":
        visitor.press("Confirm Details", {"Title": "Ms"})
    claims = tokens_from(client, visitor, verifier)["claims"]
    assert claims["sub"] == PRIYA and claims["oid"] == PRIYA
    assert claims["idp"] == "google.com" and "newUser" not in claims
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == users_before
