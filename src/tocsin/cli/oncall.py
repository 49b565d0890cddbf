"""``tocsin oncall``: who is on call, final shifts, and overrides."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from tocsin.api.admin import OverridePatch
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
from tocsin.cli._inputs import TIME_HELP
from tocsin.core.clock import utc
from tocsin.escalation import service as escalation
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import parse_duration
from tocsin.users import service as users
from tocsin.users.models import User

oncall_app = typer.Typer(
    help="Who is on call (run without a subcommand), final shifts and overrides", invoke_without_command=True
)
app.add_typer(oncall_app, name="oncall")

UPCOMING = timedelta(days=14)
# Shifts are cut at the start of the range they are computed over; looking back shows when the current one began.
LOOK_BACK = timedelta(days=31)
_SPAN = ("from (UTC)", "to (UTC)")


def parse_time(text: str, base: datetime) -> datetime:
    raw = text.strip()
    if raw.lower() == "now":
        return base
    if raw[:1] in "+-":
        try:
            offset = parse_duration(raw[1:])
        except ValueError as exc:
            raise fail(str(exc)) from None
        return base + offset if raw[0] == "+" else base - offset
    try:
        return utc(datetime.fromisoformat(raw))
    except ValueError:
        raise fail(f"not a time: {text!r} (use {TIME_HELP})") from None


def _people(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    # A user that has just been deleted can still appear in a stored layer for a moment; show the id then.
    known = {u.id: u for u in users.list_users(session)}
    return [
        {"id": i, "name": known[i].name, "email": known[i].email} if i in known else {"id": i, "name": "", "email": ""}
        for i in ids
    ]


def _names(people: list[dict[str, Any]]) -> str:
    named = (f"{p['name']} <{p['email']}>" if p["email"] else f"user {p['id']}" for p in people)
    return text(", ".join(named)) or "(nobody)"


def _on_call(session: Session, when: datetime, schedule: str | None, policy: str | None) -> list[dict[str, Any]]:
    everything = schedule is None and policy is None
    schedules = (
        oncall.list_schedules(session) if everything else [oncall.get_schedule(session, schedule)] if schedule else []
    )
    policies = (
        escalation.list_policies(session) if everything else [escalation.get_policy(session, policy)] if policy else []
    )
    out: list[dict[str, Any]] = []
    for s in schedules:
        ids = [int(u) for u in oncall.users_on_call(session, s.id, when)]
        out.append({"schedule": {"id": s.id, "name": s.name}, "users": _people(session, ids)})
    for p in policies:
        ids = [int(u) for u in escalation.first_responders(session, p, when)]
        out.append({"policy": {"id": p.id, "name": p.name}, "users": _people(session, ids)})
    return out


def _shifts_of_user(session: Session, user: User, when: datetime) -> list[dict[str, Any]]:
    return [
        {
            "schedule": {"id": schedule.id, "name": schedule.name},
            "start": shift.start,
            "end": shift.end,
            "layer": shift.layer,
            "is_override": shift.is_override,
            "now": shift.start <= when < shift.end,
        }
        for schedule, shift in oncall.upcoming_shifts_of(session, user.id, when - LOOK_BACK, when + UPCOMING)
        if shift.end > when
    ]


@oncall_app.callback()
@reports_errors
def oncall_now(
    ctx: typer.Context,
    schedule: Annotated[str | None, typer.Option("--schedule", help="Only this schedule (name or id)")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Only this escalation policy (name or id)")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="This user's current and upcoming shifts (next 14 days)")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help=f"Instead of now: {TIME_HELP}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Who is on call now, per schedule and per escalation policy (whom its first step would page)."""
    if ctx.invoked_subcommand is not None:
        return
    when = parse_time(at, now()) if at else now()
    with database() as db, db.reader() as session:
        if user is not None:
            person = users.get_user(session, user)
            shifts = _shifts_of_user(session, person, when)
            if as_json:
                print_json({"user": {"id": person.id, "name": person.name, "email": person.email}, "shifts": shifts})
                return
            _print_user_shifts(person, shifts, when)
            return
        entries = _on_call(session, when, schedule, policy)
    if as_json:
        print_json({"at": when, "on_call": entries})
        return
    if not entries:
        console.print("no schedules or escalation policies yet")
        return
    grid = table("kind", "name", "on call", title=f"On call at {format_time(when)} UTC", nowrap=("kind",))
    for e in entries:
        kind, target = ("schedule", e["schedule"]) if "schedule" in e else ("policy", e["policy"])
        grid.add_row(kind, text(target["name"]), _names(e["users"]))
    console.print(grid)


def _print_user_shifts(person: User, shifts: list[dict[str, Any]], when: datetime) -> None:
    if not shifts:
        until = format_time(when + UPCOMING)
        console.print(f"{text(person.name)} has no shifts between {format_time(when)} and {until} UTC")
        return
    grid = table("", "schedule", *_SPAN, "layer", title=text(f"Shifts of {person.name} <{person.email}>"), nowrap=_SPAN)
    for s in shifts:
        layer = "override" if s["is_override"] else (s["layer"] or "")
        grid.add_row(
            "now" if s["now"] else "",
            text(s["schedule"]["name"]),
            format_time(s["start"]),
            format_time(s["end"]),
            text(layer),
        )
    console.print(grid)


@oncall_app.command("shifts")
@reports_errors
def oncall_shifts(
    schedule: Annotated[str, typer.Argument(help="Schedule name or id")],
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days ahead")] = 7,
    start: Annotated[str | None, typer.Option("--start", help=f"From this time instead of now: {TIME_HELP}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The final shifts of a schedule: layers merged, restrictions applied, overrides on top."""
    begin = parse_time(start, now()) if start else now()
    with database() as db, db.reader() as session:
        found = oncall.get_schedule(session, schedule)
        shifts = oncall.shifts(session, found.id, begin, begin + timedelta(days=days))
        people = {p["id"]: p for p in _people(session, [int(s.user) for s in shifts])}
    rows: list[dict[str, Any]] = [
        {
            "user": people[int(s.user)],
            "start": s.start,
            "end": s.end,
            "layer": s.layer,
            "is_override": s.is_override,
        }
        for s in shifts
    ]
    if as_json:
        print_json({"schedule": {"id": found.id, "name": found.name, "timezone": found.timezone}, "shifts": rows})
        return
    if not rows:
        console.print(f"nobody is on call in {text(found.name)} in the next {days} days")
        return
    grid = table("who", "from (UTC)", "to (UTC)", "layer", title=text(f"{found.name} ({found.timezone})"), nowrap=_SPAN)
    for r in rows:
        layer = "override" if r["is_override"] else (r["layer"] or "")
        grid.add_row(_names([r["user"]]), format_time(r["start"]), format_time(r["end"]), text(layer))
    console.print(grid)


@oncall_app.command("overrides")
@reports_errors
def oncall_overrides(
    schedule: Annotated[str, typer.Argument(help="Schedule name or id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Overrides of a schedule that have not ended yet."""
    with database() as db, db.reader() as session:
        found = oncall.get_schedule(session, schedule)
        overrides = oncall.overrides(session, found, ending_after=now())
        people = {p["id"]: p for p in _people(session, [o.user_id for o in overrides])}
        rows: list[dict[str, Any]] = [
            {
                "id": o.id,
                "user": people[o.user_id],
                "replaces_user_id": o.replaces_user_id,
                "start": o.start,
                "end": o.end,
            }
            for o in overrides
        ]
    if as_json:
        print_json(rows)
        return
    grid = table("id", "who", "from (UTC)", "to (UTC)", title=text(f"Overrides of {found.name}"), nowrap=("id", *_SPAN))
    for r in rows:
        grid.add_row(str(r["id"]), _names([r["user"]]), format_time(r["start"]), format_time(r["end"]))
    console.print(grid if rows else f"no current or upcoming overrides in {text(found.name)}")


@oncall_app.command("override")
@reports_errors
def oncall_override(
    schedule: Annotated[str, typer.Argument(help="Schedule name or id")],
    user: Annotated[str, typer.Option("--user", help="Who takes the shift (email)")],
    start: Annotated[str, typer.Option("--start", help=TIME_HELP)],
    end: Annotated[str, typer.Option("--end", help=TIME_HELP)],
    replaces: Annotated[
        str | None, typer.Option("--replaces", help="Only stand in for this person (email); default: everyone")
    ] = None,
    as_user: Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)] = None,
) -> None:
    """Put someone on call in a schedule for a while, on top of its rotations."""
    current = now()
    begin, finish = parse_time(start, current), parse_time(end, current)
    with database() as db, db.unit_of_work() as session:
        found = oncall.get_schedule(session, schedule)
        person = users.get_user(session, user)
        created = oncall.add_override(
            session,
            found,
            user_id=person.id,
            start=begin,
            end=finish,
            replaces_user_id=users.get_user(session, replaces).id if replaces else None,
            created_by_user_id=responder_user(session, as_user).id,
            now=current,
        )
        override_id, name = created.id, person.name
    span = f"from {format_time(begin)} to {format_time(finish)} UTC"
    console.print(f"override {override_id}: {text(name)} on call in {text(found.name)} {span}")


@oncall_app.command("override-delete")
@reports_errors
def oncall_override_delete(
    schedule: Annotated[str, typer.Argument(help="Schedule name or id")],
    override_id: Annotated[
        int, typer.Argument(metavar="ID", help="Override id, as shown by 'tocsin oncall overrides'")
    ],
    as_user: Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)] = None,
) -> None:
    """Remove an override from a schedule."""
    with database() as db, db.unit_of_work() as session:
        responder_user(session, as_user)
        oncall.delete_override(session, oncall.get_schedule(session, schedule), override_id)
    console.print(f"override {override_id} deleted")


@oncall_app.command("override-edit")
@reports_errors
def oncall_override_edit(
    schedule: Annotated[str, typer.Argument(help="Schedule name or id")],
    override_id: Annotated[
        int, typer.Argument(metavar="ID", help="Override id, as shown by 'tocsin oncall overrides'")
    ],
    user: Annotated[str | None, typer.Option("--user", help="Who is on call instead (email or id)")] = None,
    start: Annotated[str | None, typer.Option("--start", help=TIME_HELP)] = None,
    end: Annotated[str | None, typer.Option("--end", help=TIME_HELP)] = None,
    as_user: Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Change who takes an override, or when it starts or ends; what is not given is kept."""
    current = now()
    body = validated(
        OverridePatch,
        {
            "user": user,
            "start": parse_time(start, current) if start else None,
            "end": parse_time(end, current) if end else None,
        },
    )
    with database() as db, db.unit_of_work() as session:
        responder_user(session, as_user)
        found = oncall.get_schedule(session, schedule)
        changed = oncall.update_override(
            session,
            found,
            override_id,
            start=utc(body.start) if body.start else None,
            end=utc(body.end) if body.end else None,
            user_id=users.get_user(session, body.user).id if body.user is not None else None,
        )
        person = _people(session, [changed.user_id])[0]
        row: dict[str, Any] = {
            "id": changed.id,
            "user": person,
            "replaces_user_id": changed.replaces_user_id,
            "start": changed.start,
            "end": changed.end,
        }
    if as_json:
        print_json(row)
        return
    span = f"from {format_time(row['start'])} to {format_time(row['end'])} UTC"
    console.print(f"override {override_id}: {_names([person])} on call in {text(found.name)} {span}")
