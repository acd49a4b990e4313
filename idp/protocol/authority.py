"""Where a request came in, and so which issuer and endpoint URLs answer it.

Two shapes of authority share one deployment:

* plain: issuer ``{base}``, endpoints ``/authorize``, ``/token`` …, the policy from ``?p=``
  or ``tenant.default_policy``;
* B2C-shaped, per policy: issuer ``{base}/{tenant id}/{policy}/v2.0/`` and endpoints under
  ``/{tenant}/{policy}/…`` (also ``/tfp/{tenant}/{policy}/…`` and ``/{tenant}/…?p={policy}``).

Either way ``issuer + /.well-known/openid-configuration`` is that issuer's discovery
document (OIDC Discovery §4), and tokens carry the issuer of the authority that began them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Authority:
    base_url: str
    tenant_name: str
    tenant_id: str
    policy_id: str
    per_policy: bool

    @property
    def issuer(self) -> str:
        if self.per_policy:
            return f"{self.base_url}/{self.tenant_id}/{self.policy_id}/v2.0/"
        return self.base_url

    def _policy_url(self, path: str) -> str:
        return f"{self.base_url}/{self.tenant_name}/{self.policy_id}/{path}"

    def endpoints(self) -> dict[str, str]:
        if self.per_policy:
            return {
                "authorization_endpoint": self._policy_url("oauth2/v2.0/authorize"),
                "token_endpoint": self._policy_url("oauth2/v2.0/token"),
                "end_session_endpoint": self._policy_url("oauth2/v2.0/logout"),
                "jwks_uri": self._policy_url("discovery/v2.0/keys"),
                "userinfo_endpoint": self._policy_url("openid/v2.0/userinfo"),
                "revocation_endpoint": self._policy_url("oauth2/v2.0/revoke"),
                "introspection_endpoint": self._policy_url("oauth2/v2.0/introspect"),
            }
        base = self.base_url
        return {
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "end_session_endpoint": f"{base}/logout",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "revocation_endpoint": f"{base}/revoke",
            "introspection_endpoint": f"{base}/introspect",
        }

    def token_endpoint_urls(self) -> set[str]:
        """Every URL a private_key_jwt assertion may name as its audience."""
        plain = Authority(self.base_url, self.tenant_name, self.tenant_id, self.policy_id, False)
        urls = {plain.endpoints()["token_endpoint"], self.endpoints()["token_endpoint"]}
        return urls | {self.issuer}


def authority_from(settings: dict[str, Any], policy_id: str, per_policy: bool) -> Authority:
    return Authority(
        base_url=settings["server.base_url"],
        tenant_name=settings["tenant.name"],
        tenant_id=settings["tenant.id"],
        policy_id=policy_id,
        per_policy=per_policy,
    )


def tenant_matches(settings: dict[str, Any], tenant: str) -> bool:
    """B2C accepts the tenant's name or its GUID in the URL, in any case."""
    return tenant.lower() in {settings["tenant.name"].lower(), settings["tenant.id"].lower()}
