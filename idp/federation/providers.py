"""The upstream providers a deployment switches on, read from the ``federation.*`` settings.

A provider is on when its ``client_id`` is set; its secret then comes from the environment
variable its ``client_secret_env`` names (never from a file), and a missing secret stops
start-up with the variable's name::

    providers = providers_from_settings(settings, os.environ)
    [p.name for p in providers]      # ["microsoft", "google"], in the sign-in page's order

Every endpoint is a setting, so tests point a provider at a server on loopback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from idp.config import ConfigError

#: The order of the buttons on the sign-in page.
ORDER = ("microsoft", "google", "facebook", "oidc")
LABELS = {"microsoft": "Microsoft", "google": "Google", "facebook": "Facebook"}
OIDC_SCOPE = "openid email profile"
FACEBOOK_SCOPE = "email public_profile"
GRAPH_FIELDS = "id,name,first_name,last_name,email"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Provider:
    """One switched-on upstream provider.

    ``kind`` is ``oidc`` (discovery document, ID token) or ``facebook`` (OAuth 2 and the
    Graph ``/me`` call). ``urls`` holds ``discovery`` for OIDC providers, ``authorize``,
    ``token`` and ``graph`` for Facebook.
    """

    name: str
    label: str
    kind: str
    client_id: str
    client_secret: str = field(repr=False)
    urls: dict[str, str] = field(default_factory=dict)
    # Google and Microsoft document client_secret_post; RFC-minded generic providers
    # must support basic (OIDC Core §9), Facebook reads the secret from the body.
    token_endpoint_auth_method: str = "client_secret_basic"

    @property
    def multi_tenant(self) -> bool:
        """Microsoft's issuer may be a ``{tenantid}`` template checked against ``tid``."""
        return self.name == "microsoft"

    def registration(self, timeout: float) -> dict[str, Any]:
        """Keyword arguments for authlib's ``OAuth.register``."""
        client_kwargs: dict[str, Any] = {
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            # OAuth2Session's name for a timeout applied to every request it sends.
            "default_timeout": timeout,
        }
        registration: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "client_kwargs": client_kwargs,
        }
        if self.kind == "oidc":
            client_kwargs["scope"] = OIDC_SCOPE
            # PKCE even for a confidential client (RFC 9700 §2.1.1); all three support it.
            client_kwargs["code_challenge_method"] = "S256"
            registration["server_metadata_url"] = self.urls["discovery"]
        else:
            client_kwargs["scope"] = FACEBOOK_SCOPE
            registration["authorize_url"] = self.urls["authorize"]
            registration["access_token_url"] = self.urls["token"]
        return registration


def _check_url(key: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url  # a provider on loopback: tests and local demos
    raise ConfigError(f"{key} must be an https URL (plain http only on loopback), not {url!r}")


def _secret(settings: Mapping[str, Any], name: str, label: str, environ: Mapping[str, str]) -> str:
    variable = str(settings[f"federation.{name}.client_secret_env"])
    secret = environ.get(variable, "")
    if not secret:
        raise ConfigError(
            f"federation.{name}.client_id is set, so the environment variable {variable} "
            f"must hold {label}'s client secret"
        )
    return secret


def microsoft_discovery_url(template: str, tenant: str) -> str:
    """Microsoft's discovery URL for a tenant: ``common``, ``organizations``,
    ``consumers`` or one tenant's id or domain."""
    return template.replace("{tenant}", tenant)


def _provider(
    settings: Mapping[str, Any], name: str, environ: Mapping[str, str]
) -> Provider | None:
    prefix = f"federation.{name}."
    client_id = str(settings[prefix + "client_id"])
    label = LABELS.get(name) or str(settings[prefix + "name"])
    if name == "oidc" and bool(client_id) != bool(label):
        raise ConfigError(
            "federation.oidc.name and federation.oidc.client_id must be set together "
            "(both empty switches the provider off)"
        )
    if not client_id:
        return None
    secret = _secret(settings, name, label, environ)
    if name == "facebook":
        urls = {
            part: _check_url(prefix + f"{part}_url", str(settings[prefix + f"{part}_url"]))
            for part in ("authorize", "token", "graph")
        }
        return Provider(name, label, "facebook", client_id, secret, urls, "client_secret_post")
    discovery = str(settings[prefix + "discovery_url"])
    if name == "microsoft":
        tenant = str(settings[prefix + "tenant"])
        if not tenant:
            raise ConfigError(
                "federation.microsoft.tenant must be common, organizations, "
                "consumers or a tenant id"
            )
        discovery = microsoft_discovery_url(discovery, tenant)
    if not discovery:
        raise ConfigError(f"{prefix}discovery_url must name {label}'s discovery document")
    urls = {"discovery": _check_url(prefix + "discovery_url", discovery)}
    method = "client_secret_basic" if name == "oidc" else "client_secret_post"
    return Provider(name, label, "oidc", client_id, secret, urls, method)


def providers_from_settings(
    settings: Mapping[str, Any], environ: Mapping[str, str]
) -> list[Provider]:
    """The switched-on providers, in ``ORDER``; raise ConfigError for a half-set one."""
    found = (_provider(settings, name, environ) for name in ORDER)
    return [provider for provider in found if provider is not None]
