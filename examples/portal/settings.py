"""The example portal's options: each one's default, and the environment variable that sets
it when the portal runs as ``python -m examples.portal``. ``create_app(config)`` takes the
same keys; what it is given wins over the environment, which wins over these defaults."""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Gatehouse's address, the part of a B2C authority before the tenant
    # (https://contoso.b2clogin.com in B2C). Discovery is read per policy below it.
    "GATEHOUSE_AUTHORITY": "http://127.0.0.1:5000",
    # The tenant's name as it appears in the authority (config.dev.toml's tenant.name).
    "GATEHOUSE_TENANT": "leicsb2c.onmicrosoft.com",
    # Where Gatehouse lists the messages it would have sent, linked from the footer so a
    # newcomer can find codes and links. None (production) shows no link.
    "GATEHOUSE_OUTBOX_URL": None,
    # Where this portal is reached. Redirect and post-logout URIs are built on it, and must
    # match the client files exactly (RFC 9700 §4.1.3), so it is not guessed from requests.
    "PORTAL_BASE_URL": "http://127.0.0.1:5001",
    # Client secrets by client id; a missing one is read from the variable its client file
    # names (IDP_CLIENT_SECRET_PARENT_PORTAL, IDP_CLIENT_SECRET_BLUE_BADGE).
    "PORTAL_CLIENT_SECRETS": {},
    # Seconds to wait for Gatehouse before telling the person it is not answering.
    "GATEHOUSE_TIMEOUT": 10,
    # Signs the portal's session cookie. Unset, a random one is made at start: sign-ins do
    # not survive a restart, which suits a demo.
    "SECRET_KEY": None,
    # The portal's cookie is not Gatehouse's (gatehouse_session): both live on 127.0.0.1,
    # and browsers share cookies between ports of one host.
    "SESSION_COOKIE_NAME": "example_portal_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}

ENVIRONMENT = {
    "GATEHOUSE_AUTHORITY": "PORTAL_GATEHOUSE_AUTHORITY",
    "GATEHOUSE_TENANT": "PORTAL_GATEHOUSE_TENANT",
    "GATEHOUSE_OUTBOX_URL": "PORTAL_GATEHOUSE_OUTBOX_URL",
    "PORTAL_BASE_URL": "PORTAL_BASE_URL",
    "SECRET_KEY": "PORTAL_SECRET_KEY",
}


def resolve(
    config: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, then the environment, then ``config``; URLs lose a trailing slash."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, variable in ENVIRONMENT.items():
        if environ.get(variable):
            settings[key] = environ[variable]
    settings.update(config or {})
    for key in ("GATEHOUSE_AUTHORITY", "PORTAL_BASE_URL"):
        settings[key] = str(settings[key]).rstrip("/")
    if not settings["SECRET_KEY"]:
        warnings.warn("example portal: no PORTAL_SECRET_KEY, using a random one", stacklevel=2)
        settings["SECRET_KEY"] = secrets.token_hex(32)
    return settings
