"""PKCE (RFC 7636) as Gatehouse enforces it, on authlib's CodeChallenge extension.

* Only S256 (RFC 9700 §2.1.1: "plain" SHOULD NOT be used).
* Public clients MUST send a challenge (RFC 9700 §2.1.1).
* Whenever a challenge was sent, the token request MUST carry a matching verifier, whatever
  the client's type; a missing or wrong verifier is ``invalid_grant`` (RFC 7636 §4.6).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge


class S256CodeChallenge(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if not challenge and grant.request.client.is_public:
            # RFC 9700 §2.1.1: public clients MUST use PKCE.
            raise InvalidRequestError("A public client must send code_challenge (PKCE, S256).")
        if challenge and data.get("code_challenge_method") != "S256":
            # RFC 7636 §4.3 would default to "plain"; RFC 9700 §2.1.1 rules it out.
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        request = grant.request
        challenge = self.get_authorization_code_challenge(request.authorization_code)
        if challenge and not request.form.get("code_verifier"):
            # RFC 7636 §4.6 / RFC 9700 §4.8.2: no verifier, no tokens.
            raise InvalidGrantError("code_verifier is required: the request sent a challenge.")
        super().validate_code_verifier(grant, result)
