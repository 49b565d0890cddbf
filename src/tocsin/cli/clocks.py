"""``tocsin clocks`` (every running regulatory clock, ADR 0032), ``tocsin clocks classify`` and ``tocsin clocks
submit``, and ``tocsin clocks regimes``. Private incidents stay hidden from whoever may not see them (--as)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from tocsin.access import service as access
from tocsin.cli._app import (
    acting_user,
    app,
    console,
    database,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_actor,
    table,
    wake_workers,
)
from tocsin.cli._app import text as plain
from tocsin.cli.incidents import AsJson, AsUser, Ref
from tocsin.compliance import service as compliance
from tocsin.incidents import visibility

clocks_app = typer.Typer(
    help="Regulatory reporting clocks: without a command, every running clock you may see",
    invoke_without_command=True,
)
app.add_typer(clocks_app, name="clocks")

Moment = Annotated[datetime | None, typer.Option(help="ISO 8601 with a zone; default: now")]


def _left(due: datetime | None, at: datetime) -> str:
    if due is None:
        return "waiting"
    seconds = int((due - at).total_seconds())
    sign, seconds = ("overdue " if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 86400}d {seconds % 86400 // 3600}h {seconds % 3600 // 60:02d}m"


@clocks_app.callback()
@reports_errors
def clocks(
    ctx: typer.Context,
    regime: Annotated[str | None, typer.Option("--regime", help="Only this regime (its key)")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Every running regulatory clock, the soonest deadline first."""
    if ctx.invoked_subcommand is not None:
        return
    at = now()
    with database() as db, db.reader() as session:
        viewer = access.viewer_of(session, acting_user(session, as_user))
        sets = compliance.running_clocks(session, viewer, see_all=True, now=at, regime=regime)
        rows = [
            (s.incident.number, s.incident.title, s.regime.key, c.key, c.title, c.due_at, c.status)
            for s in sets
            for c in s.clocks
            if c.status in ("running", "overdue", "waiting")
        ]
    if as_json:
        print_json(
            [
                {
                    "incident": n,
                    "title": t,
                    "regime": r,
                    "deadline": k,
                    "due_at": d.isoformat() if d else None,
                    "status": st,
                    "seconds_left": (d - at).total_seconds() if d else None,
                }
                for n, t, r, k, _, d, st in rows
            ]
        )
        return
    if not rows:
        console.print("No regulatory clock is running.")
        return
    grid = table("Incident", "Regime", "Deadline", "Due (UTC)", "Left", nowrap=("Incident", "Due (UTC)", "Left"))
    for n, t, r, _, title, d, _ in rows:
        grid.add_row(f"#{n} {plain(t)}", r, plain(title), format_time(d), _left(d, at))
    console.print(grid)


@clocks_app.command("regimes")
@reports_errors
def regimes_cmd(as_json: AsJson = False) -> None:
    """The regimes and their deadlines."""
    with database() as db, db.reader() as session:
        specs = [compliance.as_spec(session, r) for r in compliance.list_regimes(session)]
    if as_json:
        print_json(specs)
        return
    grid = table("Key", "Regime", "Deadlines", nowrap=("Key",))
    for s in specs:
        rules = "; ".join(
            f"{d['title']}: " + " or ".join(f"{r['after']} after {r['anchor']}" for r in d["rules"])
            for d in s["deadlines"]
        )
        grid.add_row(s["key"] + ("" if s["enabled"] else " (off)"), plain(s["name"]), plain(rules))
    console.print(grid)


@clocks_app.command("classify")
@reports_errors
def classify(
    ref: Ref,
    regime: Annotated[str, typer.Argument(help="The regime's key (tocsin clocks regimes)")],
    awareness: Moment = None,
    classified: Moment = None,
    determined: Moment = None,
    detected: Moment = None,
    note: Annotated[str, typer.Option(help="Why it applies")] = "",
    as_user: AsUser = None,
) -> None:
    """Classify an incident under a regime: its reporting clocks start."""
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            user = acting_user(session, as_user)
            incident = visibility.get_visible(session, ref, access.viewer_of(session, user), see_all=True)
            compliance.classify(
                session,
                incident,
                regime,
                awareness_at=awareness,
                classified_at=classified,
                determined_at=determined,
                detected_at=detected,
                note=note,
                actor=actor,
                now=now(),
            )
            number = incident.number
        wake_workers(db)
    console.print(f"Incident #{number} classified under {regime}: its clocks run (tocsin clocks)")


@clocks_app.command("submit")
@reports_errors
def submit(
    ref: Ref,
    regime: Annotated[str, typer.Argument(help="The regime's key")],
    deadline: Annotated[str, typer.Argument(help="The deadline's key (initial, final …)")],
    summary: Annotated[str, typer.Option(help="What was sent")],
    reference: Annotated[str, typer.Option(help="The regulator's reference")] = "",
    at: Moment = None,
    late_reason: Annotated[str, typer.Option("--late-reason", help="Required when past the deadline")] = "",
    as_user: AsUser = None,
) -> None:
    """Record a submission made to the regulator."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        user = acting_user(session, as_user)
        incident = visibility.get_visible(session, ref, access.viewer_of(session, user), see_all=True)
        row = compliance.submit(
            session,
            incident,
            regime,
            deadline,
            summary=summary,
            reference=reference,
            submitted_at=at,
            late_reason=late_reason,
            actor=actor,
            now=now(),
        )
        late = row.late
    console.print("Submission recorded" + (" (late)" if late else ""))
