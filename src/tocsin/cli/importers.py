"""``tocsin import SOURCE``: a configuration file from another on-call system, to review and then apply."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli._app import app, console, fail
from tocsin.config import document
from tocsin.core.clock import SystemClock
from tocsin.importers import grafana_oncall, opsgenie, pagerduty
from tocsin.importers.run import run_import
from tocsin.importers.source import FileSource, HttpSource, Source, SourceError

import_app = typer.Typer(help="Import users, schedules, policies and services from another on-call system")
app.add_typer(import_app, name="import")

Token = Annotated[str | None, typer.Option("--token", help="API token (prefer --token-env)")]
TokenEnv = Annotated[str | None, typer.Option("--token-env", help="name of the environment variable holding it")]
Out = Annotated[Path, typer.Option("--out", help="the configuration file to write")]
FromFiles = Annotated[
    Path | None, typer.Option("--from-files", help="read saved API answers from this directory instead")
]


def _token(token: str | None, token_env: str | None) -> str:
    if token:
        return token
    if token_env:
        value = os.environ.get(token_env)
        if not value:
            raise fail(f"the environment variable {token_env} is not set")
        return value
    raise fail("give --token, --token-env or --from-files")


def _run(kind: str, source: Source, out: Path) -> None:
    try:
        imported = run_import(kind, source, now=SystemClock().now())
    except SourceError as exc:
        raise fail(f"{kind}: {exc}") from None
    finally:
        close = getattr(source, "close", None)
        if close:
            close()
    text = document.to_yaml(imported.config)
    # Written whole or not at all: a half-written file could be applied by mistake.
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
    c = imported.config
    console.print(
        f"wrote {out}: {len(c.users)} users, {len(c.teams)} teams, {len(c.schedules)} schedules, "
        f"{len(c.escalation_policies)} escalation policies, {len(c.services)} services, "
        f"{len(c.maintenance_windows)} maintenance windows",
        soft_wrap=True,
    )
    for line in imported.report.lines():
        console.print(line, markup=False, soft_wrap=True)
    if not imported.report.differences:
        console.print("check: for the next 14 days, who is on call matches the source hour by hour")


@import_app.command("pagerduty")
def import_pagerduty(
    out: Out = Path("tocsin.yaml"),
    token: Token = None,
    token_env: TokenEnv = None,
    url: Annotated[str, typer.Option("--url")] = pagerduty.DEFAULT_URL,
    from_files: FromFiles = None,
) -> None:
    """From PagerDuty's REST API v2 (a read-only API key is enough)."""
    source: Source = (
        FileSource(from_files)
        if from_files is not None
        else HttpSource(url, pagerduty.headers(_token(token, token_env)))
    )
    _run("pagerduty", source, out)


@import_app.command("opsgenie")
def import_opsgenie(
    out: Out = Path("tocsin.yaml"),
    token: Token = None,
    token_env: TokenEnv = None,
    url: Annotated[str, typer.Option("--url", help="the EU instance is api.eu.opsgenie.com")] = opsgenie.DEFAULT_URL,
    from_files: FromFiles = None,
) -> None:
    """From Opsgenie or Jira Service Management operations (an API key with read access)."""
    source: Source = (
        FileSource(from_files)
        if from_files is not None
        else HttpSource(url, opsgenie.headers(_token(token, token_env)))
    )
    _run("opsgenie", source, out)


@import_app.command("grafana-oncall")
def import_grafana_oncall(
    url: Annotated[str, typer.Option("--url", help="the OnCall API URL shown in its settings")],
    out: Out = Path("tocsin.yaml"),
    token: Token = None,
    token_env: TokenEnv = None,
    from_files: FromFiles = None,
) -> None:
    """From Grafana OnCall's public API (an OnCall API token)."""
    source: Source = (
        FileSource(from_files)
        if from_files is not None
        else HttpSource(url, grafana_oncall.headers(_token(token, token_env)))
    )
    _run("grafana-oncall", source, out)
