"""``tocsin silence``: silences and recurring maintenance windows, as ``/api/v1/silences`` offers them.

Options are read through the API's request schema and applied by the same service functions, with the same role
(responders and admins change silences; everyone reads them)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from tocsin.alerts import silence_service as silences
from tocsin.alerts.noise_models import SilenceRow
from tocsin.api.silences import SilenceIn, SilenceOut
from tocsin.cli._app import (
    AS_USER_HELP,
    app,
    console,
    database,
    fail,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_user,
    table,
    text,
    validated,
)
from tocsin.cli._inputs import MATCH_HELP, TIME_HELP, matchers, shown, time_value
from tocsin.core.clock import utc
from tocsin.oncall.durations import parse_duration
from tocsin.services import service as services

silence_app = typer.Typer(help="Silences and maintenance windows (recurring, by RRULE)", no_args_is_help=True)
app.add_typer(silence_app, name="silence")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
AsUser = Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)]
Match = Annotated[list[str] | None, typer.Option("--match", help=MATCH_HELP)]
Comment = Annotated[str | None, typer.Option("--comment", help="Why alerts are muted (required on create)")]
StartsAt = Annotated[str | None, typer.Option("--starts-at", help=f"Default: now. {TIME_HELP}")]
EndsAt = Annotated[
    str | None, typer.Option("--ends-at", help=f"{TIME_HELP}; for a maintenance window, when it stops recurring")
]
Service = Annotated[str | None, typer.Option("--service", help="Only this service's alerts (name)")]
Recurrence = Annotated[
    str | None, typer.Option("--recurrence", help="An iCalendar RRULE, e.g. FREQ=WEEKLY;BYDAY=SU (a window)")
]
Duration = Annotated[str | None, typer.Option("--duration", help="How long each window lasts: 2h, 90m, 3600")]


def _out(session: Session, row: SilenceRow) -> dict[str, Any]:
    out = SilenceOut.of(row).model_dump()
    service = services.get_service(session, row.service_id) if row.service_id is not None else None
    return {**out, "service": service.name if service else None, "state": silences.state_of(row, now())}


def _seconds(duration: str | None) -> int | str | None:
    # A duration the API would take in seconds; one that cannot be read is left for the schema to refuse.
    if duration is None:
        return None
    try:
        return int(parse_duration(duration).total_seconds())
    except ValueError:
        return duration


def _matchers_shown(found: list[dict[str, Any]]) -> str:
    return shown(found, "(every alert)")


@silence_app.command("list")
@reports_errors
def list_cmd(
    include_ended: Annotated[bool, typer.Option("--all", help="Include silences that have ended")] = False,
    as_json: AsJson = False,
) -> None:
    """Silences and maintenance windows that are active or still to come (with --all, ended ones too)."""
    with database() as db, db.reader() as session:
        rows = [_out(session, r) for r in silences.list_silences(session, now=now(), include_expired=include_ended)]
    if as_json:
        print_json(rows)
        return
    grid = table(
        "ID",
        "Name",
        "State",
        "Matchers",
        "Service",
        "From (UTC)",
        "To (UTC)",
        "Recurs",
        "Comment",
        nowrap=("ID", "State", "From (UTC)", "To (UTC)"),
    )
    for r in rows:
        grid.add_row(
            str(r["id"]),
            text(r["name"]),
            r["state"],
            text(_matchers_shown(r["matchers"])),
            text(r["service"]),
            format_time(r["starts_at"]),
            format_time(r["ends_at"]),
            text(r["recurrence"]),
            text(r["comment"]),
        )
    console.print(grid if rows else "no active or upcoming silences")


def _save(session: Session, body: SilenceIn, author_email: str, author_id: int, existing: SilenceRow | None) -> Any:
    current = now()
    start = utc(body.starts_at) if body.starts_at else existing.starts_at if existing else current
    return silences.create_silence(
        session,
        matchers=body.matchers,
        starts_at=start,
        ends_at=utc(body.ends_at) if body.ends_at else None,
        author=author_email,
        comment=body.comment,
        service=body.service,
        recurrence=body.recurrence,
        duration_seconds=body.duration_seconds,
        name=existing.name if existing else body.name,
        created_by_user_id=author_id,
        now=current,
        existing=existing,
    )


def _report(row: dict[str, Any], verb: str, as_json: bool) -> None:
    if as_json:
        print_json(row)
        return
    kind = "maintenance window" if row["recurrence"] else "silence"
    recurs = f" ({row['recurrence']}, {row['duration_seconds']} s each)" if row["recurrence"] else ""
    until = f" until {format_time(row['ends_at'])} UTC" if row["ends_at"] else ""
    console.print(f"{kind} {row['id']} {verb}: {text(_matchers_shown(row['matchers']) + recurs)}{until}")


@silence_app.command("create")
@reports_errors
def create_cmd(
    comment: Comment = None,
    match: Match = None,
    starts_at: StartsAt = None,
    ends_at: EndsAt = None,
    service: Service = None,
    recurrence: Recurrence = None,
    duration: Duration = None,
    name: Annotated[
        str | None, typer.Option("--name", help="A name, to find it again (and for 'tocsin apply')")
    ] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Mute alerts that match, for a while or (with --recurrence and --duration) in recurring windows."""
    current = now()
    given = {
        "matchers": matchers(match) or [],
        "starts_at": time_value(starts_at, current),
        "ends_at": time_value(ends_at, current),
        "comment": comment,
        "service": service,
        "recurrence": recurrence,
        "duration_seconds": _seconds(duration),
        "name": name,
    }
    # Options not given are left out, so that a missing one is refused as the API refuses a missing field.
    body = validated(SilenceIn, {field: value for field, value in given.items() if value is not None})
    with database() as db, db.unit_of_work() as session:
        author = responder_user(session, as_user)
        row = _out(session, _save(session, body, author.email, author.id, None))
    _report(row, "created", as_json)


@silence_app.command("edit")
@reports_errors
def edit_cmd(
    silence_id: Annotated[int, typer.Argument(metavar="ID", help="Silence id, as 'tocsin silence list' shows it")],
    comment: Comment = None,
    match: Match = None,
    starts_at: StartsAt = None,
    ends_at: EndsAt = None,
    service: Service = None,
    recurrence: Recurrence = None,
    duration: Duration = None,
    no_end: Annotated[
        bool, typer.Option("--no-end", help="Remove its end (a maintenance window then recurs with no last day)")
    ] = False,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Rewrite a silence (extend, narrow, re-time): what is not given is kept; its name stays."""
    if no_end and ends_at is not None:
        raise fail("give --ends-at or --no-end, not both")
    current = now()
    with database() as db, db.unit_of_work() as session:
        author = responder_user(session, as_user)
        existing = silences.get_silence(session, silence_id)
        stored = _out(session, existing)
        given = {
            "matchers": matchers(match),
            "starts_at": time_value(starts_at, current),
            "ends_at": time_value(ends_at, current),
            "comment": comment,
            "service": service,
            "recurrence": recurrence,
            "duration_seconds": _seconds(duration),
        }
        merged = {field: stored[field] if value is None else value for field, value in given.items()}
        body = validated(SilenceIn, {**merged, "ends_at": None} if no_end else merged)
        row = _out(session, _save(session, body, author.email, author.id, existing))
    _report(row, "saved", as_json)


@silence_app.command("end")
@reports_errors
def end_cmd(
    silence_id: Annotated[int, typer.Argument(metavar="ID", help="Silence id, as 'tocsin silence list' shows it")],
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """End a silence now (it is kept, ended, for the record)."""
    with database() as db, db.unit_of_work() as session:
        responder_user(session, as_user)
        row = _out(session, silences.expire_silence(session, silence_id, now=now()))
    _report(row, "ended", as_json)
