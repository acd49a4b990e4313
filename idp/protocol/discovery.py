"""Discovery documents: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2, per authority."""

from __future__ import annotations

from typing import Any

from idp.protocol import keys
from idp.protocol.authority import Authority
from idp.protocol.authorize import RESPONSE_MODES
from idp.protocol.server import SCOPES_SUPPORTED
from idp.runtime import runtime

CLAIMS_SUPPORTED = [
    "sub",
    "oid",
    "iss",
    "tid",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "amr",
    "sid",
    "at_hash",
    "ver",
    "tfp",
    "idp",
    "newUser",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "birthdate",
    "email",
    "email_verified",
    "emails",
    "phone_number",
    "phone_number_verified",
    "address",
]
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def metadata(authority: Authority) -> dict[str, Any]:
    algorithms = keys.algorithms_in_use(runtime().clock.now())
    settings = runtime().settings
    registration = (
        {"registration_endpoint": f"{settings['server.base_url']}/register"}
        if settings["registration.enabled"]
        else {}
    )
    return {
        **registration,
        "issuer": authority.issuer,
        **authority.endpoints(),
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": CLAIMS_SUPPORTED,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS[:3],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        # OIDC Back-Channel Logout 1.0 §2.1 and Front-Channel Logout 1.0 §3: sid is sent.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
    }
