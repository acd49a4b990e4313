"""The client as authlib sees it (authlib.oauth2.rfc6749.ClientMixin) over a Client row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list

from idp.security.digests import matches
from idp.store.models import Client


class OAuthClient(ClientMixin):
    def __init__(self, row: Client, now: datetime) -> None:
        self.row = row
        self.client_id = row.client_id
        self.client_metadata: dict[str, Any] = dict(row.metadata_ or {})
        self._now = now

    @property
    def is_public(self) -> bool:
        return self.row.client_type == "public"

    @property
    def policies(self) -> list[str]:
        return list(self.client_metadata.get("policies", []))

    def lifetime(self, name: str) -> int | None:
        value = self.client_metadata.get("lifetimes", {}).get(name)
        return int(value) if value else None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core §3.1.2.1 makes redirect_uri required; RFC 6749 §3.1.2.3 allows
        # leaving it out only when exactly one is registered.
        uris = self.client_metadata.get("redirect_uris", [])
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.client_metadata.get("scope", "")))
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match (RFC 9700 §4.1.3): no prefixes, no wildcards.
        return redirect_uri in self.client_metadata.get("redirect_uris", [])

    def check_client_secret(self, client_secret: str) -> bool:
        if matches(self.row.secret_hash, client_secret):
            return True
        expires = self.row.previous_secret_expires_at
        return bool(
            expires
            and expires > self._now
            and matches(self.row.previous_secret_hash, client_secret)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        registered = self.client_metadata.get("token_endpoint_auth_method")
        if endpoint == "token" or method == registered:
            return method == registered
        # Revocation and introspection (RFC 7009 §2.1, RFC 7662 §2.1) have no registered
        # method of their own; client libraries default to client_secret_basic there, and
        # either form proves the same secret.
        secret_methods = {"client_secret_basic", "client_secret_post"}
        return method in secret_methods and registered in secret_methods

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.client_metadata.get("response_types", ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client_metadata.get("grant_types", [])
