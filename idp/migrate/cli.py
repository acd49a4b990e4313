"""``idp migrate b2c import|remind|status``: the command line of a move from B2C."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click

from idp.cli import AppContext, _operator, _runtime, main, pass_ctx


@main.group()
def migrate() -> None:
    """Move people here from another identity provider."""


@migrate.group()
def b2c() -> None:
    """From Azure AD B2C (docs/migrating-from-b2c.md)."""


@b2c.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--methods",
    "method_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Authentication-methods export (phone numbers for MFA; repeat for more files).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def import_command(
    ctx: AppContext, files: tuple[str, ...], method_files: tuple[str, ...], dry_run: bool,
    as_json: bool,
) -> None:
    """Import Microsoft Graph user exports (pages of {"value": [...]}, JSON arrays or JSON
    lines), creating or updating each account by its objectId. Safe to run again: an
    unchanged record changes nothing. A record that cannot be imported is reported with
    its reason and nothing of it is written."""
    from idp.migrate.b2c import ExportError, MappingError, import_users

    rt = _runtime(ctx)
    with ctx.app.app_context():
        try:
            report = import_users(files, method_files, rt.settings, rt.clock.now(),
                                  dry_run=dry_run, actor=_operator().name)
        except (ExportError, MappingError) as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            click.echo(line)


@b2c.command("remind")
@click.option("--dry-run", is_flag=True, help="Count who would be emailed; send nothing.")
@click.option("--again", is_flag=True, help="Also email people reminded before.")
@pass_ctx
def remind_command(ctx: AppContext, dry_run: bool, again: bool) -> None:
    """After migration.password_cutoff: email everyone whose password has not followed
    from B2C a link to set one (migration.reminder_link_lifetime)."""
    from idp.migrate.passwords import remind

    rt = _runtime(ctx)
    cutoff = _cutoff(rt.settings)
    today = rt.clock.now().date()
    if today <= cutoff:
        raise click.ClickException(
            f"the cut-off date is {cutoff.isoformat()} (migration.password_cutoff): until "
            "it has passed, people's old passwords still follow them at their first sign-in"
        )
    with ctx.app.app_context():
        counts = remind(rt.clock.now(), dry_run=dry_run, again=again)
    verb = "would be emailed" if dry_run else "emailed"
    click.echo(f"{verb}: {counts['sent']}")
    if counts["not_sent"]:
        click.echo(f"not emailed (one went in the last 15 minutes, or sending failed): "
                   f"{counts['not_sent']}")
    if counts["no_email"]:
        click.echo(f"no email address to write to: {counts['no_email']} "
                   "(find them with `idp migrate b2c status`)")


@b2c.command("status")
@pass_ctx
def status_command(ctx: AppContext) -> None:
    """How many imported accounts there are and how many passwords have followed."""
    from sqlalchemy import func, select

    from idp.extensions import db
    from idp.store.models import B2cImport, PasswordCredential

    with ctx.app.app_context():
        total = db.session.scalar(select(func.count()).select_from(B2cImport)) or 0
        local = db.session.scalar(
            select(func.count()).select_from(B2cImport).where(B2cImport.sign_in_name.is_not(None))
        ) or 0
        awaiting = db.session.scalar(
            select(func.count()).select_from(B2cImport).where(
                B2cImport.password_pending.is_(True),
                ~B2cImport.user_id.in_(select(PasswordCredential.user_id)),
            )
        ) or 0
        reminded = db.session.scalar(
            select(func.count()).select_from(B2cImport).where(
                B2cImport.reminded_at.is_not(None), B2cImport.password_pending.is_(True),
                ~B2cImport.user_id.in_(select(PasswordCredential.user_id)),
            )
        ) or 0
    click.echo(f"imported accounts: {total}")
    click.echo(f"local accounts: {local}, passwords followed: {local - awaiting}, "
               f"awaiting: {awaiting} (reminded: {reminded})")


def _cutoff(settings: dict[str, Any]) -> date:
    text = str(settings["migration.password_cutoff"]).strip()
    if not text:
        raise click.ClickException(
            "set migration.password_cutoff (YYYY-MM-DD) to the date after which reminders go"
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(
            f"migration.password_cutoff {text!r} is not a date like 2027-03-31"
        ) from None
