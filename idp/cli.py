"""The ``idp`` command: serve, migrate, and look after clients, keys, users and policies."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask

from idp.config import ConfigError, example_config, resolve_path
from idp.journeys.policy import PolicyError


class AppContext:
    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            from idp.app import create_app

            try:
                self._app = create_app(config_file=self.config_file)
            except (ConfigError, PolicyError) as error:
                raise click.ClickException(str(error)) from None
        return self._app


pass_ctx = click.make_pass_decorator(AppContext)


def _runtime(ctx: AppContext) -> Any:
    return ctx.app.extensions["idp"]


@click.group()
@click.option(
    "--config",
    "config_file",
    envvar="IDP_CONFIG",
    type=click.Path(dir_okay=False),
    help="Settings file (TOML); see config.example.toml.",
)
@click.pass_context
def main(click_ctx: click.Context, config_file: str | None) -> None:
    """Gatehouse, an OpenID Connect identity provider."""
    click_ctx.obj = AppContext(config_file)


# -- database --------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: AppContext) -> None:
    """Bring the database schema up to date and make sure a signing key exists."""
    from idp.store.migrate import upgrade

    with ctx.app.app_context():
        upgrade()
        _ensure_key(ctx)
    click.echo("Database is up to date.")


def _ensure_key(ctx: AppContext) -> None:
    from idp.protocol.keys import ensure_key

    rt = _runtime(ctx)
    ensure_key(rt.encryptor, rt.settings["keys.algorithm"], rt.clock.now())


# -- clients ---------------------------------------------------------------------------


@main.group()
def clients() -> None:
    """Relying parties (portals) registered with Gatehouse."""


@clients.command("sync")
@pass_ctx
def clients_sync(ctx: AppContext) -> None:
    """Make the registered clients match the files in clients/."""
    from idp.store.clients import ClientFileError, sync_client_files

    rt = _runtime(ctx)
    with ctx.app.app_context():
        try:
            report = sync_client_files(
                resolve_path(rt.settings["paths.clients"]),
                rt.clock.now(),
                known_policies=rt.policies,
            )
        except ClientFileError as error:
            raise click.ClickException(str(error)) from None
    for label, names in (
        ("added", report.added),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        for name in names:
            click.echo(f"{label}: {name}")
    click.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed."
    )


@clients.command("add")
@click.argument("name")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    required=True,
    help="A redirect URI, matched exactly. Repeat for more.",
)
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE required).")
@click.option("--policy", "policies", multiple=True, help="A policy the client may use.")
@click.option("--client-id", help="Choose the client_id instead of a generated UUID.")
@pass_ctx
def clients_add(
    ctx: AppContext,
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    policies: tuple[str, ...],
    client_id: str | None,
) -> None:
    """Register a client; its secret is printed once and stored only as a digest."""
    from idp.store.clients import ClientFileError, add_client

    with ctx.app.app_context():
        _check_policies(ctx, policies)
        try:
            client, secret = add_client(
                name, redirect_uris, _runtime(ctx).clock.now(), public, policies, client_id
            )
        except ClientFileError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"client_id: {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Keep the secret now: it is not shown again.", err=True)


def _check_policies(ctx: AppContext, policies: tuple[str, ...]) -> None:
    known = _runtime(ctx).policies
    for policy in policies:
        if known.get(policy) is None:
            raise click.ClickException(f"--policy {policy}: no such policy in policies/")


@clients.command("list")
@pass_ctx
def clients_list(ctx: AppContext) -> None:
    """List registered clients."""
    from idp.store.clients import list_clients

    with ctx.app.app_context():
        for client in list_clients():
            state = "" if client.enabled else " (disabled)"
            click.echo(
                f"{client.client_id}\t{client.client_type}\t{client.source}\t{client.name}{state}"
            )


def _client_or_fail(client_id: str) -> Any:
    from idp.store.clients import get_client

    client = get_client(client_id)
    if client is None:
        raise click.ClickException(f"no client with client_id {client_id!r}")
    return client


@clients.command("show")
@click.argument("client_id")
@pass_ctx
def clients_show(ctx: AppContext, client_id: str) -> None:
    """Show one client's registration (never its secret), as the admin API shows it."""
    import json

    from idp.admin.operations import show_client

    click.echo(json.dumps(_operate(ctx, show_client, client_id), indent=2))


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option(
    "--overlap", default=0, show_default=True, help="Seconds the old secret keeps working."
)
@pass_ctx
def clients_rotate_secret(ctx: AppContext, client_id: str, overlap: int) -> None:
    """Give a confidential client a new secret, printed once."""
    from idp.store.clients import ClientFileError, rotate_secret

    with ctx.app.app_context():
        client = _client_or_fail(client_id)
        try:
            secret = rotate_secret(client, _runtime(ctx).clock.now(), overlap)
        except ClientFileError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"client_secret: {secret}")


@clients.command("remove")
@click.argument("client_id")
@pass_ctx
def clients_remove(ctx: AppContext, client_id: str) -> None:
    """Remove a client. A client from a file comes back at the next sync unless its file goes."""
    from idp.extensions import db as database

    with ctx.app.app_context():
        client = _client_or_fail(client_id)
        database.session.delete(client)
        database.session.commit()
    click.echo(f"removed: {client_id}")


# -- keys ------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
@click.option(
    "--algorithm",
    type=click.Choice(["RS256", "ES256"]),
    default=None,
    help="Default: keys.algorithm.",
)
@click.option(
    "--now",
    "immediately",
    is_flag=True,
    help="Sign with the new key at once instead of after keys.publish_ahead_seconds "
    "(for a compromised key: relying parties that cached JWKS will refetch).",
)
@pass_ctx
def keys_rotate(ctx: AppContext, algorithm: str | None, immediately: bool) -> None:
    """Add a signing key; JWKS publishes it before it signs, and keeps the old one."""
    from idp.admin.operations import rotate_keys

    key = _operate(ctx, rotate_keys, algorithm, immediately)
    click.echo(f"kid: {key['kid']}  algorithm: {key['algorithm']}  signs from: {key['signs_from']}")


@keys.command("list")
@pass_ctx
def keys_list(ctx: AppContext) -> None:
    """List signing keys and their lifecycle."""
    from idp.admin.operations import list_keys

    for key in _operate(ctx, list_keys):
        click.echo(
            f"{key['kid']}\t{key['algorithm']}\t{key['state']}\tsigns from {key['signs_from']}"
            f"\tretired {key['retired_at'] or '-'}\tpublished until {key['published_until'] or '-'}"
        )


# -- users -----------------------------------------------------------------------------


@main.group()
def users() -> None:
    """People with accounts."""


@users.command("add")
@click.option("--email", required=True)
@click.option("--given-name", required=True)
@click.option("--family-name", required=True)
@click.option("--phone", help="Phone number in international form, e.g. +447700900123.")
@pass_ctx
def users_add(
    ctx: AppContext, email: str, given_name: str, family_name: str, phone: str | None
) -> None:
    """Create a local account with a verified email; the password is read from standard input."""
    from sqlalchemy.exc import IntegrityError

    from idp.extensions import db as database
    from idp.security import audit
    from idp.store.users import AccountExists, create_local_user
    from idp.validation import is_email_address

    if not is_email_address(email):
        raise click.ClickException("--email must be an email address, like name@example.com")
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("the password (on standard input) must be 8 or more characters")
    rt = _runtime(ctx)
    with ctx.app.app_context():
        try:
            user = create_local_user(
                email=email,
                password_hash=rt.hasher.hash(password),
                now=rt.clock.now(),
                given_name=given_name,
                family_name=family_name,
                phone_number=phone,
            )
            audit.record(
                "user.created", user=user, actor=_operator().name, details={"route": "local"}
            )
            database.session.commit()
        except (AccountExists, IntegrityError):
            database.session.rollback()
            raise click.ClickException(f"an account already signs in with {email}") from None
        click.echo(f"object_id: {user.object_id}")


def _person(reference: str) -> Any:
    from idp.store.users import user_by_reference

    user = user_by_reference(reference)
    if user is None:
        raise click.ClickException(f"no account has the object id or email {reference!r}")
    return user


def _routes(user: Any) -> str:
    return ", ".join(sorted({i.route for i in user.identities})) or "none"


@users.command("find")
@click.argument("term")
@pass_ctx
def users_find(ctx: AppContext, term: str) -> None:
    """Find people by email, phone number, name or object id; shows how each signs in."""
    from idp.store.users import find_users

    with ctx.app.app_context():
        found = find_users(term)
        for user in found:
            state = "enabled" if user.enabled else "disabled"
            click.echo(
                f"{user.object_id}\t{user.email or '-'}\t{user.name or '-'}\t"
                f"signs in with: {_routes(user)}\t{state}"
            )
        if not found:
            click.echo(f"nobody matches {term!r}")


@users.command("show")
@click.argument("reference")
@pass_ctx
def users_show(ctx: AppContext, reference: str) -> None:
    """One person: how they sign in, second factors, consents, last sign-ins."""
    from sqlalchemy import select

    from idp.extensions import db as database
    from idp.store.models import BrowserSession, Consent, MfaMethod

    with ctx.app.app_context():
        user = _person(reference)
        click.echo(f"object_id: {user.object_id}")
        click.echo(f"email: {user.email or '-'} (verified: {user.email_verified})")
        click.echo(f"name: {user.name or '-'}")
        click.echo(f"enabled: {user.enabled}")
        for identity in user.identities:
            click.echo(f"signs in with: {identity.route} ({identity.issuer})")
        from idp.migrate.passwords import awaiting

        if awaiting(user) is not None:
            click.echo("password: follows from B2C at the first sign-in")
        methods = database.session.scalars(
            select(MfaMethod).where(MfaMethod.user_id == user.id)
        ).all()
        for method in methods:
            where = f" {method.phone_number} ({method.phone_type})" if method.phone_number else ""
            click.echo(f"second factor: {method.kind}{where}")
        if not methods:
            click.echo("second factor: none enrolled")
        if user.mfa_blocked_until:
            click.echo(f"second factors blocked until: {user.mfa_blocked_until.isoformat()}")
        for consent in database.session.scalars(
            select(Consent).where(Consent.user_id == user.id).order_by(Consent.agreed_at)
        ):
            click.echo(f"agreed to: {consent.document} {consent.version} at "
                       f"{consent.agreed_at.isoformat()}")
        for row in database.session.scalars(
            select(BrowserSession)
            .where(BrowserSession.user_id == user.id)
            .order_by(BrowserSession.created_at.desc())
            .limit(5)
        ):
            click.echo(f"signed in: {row.created_at.isoformat()} by {row.route} "
                       f"({', '.join(row.amr or [])})")


def _operator() -> Any:
    """The person at the keyboard, as audit events name them: an operator on the box
    has the admin role."""
    import getpass
    import socket

    from idp.admin.roles import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(name=f"cli:{who}@{socket.gethostname()}", role="admin")


def _operate(ctx: AppContext, operation: Any, *args: Any) -> Any:
    from idp.admin.operations import AdminError

    with ctx.app.app_context():
        try:
            return operation(_operator(), *args)
        except AdminError as error:
            raise click.ClickException(error.message) from None


@users.command("disable")
@click.argument("reference")
@pass_ctx
def users_disable(ctx: AppContext, reference: str) -> None:
    """Stop someone signing in; their sessions end and portals' refresh tokens stop working."""
    from idp.admin.operations import disable_person

    person = _operate(ctx, disable_person, reference)
    click.echo(f"user.disabled: {person['object_id']}")


@users.command("enable")
@click.argument("reference")
@pass_ctx
def users_enable(ctx: AppContext, reference: str) -> None:
    """Let a disabled person sign in again."""
    from idp.admin.operations import enable_person

    person = _operate(ctx, enable_person, reference)
    click.echo(f"user.enabled: {person['object_id']}")


@users.command("reset-mfa")
@click.argument("reference")
@pass_ctx
def users_reset_mfa(ctx: AppContext, reference: str) -> None:
    """Forget someone's phone, app and recovery codes, and lift an MFA block; they enrol
    again at their next sign-in."""
    from idp.admin.operations import reset_mfa

    person = _operate(ctx, reset_mfa, reference)
    click.echo(f"mfa.reset: {person['object_id']}")


@users.command("unlock")
@click.argument("reference")
@pass_ctx
def users_unlock(ctx: AppContext, reference: str) -> None:
    """Lift the timed blocks on an account (second factors blocked after too many codes)."""
    from idp.admin.operations import unlock_person

    person = _operate(ctx, unlock_person, reference)
    click.echo(f"user.unlocked: {person['object_id']}")


@users.command("resend-activation")
@click.argument("email")
@pass_ctx
def users_resend_activation(ctx: AppContext, email: str) -> None:
    """Send a new activation email for a sign-up waiting for one; the old link stops working."""
    from idp.admin.operations import resend_activation

    pending = _operate(ctx, resend_activation, email)
    click.echo(f"activation email sent to {pending['email']} "
               f"(link works until {pending['link_expires_at']})")


@users.command("delete")
@click.argument("reference")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def users_delete(ctx: AppContext, reference: str, yes: bool) -> None:
    """Delete an account and everything it owns; the audit log keeps its record."""
    from idp.admin.operations import delete_person

    if not yes:
        with ctx.app.app_context():
            user = _person(reference)
            click.confirm(f"Delete {user.object_id} ({user.email or 'no email'})?", abort=True)
    person = _operate(ctx, delete_person, reference)
    click.echo(f"user.deleted: {person['object_id']}")


# -- admin roles -----------------------------------------------------------------------


@main.group()
def admins() -> None:
    """Who may use the admin pages: admin (everything) or support (people only)."""


@admins.command("grant")
@click.argument("reference")
@click.option("--role", type=click.Choice(["admin", "support"]), required=True)
@pass_ctx
def admins_grant(ctx: AppContext, reference: str, role: str) -> None:
    """Give a person (object id or email of a local account) a role."""
    from idp.admin.operations import grant_role

    _operate(ctx, lambda actor, *a: grant_role(actor.name, *a), reference, role)
    click.echo(f"{reference}: {role}")


@admins.command("revoke")
@click.argument("reference")
@pass_ctx
def admins_revoke(ctx: AppContext, reference: str) -> None:
    """Take a person's admin role away; the admin pages refuse them at once."""
    from idp.admin.operations import revoke_role

    removed = _operate(ctx, lambda actor, ref: revoke_role(actor.name, ref), reference)
    click.echo(f"{reference}: {'role removed' if removed else 'had no role'}")


@admins.command("list")
@pass_ctx
def admins_list(ctx: AppContext) -> None:
    """People with a role."""
    from idp.admin.operations import list_roles

    with ctx.app.app_context():
        for row in list_roles():
            click.echo(f"{row['object_id']}\t{row['email'] or '-'}\t{row['role']}\t"
                       f"granted {row['granted_at']} by {row['granted_by'] or '-'}")


@main.command("audit")
@click.option("--user", "reference", help="Object id or email of the person.")
@click.option("--client", "client_id", help="Events about this client_id.")
@click.option(
    "--type", "event_type", help="Event type (signin.succeeded), or a prefix ending in '.' (user.)."
)
@click.option("--since", type=click.DateTime(), help="From this UTC time, e.g. 2026-11-23T09:00.")
@click.option("--limit", default=50, show_default=True)
@pass_ctx
def audit_log(
    ctx: AppContext,
    reference: str | None,
    client_id: str | None,
    event_type: str | None,
    since: Any,
    limit: int,
) -> None:
    """The audit log, newest first: when, what, whom, which client, who did it, from where."""
    import json
    from datetime import UTC

    from idp.admin.operations import read_audit

    page = _operate(
        ctx,
        lambda actor: read_audit(
            actor,
            user=reference,
            client_id=client_id,
            event_type=event_type,
            since=since.replace(tzinfo=UTC) if since else None,
            limit=limit,
        ),
    )
    for event in page["events"]:
        click.echo(
            f"{event['occurred_at']}\t{event['type']}\t{event['user_object_id'] or '-'}\t"
            f"{event['client_id'] or '-'}\t{event['actor'] or '-'}\t"
            f"{event['ip_address'] or '-'}\t{json.dumps(event['details'], sort_keys=True)}"
        )


# -- policies --------------------------------------------------------------------------


@main.group()
def policies() -> None:
    """Journey policies in policies/."""


@policies.command("list")
@pass_ctx
def policies_list(ctx: AppContext) -> None:
    """List the policies in policies/ and their steps, without starting anything."""
    from idp.config import load_settings
    from idp.journeys.policy import load_policies

    try:
        folder = resolve_path(load_settings(ctx.config_file)["paths.policies"])
        loaded = load_policies(folder)
    except (ConfigError, PolicyError) as error:
        raise click.ClickException(str(error)) from None
    for policy in loaded:
        steps = ", ".join(f"{s.id}({s.type})" for s in policy.steps)
        click.echo(f"{policy.id}\t{policy.display_name}\t{steps}")


@policies.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def policies_check(ctx: AppContext, files: tuple[Path, ...]) -> None:
    """Check policy files (default: every file in policies/) without starting anything."""
    from idp.config import load_settings
    from idp.journeys.policy import PolicySet, load_policy_file

    if not files:
        try:
            folder = resolve_path(load_settings(ctx.config_file)["paths.policies"])
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        files = tuple(sorted(folder.glob("*.toml")))
    failed = 0
    loaded = []
    for path in files:
        try:
            policy = load_policy_file(path)
            loaded.append(policy)
            click.echo(f"ok: {path} ({policy.id})")
        except PolicyError as error:
            failed += 1
            click.echo(f"error: {error}", err=True)
    try:
        PolicySet(loaded)  # ids must differ by more than case, as start-up requires
    except PolicyError as error:
        failed += 1
        click.echo(f"error: {error}", err=True)
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} policy files are wrong")


@policies.command("docs")
def policies_docs() -> None:
    """Print docs/policies.md: every step type, setting and condition, from the code.

    The shipped policies it lists are the project's own policies/, whatever the
    settings say, so the page is the same wherever it is generated.
    """
    from idp.journeys.docs import policy_reference

    try:
        text = policy_reference()
    except PolicyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(text, nl=False)


# -- serving ---------------------------------------------------------------------------


@main.command()
@click.option("--dev", is_flag=True, help="Flask's development server with the debugger off.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: one per core).")
@pass_ctx
def serve(ctx: AppContext, dev: bool, host: str, port: int, workers: int | None) -> None:
    """Serve Gatehouse (gunicorn, a worker per core; https when a certificate is configured).

    In production run one or more of these, on one or more hosts, behind a reverse proxy
    or load balancer: every instance shares the PostgreSQL database.url, the redis.url
    (throttle counters), server.secret_key and IDP_KEY_ENCRYPTION_KEY, so any instance
    answers any request. Where the proxy terminates TLS, set server.base_url to the public
    https address and server.proxy_hops to the number of proxies in front (X-Forwarded-For,
    -Proto and -Host are then trusted from exactly that many). /healthz and /readyz are
    for the load balancer's probes; /metrics for Prometheus.
    """
    app = ctx.app
    settings = _runtime(ctx).settings
    from idp.extensions import db as database

    with app.app_context():
        _ensure_key(ctx)
        # Workers are forked from this process: they must not share its connections.
        database.engine.dispose()
    cert, key = settings["server.tls_cert"], settings["server.tls_key"]
    if dev:
        ssl_context = (cert, key) if cert and key else None
        app.run(host=host, port=port, debug=False, ssl_context=ssl_context, threaded=True)
        return
    from idp.wsgi import run_gunicorn

    run_gunicorn(app, host, port, workers or (os.cpu_count() or 1), cert, key)


@main.command("dev-cert")
@click.option(
    "--out",
    "folder",
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
def dev_cert(folder: Path) -> None:
    """Write a self-signed certificate for 127.0.0.1 and localhost (development only)."""
    from idp.security.devcert import write_dev_certificate

    cert, key = write_dev_certificate(resolve_path(str(folder)))
    click.echo(f"certificate: {cert}\nkey: {key}")
    click.echo("Set server.tls_cert and server.tls_key to these, and server.base_url to https://.")


@main.command("example-config")
def example_config_command() -> None:
    """Print config.example.toml: every setting with its default and meaning."""
    click.echo(example_config(), nl=False)


# `idp migrate b2c …` lives with the rest of the move from B2C.
from idp.migrate import cli as _migrate_cli  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    main()
