"""What an upstream ID token must say before Gatehouse believes it (OIDC Core §3.1.3.7).

authlib's ``parse_id_token`` (run by ``authorize_access_token`` whenever the request
carried a nonce) verifies the signature against the provider's JWKS (rule 6), and checks
``exp`` and ``iat`` (rules 9, 10), ``nonce`` (rule 11), ``azp`` and ``at_hash``. Its own
default options check ``iss`` only against the discovery document, and ``aud`` not at all.
``claims_options`` is its hook for the rest; these options add:

* ``aud`` must contain our client id (rule 3);
* ``iss`` must be the discovery document's issuer exactly (rule 2), or, for Microsoft's
  multi-tenant endpoints (``common``, ``organizations``), whose issuer is the template
  ``https://login.microsoftonline.com/{tenantid}/v2.0``, the template filled with the
  token's own ``tid`` — so a token is accepted only from the tenant it says issued it.

Example::

    options = claims_options("my-client-id", metadata["issuer"], multi_tenant=True)
    token = client.authorize_access_token(claims_options=options)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: Microsoft's multi-tenant discovery documents name their issuer with this placeholder.
TENANT_PLACEHOLDER = "{tenantid}"


def issued_by_its_own_tenant(issuer_template: str) -> Callable[[Mapping[str, Any], Any], bool]:
    """A ``validate`` hook for ``iss``: the template with ``{tenantid}`` replaced by ``tid``.

    >>> check = issued_by_its_own_tenant("https://login.microsoftonline.com/{tenantid}/v2.0")
    >>> check({"tid": "72f9..."}, "https://login.microsoftonline.com/72f9.../v2.0")
    True
    """

    def check(claims: Mapping[str, Any], issuer: Any) -> bool:
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not tenant:
            return False
        return bool(issuer == issuer_template.replace(TENANT_PLACEHOLDER, tenant))

    return check


def claims_options(client_id: str, issuer: str, multi_tenant: bool = False) -> dict[str, Any]:
    """authlib ``claims_options`` for one ID token from the provider named by ``issuer``.

    A fresh dict every call: authlib pops the ``validate`` hooks out of the options it
    is given.
    """
    options: dict[str, Any] = {"aud": {"essential": True, "value": client_id}}
    if multi_tenant and TENANT_PLACEHOLDER in issuer:
        options["tid"] = {"essential": True}
        options["iss"] = {"essential": True, "validate": issued_by_its_own_tenant(issuer)}
    else:
        options["iss"] = {"essential": True, "value": issuer}
    return options
