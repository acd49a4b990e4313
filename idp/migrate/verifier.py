"""Ask the old tenant whether a password is right: a resource owner password grant.

B2C cannot export password hashes, so the first time an imported person signs in, their
password goes once to the old tenant's token endpoint (B2C's ROPC user flow, or the
tenant directory's own endpoint). Three answers matter::

    verifier = PasswordVerifier.from_settings(settings)
    verifier.check("jenny@example.com", password, object_id)
    # Verdict("valid", "…")        tokens came back for this person: keep the password
    # Verdict("invalid", "…")      the old tenant says the password is wrong
    # Verdict("unavailable", "…")  no answer, a timeout, or the old tenant wants more
    #                              than a password (MFA, an expired password): send a link

The password is sent in the request body only. Nothing here logs a request body, a
response body or an exception that could hold one; reasons are short fixed words.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import requests

log = logging.getLogger(__name__)

Outcome = Literal["valid", "invalid", "unavailable"]

#: Error codes (Entra AADSTS…, B2C AADB2C…) that mean the password was right or could be,
#: but the old tenant needs an interaction a password grant cannot have.
NEEDS_INTERACTION = frozenset({
    "50076", "50079", "50072", "50074",  # multi-factor authentication required
    "50055", "50144",  # password expired
    "50053",  # locked by the old tenant's own lockout: it cannot say
    "50158",  # an external security challenge
    "65001",  # consent
    "AADB2C90080",  # B2C: password expired
})
#: Codes that say plainly the username or password is wrong.
WRONG_PASSWORD = frozenset({"50126", "AADB2C90225", "AADB2C90053"})
_CODE_IN_TEXT = re.compile(r"\bAADSTS(\d+)\b|\b(AADB2C\d{5})\b")


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    #: A short fixed word for the audit log: never anything the old tenant or person sent.
    reason: str


@dataclass
class PasswordVerifier:
    url: str
    client_id: str
    client_secret: str
    scope: str
    response_type: str
    timeout: float
    session: requests.Session

    @classmethod
    def from_settings(
        cls, settings: dict[str, Any], environ: dict[str, str] | None = None
    ) -> PasswordVerifier | None:
        """None when no verifier is configured (imported people are sent a link)."""
        url = str(settings["migration.verifier_url"]).strip()
        if not url:
            return None
        environ = dict(os.environ if environ is None else environ)
        client_id = str(settings["migration.verifier_client_id"]).strip()
        secret_env = str(settings["migration.verifier_client_secret_env"]).strip()
        return cls(
            url=url,
            client_id=client_id,
            client_secret=environ.get(secret_env, "") if secret_env else "",
            scope=str(settings["migration.verifier_scope"]).replace("{client_id}", client_id),
            response_type=str(settings["migration.verifier_response_type"]).strip(),
            timeout=float(settings["migration.verifier_timeout"]),
            session=requests.Session(),
        )

    def check(self, username: str, password: str, object_id: str) -> Verdict:
        form = {
            "grant_type": "password",
            "client_id": self.client_id,
            "username": username,
            "password": password,
            "scope": self.scope,
        }
        if self.response_type:
            form["response_type"] = self.response_type
        if self.client_secret:
            form["client_secret"] = self.client_secret
        try:
            answer = self.session.post(
                self.url, data=form, timeout=self.timeout, allow_redirects=False,
                headers={"Accept": "application/json"},
            )
        except requests.Timeout:
            log.warning("password verifier did not answer within %ss", self.timeout)
            return Verdict("unavailable", "timeout")
        except requests.RequestException as error:
            # The exception's text can quote the URL but never the body; keep its class only.
            log.warning("password verifier unreachable (%s)", type(error).__name__)
            return Verdict("unavailable", "unreachable")
        body = _json(answer)
        if answer.status_code == 200:
            return _judge_tokens(body, object_id)
        return _judge_error(answer.status_code, body)


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _judge_tokens(body: dict[str, Any], object_id: str) -> Verdict:
    if not body.get("access_token") and not body.get("id_token"):
        log.warning("password verifier answered 200 without tokens")
        return Verdict("unavailable", "no_tokens")
    subjects = _subjects(body.get("id_token")) or _subjects(body.get("access_token"))
    if not subjects:
        # Tokens that do not say whose they are vouch for nobody in particular.
        log.warning("password verifier's tokens name no subject (ask for an ID token)")
        return Verdict("unavailable", "no_subject")
    if object_id.lower() not in subjects:
        # Right password, someone else's account: the export and the tenant disagree.
        log.warning("password verifier's tokens are for another account")
        return Verdict("unavailable", "other_subject")
    return Verdict("valid", "tokens")


def _subjects(id_token: Any) -> set[str]:
    """oid and sub of an ID token received straight from the token endpoint over TLS
    (OIDC Core §3.1.3.7 lets TLS stand in for the signature there)."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return set()
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return set()
    if not isinstance(claims, dict):
        return set()
    return {str(claims[k]).lower() for k in ("oid", "sub") if claims.get(k)}


def _codes(body: dict[str, Any]) -> set[str]:
    """The error codes the answer names: its ``error_codes`` list, and AADSTS… or AADB2C…
    codes written in its description (never any other number, such as a trace id)."""
    codes = {str(code) for code in body.get("error_codes") or [] if isinstance(code, int | str)}
    for entra, b2c in _CODE_IN_TEXT.findall(str(body.get("error_description") or "")):
        codes.add(entra or b2c)
    return codes


def _judge_error(status: int, body: dict[str, Any]) -> Verdict:
    error = str(body.get("error") or "")
    codes = _codes(body)
    if error == "interaction_required" or codes & NEEDS_INTERACTION:
        return Verdict("unavailable", "interaction_required")
    if error == "invalid_grant" or (error == "access_denied" and codes & WRONG_PASSWORD):
        return Verdict("invalid", error)
    if status >= 500 or status == 429:
        log.warning("password verifier answered %s", status)
        return Verdict("unavailable", f"http_{status}")
    # invalid_client, unauthorized_client, invalid_request, …: Gatehouse's set-up is
    # wrong, not the person's password. Say so to the operator; send the person a link.
    log.warning("password verifier refused the request: %s (check migration.verifier_*)",
                error or status)
    return Verdict("unavailable", error[:40] or f"http_{status}")
