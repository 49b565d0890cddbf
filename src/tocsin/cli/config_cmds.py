"""``tocsin`` apply, export and demo: configuration as code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli._app import app, database, fail, print_json, reports_errors, settings
from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.config.demo import load_demo
from tocsin.core.clock import SystemClock
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.services.service import integration_url
from tocsin.settings import ConfigError, load_settings


def _require_schema(db: Database) -> None:
    if migrate.current_revision(db.engine) is None:
        raise fail("the database has no schema yet: run `tocsin db upgrade` first")


def _write(text: str) -> None:
    """Output piped into a reader that stops early (``| head``) ends quietly instead of with a traceback."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None


@app.command("apply")
@reports_errors
def apply_cmd(
    file: Annotated[str, typer.Option("--file", "-f", help="YAML or JSON configuration file ('-' reads stdin)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON")] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also archive what the file no longer names, in the sections it has (users are deactivated, "
            "teams deleted, contact methods missing from a user's list disabled if paged, else deleted); "
            "with --dry-run, only show it",
        ),
    ] = False,
) -> None:
    """Create or update users, teams, schedules, escalation policies and services from a file.

    Without --prune nothing is removed; with it, what the file no longer names is archived, never deleted."""
    if file == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        path = Path(file)
        if not path.is_file():
            raise fail(f"no such file: {file}")
        text, source = path.read_text(encoding="utf-8"), file
    config = document.parse(text, source=source)
    with database() as db:
        _require_schema(db)
        with db.unit_of_work() as session:
            plan = apply_config(session, config, now=SystemClock().now(), dry_run=dry_run, prune=prune)
            # The plan is shown before the commit, so that a failed commit is seen against what was attempted.
            if as_json:
                print_json(plan.as_dict())
            else:
                typer.echo("\n".join(plan.lines()))
    if not dry_run and not as_json:
        typer.echo("Applied." if plan.changed else "Nothing to change.")


@app.command("export")
@reports_errors
def export_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML")] = False,
) -> None:
    """Print the current configuration in the format `tocsin apply -f` reads (integration keys included)."""
    with database() as db:
        _require_schema(db)
        with db.reader() as session:
            config = export_config(session, now=SystemClock().now())
    _write(document.to_json(config) if as_json else document.to_yaml(config))


@app.command("demo")
@reports_errors
def demo_cmd(
    keys: Annotated[bool, typer.Option("--keys", help="Print only the integration keys, PagerDuty first")] = False,
    host: Annotated[
        str | None, typer.Option(help="Address `tocsin serve` listens on, for the URLs (TOCSIN_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port `tocsin serve` listens on, for the URLs (TOCSIN_PORT)")] = None,
) -> None:
    """Load a demo organisation (idempotent: running it again changes nothing and deletes nothing)."""
    current = settings()
    # The URLs printed are those `tocsin serve` answers on: the same settings, or the same options, as serve's.
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if overrides:
        try:
            current = load_settings(**{**current.model_dump(exclude={"base_url"}), **overrides})
        except ConfigError as exc:
            raise fail(str(exc), 2) from None
    with database(current) as db:
        _require_schema(db)
        with db.unit_of_work() as session:
            result = load_demo(session, now=SystemClock().now())
        rows = [
            (
                d.service,
                d.integration.name,
                d.integration.type,
                d.integration.key,
                integration_url(current.base_url, d.integration, email_domain=current.email_domain),
            )
            for d in result.integrations
        ]
    if result.admin_password is not None:
        # With --keys, stdout carries only keys for scripts; the one-time password still reaches a person.
        out = sys.stderr if keys else sys.stdout
        out.write(f"Admin login (shown only now): {result.admin_email} / {result.admin_password}\n")
    if keys:
        _write("".join(f"{key}\n" for *_, key, _url in rows))
        return
    plan = result.plan
    typer.echo(
        f"Demo organisation: {plan.count('create')} created, {plan.count('update')} updated, "
        f"{plan.count('unchanged')} unchanged."
    )
    if result.admin_password is None:
        typer.echo(f"Admin user: {result.admin_email} (password set when the demo was first loaded)")
    typer.echo("Integrations:")
    for service, name, type_, key, url in rows:
        typer.echo(f"  {service:<16} {name:<11} {type_:<13} {key}  {url}")
    typer.echo(f"Sign in at {current.base_url}/login")
    if not current.smtp_host:
        smtp = f" (and whatever is sent to SMTP {current.outbox_smtp_listen})" if current.outbox_smtp_listen else ""
        typer.echo(f"No mail server is set: email pages are kept in the outbox{smtp}, {current.base_url}/outbox")
