"""Who may do what. Two roles, as councils split the work:

* ``admin``: everything — people, client registrations, signing keys, the audit log;
* ``support`` (a customer service team): people only — find, look at, disable, enable,
  reset MFA, unlock, resend activation, delete — and the audit log's events about people.

A person gets a role with ``idp admins grant EMAIL --role support``; a back-end service
gets one through a client_credentials token carrying the scope ``gatehouse.admin`` or
``gatehouse.support`` (the client must be registered with that scope).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "support")
#: The areas each role may act on.
AREAS: dict[str, frozenset[str]] = {
    "admin": frozenset({"users", "clients", "keys", "audit"}),
    "support": frozenset({"users", "audit"}),
}
#: The OAuth scope that gives a machine each role.
SCOPE_ROLES = {"gatehouse.admin": "admin", "gatehouse.support": "support"}


@dataclass(frozen=True)
class Actor:
    """Who is acting, with which role, from where; every change's audit event says so.

    ``name`` reads like ``person:1b2c…`` (an admin signed in), ``client:ops-robot`` (a
    token) or ``cli:root@host`` (the command line on the box)."""

    name: str
    role: str
    ip: str | None = None
    #: The client whose token is acting, or the person signed in: neither may cut off
    #: the branch it sits on (disable or delete itself).
    client_id: str | None = None
    object_id: str | None = None

    def may(self, area: str) -> bool:
        return area in AREAS.get(self.role, frozenset())


def role_for_scopes(scopes: list[str]) -> str | None:
    """The strongest role a token's scopes give, or None."""
    roles = {SCOPE_ROLES[s] for s in scopes if s in SCOPE_ROLES}
    for role in ROLES:
        if role in roles:
            return role
    return None
