"""Gatehouse settings: one documented defaults table, a TOML file, environment overrides.

Every setting is declared once in ``SETTINGS`` with its default and what it does.
A deployment sets them in a TOML file (``--config FILE`` or ``IDP_CONFIG``) using the
dotted names as tables (``[tenant] name = "..."``), and any of them can be overridden
by an environment variable: ``tenant.name`` is ``IDP_TENANT_NAME``.

Example::

    [server]
    base_url = "https://login.example.gov.uk"

    [tenant]
    name = "leicsb2c.onmicrosoft.com"
    id = "7d5b7a9e-1c8b-4c8e-9a4f-0f0f2e3c9a11"
"""

from __future__ import annotations

import os
import textwrap
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    default: Any
    doc: str


SETTINGS: dict[str, Setting] = {
    # -- server --------------------------------------------------------------------
    "server.base_url": Setting(
        "http://127.0.0.1:5000",
        "The public URL of this deployment, without a trailing slash. Issuers and every "
        "endpoint URL in the discovery documents are built from it.",
    ),
    "server.secret_key": Setting(
        "",
        "Signs browser session cookies and CSRF tokens. Required in production; every "
        "instance of one deployment must share it. Empty means generate one at start-up, "
        "which is allowed only with server.development = true.",
    ),
    "server.development": Setting(
        False,
        "Switches on development conveniences (generated secrets, a built-in key for "
        "encrypting signing keys). Each convenience prints a warning when it is used.",
    ),
    "server.tls_cert": Setting(
        "", "Path to a PEM certificate chain; with server.tls_key, Gatehouse serves https."
    ),
    "server.tls_key": Setting("", "Path to the PEM private key for server.tls_cert."),
    "server.proxy_hops": Setting(
        0,
        "How many reverse proxies stand in front of Gatehouse; their X-Forwarded-* headers "
        "are trusted that many hops deep. 0 trusts none.",
    ),
    # -- tenant --------------------------------------------------------------------
    "tenant.name": Setting(
        "gatehouse.onmicrosoft.com",
        "The tenant's name as it appears in B2C-shaped URLs, e.g. contoso.onmicrosoft.com.",
    ),
    "tenant.id": Setting(
        "00000000-0000-4000-8000-000000000001",
        "The tenant's GUID. B2C-shaped URLs accept it or tenant.name; issuers use it.",
    ),
    "tenant.default_policy": Setting(
        "B2C_1_signin",
        "The policy that the plain (non-B2C-shaped) /authorize runs when no ?p= is given.",
    ),
    # -- storage -------------------------------------------------------------------
    "database.url": Setting(
        "sqlite:///instance/gatehouse.db",
        "SQLAlchemy URL. SQLite by default; PostgreSQL in production, e.g. "
        "postgresql+psycopg://gatehouse@db/gatehouse. Relative SQLite paths are "
        "taken from the project directory.",
    ),
    "redis.url": Setting(
        "", "Redis URL for shared counters (rate limits). Empty keeps counters in memory."
    ),
    # -- files ---------------------------------------------------------------------
    "paths.policies": Setting("policies", "Folder of policy files (*.toml)."),
    "paths.clients": Setting("clients", "Folder of client registration files (*.toml)."),
    # -- keys ----------------------------------------------------------------------
    "keys.algorithm": Setting("RS256", "Algorithm of newly created signing keys: RS256 or ES256."),
    "keys.encryption_key_env": Setting(
        "IDP_KEY_ENCRYPTION_KEY",
        "Name of the environment variable holding the key that encrypts signing keys at "
        "rest (any string of 32 or more characters; it is stretched with HKDF).",
    ),
    "keys.publish_ahead_seconds": Setting(
        86400,
        "A key added by `idp keys rotate` is published in JWKS this long before it signs, "
        "so relying parties that cache JWKS have it before they meet it.",
    ),
    "keys.cache_seconds": Setting(
        10,
        "Seconds each process keeps the signing keys it read (every token, JWKS and "
        "discovery answer needs them). A key rotated by another instance or the CLI is "
        "used and published here within this long; 0 reads them for every request.",
    ),
    # -- tokens --------------------------------------------------------------------
    "tokens.id_token_lifetime": Setting(3600, "ID token lifetime in seconds (B2C: 60 min)."),
    "tokens.access_token_lifetime": Setting(3600, "Access token lifetime in seconds."),
    "tokens.refresh_token_lifetime": Setting(
        1209600, "Refresh token lifetime in seconds (B2C: 14 days); rotated at every use."
    ),
    "tokens.code_lifetime": Setting(
        600, "Authorization code lifetime in seconds; RFC 6749 §4.1.2 recommends 10 minutes."
    ),
    # -- passwords -----------------------------------------------------------------
    "passwords.time_cost": Setting(3, "argon2id iterations."),
    "passwords.memory_cost": Setting(65536, "argon2id memory in KiB (64 MiB)."),
    "passwords.parallelism": Setting(4, "argon2id lanes."),
    # -- journeys ------------------------------------------------------------------
    "journeys.lifetime": Setting(
        3600, "Seconds a started sign-in journey may take before the person must start again."
    ),
    "journeys.activation_link_lifetime": Setting(
        86400,
        "Seconds an account activation link works for; 'Resend activation email' sends a "
        "fresh one.",
    ),
    "sessions.lifetime": Setting(
        86400, "Seconds a signed-in browser session lasts before the person signs in again."
    ),
    "sessions.idle_timeout": Setting(
        3600,
        "Seconds a signed-in browser session may go unused (no sign-in through it) before "
        "it ends; 0 for no idle timeout. Policies may set their own.",
    ),
    "sessions.keep_signed_in_lifetime": Setting(
        30 * 86400,
        "Seconds a session lasts when the person ticks 'Keep me signed in' (policies with "
        "[session] keep_me_signed_in = true); its cookie outlives the browser.",
    ),
    # -- messaging -----------------------------------------------------------------
    "email.sender": Setting(
        "smtp",
        "How email leaves Gatehouse: smtp, notify (GOV.UK Notify) or outbox (development: "
        "messages are written to email.outbox_path instead of being sent, with a warning).",
    ),
    "email.from_address": Setting(
        "no-reply@gatehouse.invalid",
        "The From: address of every email, e.g. 'Leicestershire County Council "
        "<no-reply@leics.gov.uk>'.",
    ),
    "email.outbox_path": Setting(
        "instance/outbox.jsonl",
        "With email.sender = outbox: the file each message is appended to, one JSON "
        "object per line.",
    ),
    "smtp.host": Setting("127.0.0.1", "SMTP server for email.sender = smtp."),
    "smtp.port": Setting(587, "SMTP port: 587 with STARTTLS, 465 with smtp.tls = implicit."),
    "smtp.tls": Setting(
        "starttls",
        "starttls (upgrade the connection; refuse to send if the server cannot), implicit "
        "(TLS from the first byte, usually port 465) or none (only for a relay on the "
        "same host).",
    ),
    "smtp.username": Setting("", "SMTP user name; empty sends without logging in."),
    "smtp.password_env": Setting(
        "IDP_SMTP_PASSWORD", "Environment variable holding the SMTP password."
    ),
    "smtp.timeout": Setting(10, "Seconds to wait for the SMTP server before giving up."),
    "sms.sender": Setting(
        "none",
        "How text messages leave Gatehouse: notify (GOV.UK Notify), twilio, none (no "
        "texts: a policy's SMS method then fails with a clear message and offers another "
        "way), or outbox (development only: written to email.outbox_path with a warning).",
    ),
    "voice.sender": Setting(
        "none",
        "How phone calls that read a code aloud are made: twilio, none, or outbox "
        "(development only, as for sms.sender).",
    ),
    "notify.api_key_env": Setting(
        "IDP_NOTIFY_API_KEY", "Environment variable holding the GOV.UK Notify API key."
    ),
    "notify.base_url": Setting(
        "https://api.notifications.service.gov.uk", "GOV.UK Notify's API base URL."
    ),
    "notify.email_template_id": Setting(
        "",
        "Notify template for every email: a template whose subject is ((subject)) and "
        "whose body is ((body)).",
    ),
    "notify.sms_template_id": Setting(
        "", "Notify template for every text message: a template whose body is ((body))."
    ),
    "twilio.account_sid": Setting("", "Twilio account SID (ACxxxxxxxx)."),
    "twilio.auth_token_env": Setting(
        "IDP_TWILIO_AUTH_TOKEN", "Environment variable holding the Twilio auth token."
    ),
    "twilio.from_number": Setting(
        "", "The Twilio number (E.164, e.g. +441164960000) texts and calls come from."
    ),
    "twilio.base_url": Setting("https://api.twilio.com", "Twilio's REST API base URL."),
    "messaging.timeout": Setting(
        10, "Seconds to wait for Notify or Twilio before giving up on a message."
    ),
    # -- federation (sign in with Google, Microsoft, Facebook or any OIDC provider) ------
    "federation.google.client_id": Setting(
        "", "Google OAuth client id; empty switches Google off whatever a policy lists."
    ),
    "federation.google.client_secret_env": Setting(
        "IDP_GOOGLE_CLIENT_SECRET", "Environment variable holding Google's client secret."
    ),
    "federation.google.discovery_url": Setting(
        "https://accounts.google.com/.well-known/openid-configuration",
        "Google's OpenID discovery document (tests point it at a loopback provider).",
    ),
    "federation.microsoft.client_id": Setting(
        "", "Microsoft Entra app (client) id; empty switches Microsoft off."
    ),
    "federation.microsoft.client_secret_env": Setting(
        "IDP_MICROSOFT_CLIENT_SECRET", "Environment variable holding Microsoft's secret."
    ),
    "federation.microsoft.tenant": Setting(
        "common",
        "common (any work, school or personal Microsoft account; the issuer is checked "
        "against each token's tid), organizations, consumers, or one tenant's id.",
    ),
    "federation.microsoft.discovery_url": Setting(
        "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration",
        "Microsoft's discovery document; {tenant} is replaced by federation.microsoft.tenant.",
    ),
    "federation.facebook.client_id": Setting("", "Facebook app id; empty switches Facebook off."),
    "federation.facebook.client_secret_env": Setting(
        "IDP_FACEBOOK_CLIENT_SECRET", "Environment variable holding the Facebook app secret."
    ),
    "federation.facebook.authorize_url": Setting(
        "https://www.facebook.com/v19.0/dialog/oauth", "Facebook's OAuth dialog."
    ),
    "federation.facebook.token_url": Setting(
        "https://graph.facebook.com/v19.0/oauth/access_token", "Facebook's token endpoint."
    ),
    "federation.facebook.graph_url": Setting(
        "https://graph.facebook.com/v19.0/me",
        "Facebook's Graph /me endpoint, asked for id, name, first_name, last_name, email.",
    ),
    "federation.oidc.name": Setting(
        "", "A further OpenID provider's name as buttons show it; empty switches it off."
    ),
    "federation.oidc.client_id": Setting("", "That provider's client id."),
    "federation.oidc.client_secret_env": Setting(
        "IDP_OIDC_CLIENT_SECRET", "Environment variable holding that provider's secret."
    ),
    "federation.oidc.discovery_url": Setting("", "That provider's discovery document."),
    "federation.timeout": Setting(10, "Seconds to wait for a provider before giving up."),
    # -- moving from Azure AD B2C (idp migrate b2c; docs/migrating-from-b2c.md) -----------
    "migration.b2c_issuers": Setting(
        "google.com=google, facebook.com=facebook, live.com=microsoft",
        "Which upstream provider each B2C federated identity issuer becomes, as "
        "B2C_ISSUER=PROVIDER pairs separated by commas. Add @ISSUER to a pair when the "
        "provider's ID tokens carry an issuer other than the usual one (a work or school "
        "tenant, a generic OpenID provider): "
        "login.example.org=oidc@https://login.example.org/. A federated identity from an "
        "issuer not listed is refused at import, naming the issuer.",
    ),
    "migration.b2c_attributes": Setting(
        "",
        "Which B2C custom attributes (extension_<appid>_Name) become which Gatehouse "
        "claims, as Name=claim pairs separated by commas, e.g. "
        "CouncilTaxReference=extension_CouncilTaxReference (the name B2C put in tokens, so "
        "portals read the same claim; list it in a policy's claims). Attributes not listed "
        "are reported and left out.",
    ),
    "migration.verifier_url": Setting(
        "",
        "The old tenant's token endpoint that checks an imported account's password at its "
        "first sign-in (resource owner password grant): B2C's ROPC user flow, "
        "https://TENANT.b2clogin.com/TENANT.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token, "
        "or the tenant directory's own /oauth2/v2.0/token. Empty: imported accounts are "
        "emailed a link to set a password when they first sign in.",
    ),
    "migration.verifier_client_id": Setting(
        "", "The application (client) id registered in the old tenant for the ROPC flow."
    ),
    "migration.verifier_client_secret_env": Setting(
        "",
        "Environment variable holding that application's secret, when it has one (ROPC "
        "apps in B2C are usually public clients and have none).",
    ),
    "migration.verifier_scope": Setting(
        "openid {client_id} offline_access",
        "The scope sent to the verifier; {client_id} is replaced. B2C's ROPC flow wants "
        "the default; the directory endpoint takes 'openid'.",
    ),
    "migration.verifier_response_type": Setting(
        "token id_token",
        "response_type sent with the password grant (B2C's ROPC flow asks for it); empty "
        "sends none.",
    ),
    "migration.verifier_timeout": Setting(
        5, "Seconds to wait for the verifier before sending a reset link instead."
    ),
    "migration.reset_link_lifetime": Setting(
        86400,
        "Seconds a link to set a password works for when it was sent at sign-in because "
        "the old password could not be checked.",
    ),
    "migration.password_cutoff": Setting(
        "",
        "The date (YYYY-MM-DD) after which `idp migrate b2c remind` may email everyone "
        "whose password has not followed yet a link to set one. Empty: no reminders.",
    ),
    "migration.reminder_link_lifetime": Setting(
        14 * 86400, "Seconds a reminder's link to set a password works for."
    ),
    # -- operations ---------------------------------------------------------------------
    "logging.format": Setting(
        "json",
        "json (one object per line, with the request id; for log collectors), text (for "
        "people reading a terminal), or none (leave logging to whatever embeds Gatehouse).",
    ),
    "logging.level": Setting("info", "debug, info, warning or error."),
    "metrics.token_env": Setting(
        "IDP_METRICS_TOKEN",
        "Environment variable holding a bearer token that /metrics then requires; unset or "
        "empty leaves /metrics open, for a scraper on a private network.",
    ),
    # -- throttles (per IP address; security/throttle.py) -------------------------------
    "throttle.signin": Setting(
        "30/minute",
        "Passwords one IP address may try on sign-in pages, as COUNT/PERIOD (second, "
        "minute, hour, day); 0 switches the throttle off. Offices and libraries share an "
        "address, so keep it generous: the per-account lockout stops guessing.",
    ),
    "throttle.signup": Setting("120/hour", "Sign-up pages one IP address may submit."),
    "throttle.code_send": Setting(
        "30/hour", "Codes and activation emails one IP address may ask for."
    ),
    "throttle.token": Setting("600/minute", "Token endpoint requests from one IP address."),
    "throttle.introspect": Setting(
        "1200/minute", "Introspection endpoint requests from one IP address."
    ),
    "throttle.b2c_verifier": Setting(
        "20/second",
        "Passwords checked with the old B2C tenant by the whole deployment (not per "
        "address), so a rush of first sign-ins does not get the old tenant throttled.",
    ),
    # -- password lockout ---------------------------------------------------------------
    "lockout.threshold": Setting(
        10,
        "Wrong passwords for one email address before it is locked (smart lockout: the "
        "same wrong password again does not count). 0 switches lockout off.",
    ),
    "lockout.duration": Setting(
        60, "Seconds the first lockout lasts; each lockout after it lasts twice as long."
    ),
    "lockout.max_duration": Setting(3600, "The longest a lockout lasts, in seconds."),
    # -- admin and support -----------------------------------------------------------
    "admin.policy": Setting(
        "B2C_1_admin_signin",
        "The policy people sign in with to reach the admin pages (/admin). It must end "
        "with a second factor: the pages let in only a sign-in whose amr includes mfa, by "
        "someone granted a role with `idp admins grant`.",
    ),
    "admin.session_lifetime": Setting(
        3600,
        "Seconds an admin sign-in lasts on the admin pages before Gatehouse asks again.",
    ),
    "admin.secret_overlap": Setting(
        86400,
        "Seconds a client's old secret keeps working after the API or the pages rotate it, "
        "unless the request names another overlap.",
    ),
    # -- dynamic client registration ---------------------------------------------------
    "registration.enabled": Setting(
        False,
        "Serve RFC 7591 dynamic client registration at /register and RFC 7592 client "
        "configuration at /register/{client_id}. Off by default: registered portals are "
        "first-party, so each is normally added by an admin.",
    ),
    "registration.initial_access_token_env": Setting(
        "IDP_REGISTRATION_INITIAL_ACCESS_TOKEN",
        "Environment variable holding the initial access token that a registration "
        "request must carry as a bearer token (RFC 7591 §3). Registration stays closed "
        "while it is empty.",
    ),
    "registration.default_policies": Setting(
        "",
        "Comma-separated policies a dynamically registered client may use when its "
        "request names none in the policies extension field; empty means it must name them.",
    ),
    # -- addresses -----------------------------------------------------------------
    "address.provider": Setting(
        "csv",
        "Where 'Find address' looks postcodes up: csv (an offline file, address.csv_path) "
        "or os_places (Ordnance Survey's Places API at address.api_url).",
    ),
    "address.csv_path": Setting(
        "data/addresses.example.csv",
        "With address.provider = csv: a CSV file with the columns line1, line2, town, "
        "county, postcode.",
    ),
    "address.api_url": Setting(
        "https://api.os.uk/search/places/v1/postcode",
        "With address.provider = os_places: the postcode endpoint of the Places API.",
    ),
    "address.api_key_env": Setting(
        "IDP_ADDRESS_API_KEY", "Environment variable holding the address API's key."
    ),
    "address.timeout": Setting(5, "Seconds to wait for the address API."),
    # -- branding ------------------------------------------------------------------
    "brand.service_name": Setting("Sign in", "Shown in the page header and titles."),
    "brand.organisation": Setting("Gatehouse", "The organisation running the service."),
    "brand.logo_url": Setting("", "URL of the organisation's logo for the header; empty for none."),
    "brand.colour": Setting("#1d70b8", "Header and link colour (a CSS colour)."),
    "brand.support_url": Setting("", "Where the footer's 'Get help' link goes; empty hides it."),
    # -- languages -----------------------------------------------------------------
    "i18n.default_locale": Setting(
        "en",
        "The language of every page when the browser asks for none of i18n.locales. It is "
        "always offered, whether or not i18n.locales lists it.",
    ),
    "i18n.locales": Setting(
        "en",
        "The languages pages are offered in, as comma-separated locale codes, e.g. "
        '"en,cy". Each request gets the one its Accept-Language header prefers. English '
        "ships; any other needs a catalogue in i18n.translations_path, or start-up fails.",
    ),
    "i18n.translations_path": Setting(
        "",
        "This deployment's own catalogues: a folder of LOCALE/LC_MESSAGES/messages.mo "
        "files (`pybabel compile` makes them from .po files translated from "
        "idp/translations/messages.pot). Its entries win over the shipped ones, so it "
        "can add a language or reword the English. Empty uses only the shipped catalogues.",
    ),
}


class ConfigError(Exception):
    """A setting is missing, unknown or of the wrong type; the message names it."""


def _env_name(key: str) -> str:
    return "IDP_" + key.replace(".", "_").upper()


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _coerce(key: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{_env_name(key)} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{_env_name(key)} must be a whole number, not {raw!r}") from None
    return raw


def load_settings(
    path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return every setting: defaults, then the TOML file, then IDP_* variables, then overrides.

    ``overrides`` uses dotted names (``{"database.url": "sqlite://"}``); tests pass them.
    """
    environ = dict(os.environ if environ is None else environ)
    values = {key: setting.default for key, setting in SETTINGS.items()}
    path = path or environ.get("IDP_CONFIG") or None
    if path:
        file = Path(path)
        try:
            with file.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {file} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {file} is not valid TOML: {error}") from None
        for key, value in _flatten(data).items():
            if key not in SETTINGS:
                raise ConfigError(f"{file}: unknown setting {key!r}")
            expected = type(SETTINGS[key].default)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(
                    f"{file}: {key} must be {expected.__name__}, not {type(value).__name__}"
                )
            values[key] = value
    for key, setting in SETTINGS.items():
        name = _env_name(key)
        if name in environ:
            values[key] = _coerce(key, environ[name], setting.default)
    for key, value in (overrides or {}).items():
        if key not in SETTINGS:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = value
    values["server.base_url"] = str(values["server.base_url"]).rstrip("/")
    return values


def resolve_path(value: str) -> Path:
    """Settings name folders relative to the project directory unless absolute."""
    candidate = Path(value)
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def warn_development(message: str) -> None:
    """Development conveniences announce themselves (DESIGN.md, principle 4)."""
    warnings.warn(f"Gatehouse development mode: {message}", stacklevel=2)


def example_config() -> str:
    """The text of config.example.toml, generated from SETTINGS so the two never drift."""
    lines = [
        "# Gatehouse configuration. Every setting, its default and what it does.",
        "# Pass this file with `idp --config FILE` or IDP_CONFIG=FILE; any setting can be",
        "# overridden by an environment variable: [tenant] name is IDP_TENANT_NAME.",
    ]
    section = None
    for key, setting in SETTINGS.items():
        table, name = key.rsplit(".", 1)  # [federation.google] client_id = ...
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        lines.extend(f"# {line}" for line in textwrap.wrap(setting.doc, 86))
        lines.append(f"# env: {_env_name(key)}")
        default = setting.default
        if isinstance(default, bool):
            rendered = "true" if default else "false"
        elif isinstance(default, int):
            rendered = str(default)
        else:
            rendered = '"' + str(default).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"# {name} = {rendered}")
    return "\n".join(lines) + "\n"
