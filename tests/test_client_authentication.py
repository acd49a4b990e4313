"""Client authentication at the token endpoint: private_key_jwt (RFC 7523 §2.2)."""

from __future__ import annotations

import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.extensions import db
from idp.store.clients import save_registration, validate_registration


@pytest.fixture
def signing_client(app, clock):
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    registration = validate_registration({
        "client_id": "signer", "name": "Signs its assertions", "type": "confidential",
        "token_endpoint_auth_method": "private_key_jwt",
        "redirect_uris": ["https://signer.example/cb"],
        "grant_types": ["client_credentials"],
        "jwks": {"keys": [key.as_dict(private=False)]},
    }, "test")
    with app.app_context():
        save_registration(registration, clock.now(), "cli", None)
        db.session.commit()
    return key


def assertion(key, clock, audience="http://127.0.0.1:5000/token", jti=None, sub="signer"):
    now = int(clock.now().timestamp())
    claims = {"iss": sub, "sub": sub, "aud": audience, "iat": now, "exp": now + 60,
              "jti": jti or str(uuid.uuid4())}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _token(client, signed):
    return client.post("/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    })


@pytest.fixture(autouse=True)
def _real_time_for_assertions(clock):
    # joserfc checks exp against the real time; keep the frozen clock near it.
    clock.advance(seconds=time.time() - clock.now().timestamp())


def test_a_client_authenticates_with_a_signed_assertion(client, signing_client, clock):
    response = _token(client, assertion(signing_client, clock))
    assert response.status_code == 200, response.get_json()


def test_an_assertion_cannot_be_replayed(client, signing_client, clock):
    signed = assertion(signing_client, clock, jti="once")
    assert _token(client, signed).status_code == 200
    replay = _token(client, signed)
    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"


def test_an_assertion_for_another_audience_is_refused(client, signing_client, clock):
    response = _token(client, assertion(signing_client, clock, audience="https://other.example"))
    assert response.get_json()["error"] == "invalid_client"


def test_an_assertion_signed_by_another_key_is_refused(client, signing_client, clock):
    stranger = RSAKey.generate_key(2048, parameters={"alg": "RS256"}, auto_kid=True)
    response = _token(client, assertion(stranger, clock))
    assert response.get_json()["error"] == "invalid_client"
