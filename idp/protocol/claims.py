"""Which claims go in ID tokens, access tokens and userinfo, by scope and as B2C emits them.

B2C's names: ``oid`` repeats the subject, ``emails`` is a list, ``tfp`` names the policy,
``idp`` names the upstream provider of a federated sign-in, ``newUser`` marks a sign-up.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.util import scope_to_list

from idp.store.models import User


def user_claims(user: User, scope: str) -> dict[str, Any]:
    """Claims about the person, by scope (OIDC Core §5.4); used by ID tokens and userinfo."""
    scopes = set(scope_to_list(scope) or [])
    claims: dict[str, Any] = {"sub": user.object_id, "oid": user.object_id}
    extra = user.claims or {}
    if "profile" in scopes:
        for name, value in (
            ("name", user.name),
            ("given_name", user.given_name),
            ("family_name", user.family_name),
            ("middle_name", extra.get("middle_name")),
            ("birthdate", extra.get("birthdate")),
        ):
            if value:
                claims[name] = value
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
        claims["emails"] = [user.email]
    if "phone" in scopes and user.phone_number:
        claims["phone_number"] = user.phone_number
        claims["phone_number_verified"] = bool(extra.get("phone_number_verified", False))
    if "address" in scopes and extra.get("address"):
        claims["address"] = extra["address"]
    return claims


_EVERY_SCOPE = "openid profile email phone address"


def policy_claims(user: User, names: tuple[str, ...]) -> dict[str, Any]:
    """The claims a policy puts in its ID tokens whatever the scope, as B2C's user flows
    choose their "application claims". Names a person has no value for are left out."""
    if not names:
        return {}
    available = user_claims(user, _EVERY_SCOPE)
    extra = user.claims or {}
    return {
        name: available[name] if name in available else extra[name]
        for name in names
        if name in available or extra.get(name) not in (None, "")
    }


def route_claims(route: str, policy_id: str | None, new_user: bool = False) -> dict[str, Any]:
    """Claims about how this sign-in happened (B2C's tfp, idp, newUser)."""
    claims: dict[str, Any] = {"ver": "1.0"}
    if policy_id:
        claims["tfp"] = policy_id
    if route != "local":
        claims["idp"] = route
    if new_user:
        claims["newUser"] = True
    return claims
