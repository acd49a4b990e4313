"""Who an upstream provider says the person is, in Gatehouse's terms.

Mapping claims to an ``UpstreamIdentity`` is plain data in, plain data out, so it tests
without HTTP::

    identity_from_id_token("google", {"iss": "https://accounts.google.com", "sub": "1098",
                                      "email": "jenny@example.com", "email_verified": True})
    # UpstreamIdentity(provider='google', issuer='https://accounts.google.com',
    #                  subject='1098', idp='google.com', email='jenny@example.com', ...)

The route lock keys a federated account on ``(issuer, subject)`` (DESIGN.md, principle 1),
never on the email, which is carried only to tell the person which route they used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Microsoft's tenant for personal accounts (Outlook.com, Xbox, Skype); B2C calls it live.com.
MICROSOFT_CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
#: Facebook issues no ID token; B2C names it by this issuer and idp value.
FACEBOOK_ISSUER = "facebook.com"

PROVIDERS = ("google", "microsoft", "facebook", "oidc")


@dataclass(frozen=True)
class UpstreamIdentity:
    """One person as one upstream provider vouches for them.

    ``tokens`` is the provider's token response, kept only when the caller asked
    (``finish(name, keep_tokens=True)``); it never appears in ``repr`` so a logged
    identity cannot leak it.

    Example::

        identity.key          # ("https://accounts.google.com", "1098...") for the route lock
        identity.idp          # "google.com", the claim B2C puts in the ID token
    """

    provider: str
    issuer: str
    subject: str
    idp: str
    email: str | None = None
    email_verified: bool = False
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    tokens: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """(issuer, subject): what a federated identity is stored under."""
        return (self.issuer, self.subject)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_true(value: Any) -> bool:
    # Some providers have sent the JSON string "true" rather than the boolean.
    return value is True or value == "true"


def _email(claims: Mapping[str, Any]) -> str | None:
    # B2C-shaped providers (Gatehouse itself among them) may put addresses in `emails` only.
    emails = claims.get("emails")
    fallback = emails[0] if isinstance(emails, list) and emails else None
    return _text(claims.get("email")) or _text(fallback)


def idp_claim(provider: str, issuer: str, claims: Mapping[str, Any]) -> str:
    """The ``idp`` value B2C emits for a sign-in through this provider.

    >>> idp_claim("microsoft", "https://login.microsoftonline.com/9188.../v2.0",
    ...           {"tid": MICROSOFT_CONSUMER_TENANT})
    'live.com'
    """
    if provider == "google":
        return "google.com"
    if provider == "facebook":
        return "facebook.com"
    if provider == "microsoft" and claims.get("tid") == MICROSOFT_CONSUMER_TENANT:
        return "live.com"
    return issuer  # work or school tenants and generic providers: B2C uses the issuer


def identity_from_id_token(
    provider: str, claims: Mapping[str, Any], tokens: dict[str, Any] | None = None
) -> UpstreamIdentity:
    """Map a validated ID token's claims (Google, Microsoft, generic OIDC).

    Microsoft: ``oid`` is the account's id across every app of a tenant, what B2C stores
    as issuerUserId, whereas ``sub`` is pairwise per app; prefer it when present. Its
    ``email`` is not verified unless the token says so (Entra lets tenants set any
    address), so only an explicit ``email_verified`` counts.
    """
    issuer = str(claims["iss"])
    subject = str(claims["sub"])
    if provider == "microsoft" and _text(claims.get("oid")):
        subject = str(claims["oid"])
    return UpstreamIdentity(
        provider=provider,
        issuer=issuer,
        subject=subject,
        idp=idp_claim(provider, issuer, claims),
        email=_email(claims),
        email_verified=_is_true(claims.get("email_verified")),
        given_name=_text(claims.get("given_name")),
        family_name=_text(claims.get("family_name")),
        name=_text(claims.get("name")),
        tokens=tokens,
    )


def identity_from_graph(
    me: Mapping[str, Any], tokens: dict[str, Any] | None = None
) -> UpstreamIdentity:
    """Map Facebook's Graph ``/me`` answer (fields id, name, first_name, last_name, email).

    Graph returns an email only when Facebook has confirmed it, so it counts as verified.

    >>> identity_from_graph({"id": "10158", "email": "jenny@example.com"}).idp
    'facebook.com'
    """
    email = _text(me.get("email"))
    return UpstreamIdentity(
        provider="facebook",
        issuer=FACEBOOK_ISSUER,
        subject=str(me["id"]),
        idp="facebook.com",
        email=email,
        email_verified=email is not None,
        given_name=_text(me.get("first_name")),
        family_name=_text(me.get("last_name")),
        name=_text(me.get("name")),
        tokens=tokens,
    )
