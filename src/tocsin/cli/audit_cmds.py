"""``tocsin audit``: verify the hash chain, list entries, export them as JSON lines."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import orjson
import typer

from tocsin.audit import service as audit
from tocsin.audit.origin import CHANNELS
from tocsin.audit.repository import AuditFilter
from tocsin.cli._app import app, console, database, fail, format_time, print_json, reports_errors, table, text
from tocsin.core.clock import utc

audit_app = typer.Typer(help="The audit trail of configuration and access changes", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise fail(f"{option}: not a date and time: {value!r} (use ISO 8601, e.g. 2026-11-02T09:00:00Z)") from None


def _filter(
    actor_user_id: int | None,
    channel: str | None,
    object_type: str | None,
    object_id: str | None,
    since: str | None,
    until: str | None,
) -> AuditFilter:
    if channel is not None and channel not in CHANNELS:
        raise fail(f"--channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    start, end = _when(since, "--since"), _when(until, "--until")
    if start is not None and end is not None and end <= start:
        raise fail("--until must be later than --since")
    return AuditFilter(
        actor_user_id=actor_user_id,
        channel=channel,
        object_type=object_type,
        object_id=object_id,
        since=start,
        until=end,
    )


ActorOpt = Annotated[int | None, typer.Option("--actor", help="Only entries by this user id")]
ChannelOpt = Annotated[str | None, typer.Option("--channel", help="api, web, cli, apply or system")]
TypeOpt = Annotated[str | None, typer.Option("--object-type", help="e.g. user, service, integration")]
IdOpt = Annotated[str | None, typer.Option("--object-id", help="The object's id")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="From this time (ISO 8601)")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Before this time (ISO 8601)")]


@audit_app.command("verify")
@reports_errors
def verify_cmd() -> None:
    """Check every link of the hash chain; exit code 1 and the first broken entry when one does not hold."""
    with database() as db, db.reader() as session:
        checked, broken = audit.verify_chain(session)
    if broken is not None:
        raise fail(f"audit entry {broken.entry_id} breaks the chain: {broken.reason} ({checked} entries checked)")
    typer.echo(f"The audit chain holds: {checked} entries checked.")


@audit_app.command("list")
@reports_errors
def list_cmd(
    actor: ActorOpt = None,
    channel: ChannelOpt = None,
    object_type: TypeOpt = None,
    object_id: IdOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The newest audit entries, with filters."""
    flt = _filter(actor, channel, object_type, object_id, since, until)
    with database() as db, db.reader() as session:
        rows, _ = audit.list_entries(session, flt, limit=limit)
        records = [audit.as_record(e) for e in rows]
    if as_json:
        print_json(records)
        return
    grid = table("#", "At (UTC)", "Actor", "Channel", "From", "Action", "Object", nowrap=("#", "At (UTC)"))
    for r in records:
        grid.add_row(
            str(r["id"]),
            format_time(datetime.fromisoformat(r["at"])),
            text(r["actor"]),
            r["channel"],
            text(r["ip"]),
            text(r["action"]),
            text(f"{r['object_type']} {r['object_id']}".strip()),
        )
    console.print(grid)


@audit_app.command("export")
@reports_errors
def export_cmd(
    actor: ActorOpt = None,
    channel: ChannelOpt = None,
    object_type: TypeOpt = None,
    object_id: IdOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Every matching entry as JSON lines, oldest first, hashes included (``> audit.jsonl``)."""
    flt = _filter(actor, channel, object_type, object_id, since, until)
    with database() as db:
        for record in audit.iter_export(db.reader, flt):
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
