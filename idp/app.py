"""The application factory (Flask's pattern): ``create_app(test_config=None)``."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, send_from_directory
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from idp import i18n
from idp.address import address_provider_from_settings
from idp.clock import Clock, SystemClock
from idp.config import PROJECT_ROOT, ConfigError, load_settings, resolve_path, warn_development
from idp.extensions import csrf, db
from idp.journeys.policy import load_policies
from idp.messaging import (
    email_sender_from_settings,
    sms_sender_from_settings,
    voice_sender_from_settings,
)
from idp.runtime import Runtime
from idp.security.keystore import KeyEncryptor
from idp.security.passwords import PasswordHasher
from idp.security.throttle import Throttle

ASSETS = PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STATIC = PROJECT_ROOT / "static"


def _database_uri(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        path = resolve_path(url[len(prefix) :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url


def create_app(
    test_config: dict[str, Any] | None = None,
    config_file: str | None = None,
    clock: Clock | None = None,
) -> Flask:
    """Build a Gatehouse application.

    ``test_config`` overrides settings by dotted name (``{"database.url": "sqlite://"}``);
    ``clock`` replaces the system clock, so tests can move time.
    """
    settings = load_settings(config_file, overrides=test_config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(STATIC),
        static_url_path="/static",
    )
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    secret_key = settings["server.secret_key"]
    if not secret_key:
        if not settings["server.development"]:
            raise ConfigError(
                "set server.secret_key (IDP_SERVER_SECRET_KEY): it signs session cookies "
                "and must be the same on every instance"
            )
        warn_development("server.secret_key is not set; sessions end when the process stops")
        secret_key = secrets.token_urlsafe(32)
    secure = settings["server.base_url"].startswith("https://")
    database_uri = _database_uri(settings["database.url"])
    app.config.update(
        SECRET_KEY=secret_key,
        SQLALCHEMY_DATABASE_URI=database_uri,
        # A database server can drop a pooled connection (restart, failover, idle timeout):
        # each checkout pings first. A SQLite file has no server to go away.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": not database_uri.startswith("sqlite")},
        SESSION_COOKIE_NAME="gatehouse_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        # Only "Keep me signed in" makes the cookie permanent (protocol/sessions.py).
        PERMANENT_SESSION_LIFETIME=int(settings["sessions.keep_signed_in_lifetime"]),
        WTF_CSRF_TIME_LIMIT=None,  # the journey's own lifetime bounds a form's life
        # Our pages send Referrer-Policy: no-referrer, so browsers send no Referer to check;
        # the CSRF token and the SameSite=Lax session cookie carry the protection.
        WTF_CSRF_SSL_STRICT=False,
        PREFERRED_URL_SCHEME="https" if secure else "http",
        JSON_SORT_KEYS=False,
    )
    from idp.protocol import published

    published.init_app(app)  # inside ProxyFix: it keys answers by the address the app sees
    if settings["server.proxy_hops"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings["server.proxy_hops"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )

    db.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app, settings)  # Flask-Babel: catalogues, language from Accept-Language

    clock = clock or SystemClock()
    runtime = Runtime(
        settings=settings,
        clock=clock,
        policies=load_policies(resolve_path(settings["paths.policies"])),
        encryptor=KeyEncryptor.from_settings(settings),
        hasher=PasswordHasher.from_settings(settings),
        mailer=email_sender_from_settings(settings, clock),
        sms=sms_sender_from_settings(settings, clock),
        voice=voice_sender_from_settings(settings, clock),
        addresses=address_provider_from_settings(settings),
    )
    app.extensions["idp"] = runtime
    app.extensions["idp.throttle"] = Throttle.from_settings(settings)
    app.extensions["idp.clock"] = clock

    from idp import dev_views, ops
    from idp.admin import api as admin_api
    from idp.admin import pages as admin_pages
    from idp.federation import Federation
    from idp.journeys import views as journey_views
    from idp.migrate import views as password_links
    from idp.protocol import dynamic_registration, logout
    from idp.protocol import views as protocol_views
    from idp.protocol.authorize import finish_authorization
    from idp.protocol.server import create_server
    from idp.security.headers import init_headers

    server = create_server(app)
    app.extensions["idp.server"] = server
    app.extensions["idp.finish"] = finish_authorization
    protocol_views.init_app(app)
    Federation.from_settings(app, settings)
    app.register_blueprint(journey_views.bp)
    app.register_blueprint(password_links.bp)
    dev_views.init_app(app)
    admin_api.init_app(app)
    admin_pages.init_app(app)
    ops.init_app(app, settings)
    logout.init_app(app)
    dynamic_registration.init_app(app)
    init_headers(app)

    @app.template_filter("route_words")
    def route_words(route: str) -> str:
        """How a sign-in route reads: "Google", or the configured name of the generic
        OpenID provider, never "oidc"."""
        federation = app.extensions.get("idp.federation")
        labels = dict(federation.providers()) if federation is not None else {}
        fixed = {"google": "Google", "microsoft": "Microsoft", "facebook": "Facebook"}
        return str(labels.get(route) or fixed.get(route) or route)

    @app.context_processor
    def brand() -> dict[str, Any]:
        return {
            "brand": {
                key.split(".", 1)[1]: value
                for key, value in settings.items()
                if key.startswith("brand.")
            }
        }

    @app.get("/assets/<path:filename>")
    def assets(filename: str) -> Response:
        # GOV.UK Frontend's compiled assets, less the GOV.UK-only fonts and crown images.
        if filename.startswith(("fonts/", "images/govuk-", "images/favicon")):
            return Response(status=404)
        return send_from_directory(Path(ASSETS), filename, max_age=86400)

    @app.get("/brand.css")
    def brand_css() -> Response:
        from flask import render_template

        css = render_template("brand.css", brand=settings)
        return Response(css, 200, {"Content-Type": "text/css", "Cache-Control": "max-age=300"})

    return app
