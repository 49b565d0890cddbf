"""``tocsin drill`` (scenario list/set/remove, start, end, list, report) and ``tocsin tier-cost`` (ADR 0025)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from tocsin.cli._app import (
    admin_user,
    app,
    console,
    database,
    fail,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_actor,
    table,
    text,
    wake_workers,
)
from tocsin.cli.incidents import AsJson, AsUser
from tocsin.drills import service as drills
from tocsin.drills.models import DrillRun
from tocsin.incidents import service as incidents
from tocsin.services import service as services

drill_app = typer.Typer(
    help="Drills: a scenario's event through the real path, paging marked DRILL", no_args_is_help=True
)
app.add_typer(drill_app, name="drill")
scenario_app = typer.Typer(help="Drill scenarios", no_args_is_help=True)
drill_app.add_typer(scenario_app, name="scenario")
tier_app = typer.Typer(help="Default cost of a minute of downtime per service tier", no_args_is_help=True)
app.add_typer(tier_app, name="tier-cost")

DrillId = Annotated[str, typer.Argument(metavar="ID", help="Drill id (from `tocsin drill list`)")]
ScenarioName = Annotated[str, typer.Argument(metavar="NAME", help="Scenario name")]


@scenario_app.command("list")
@reports_errors
def scenario_list(as_json: AsJson = False) -> None:
    """The drill scenarios."""
    with database() as db, db.reader() as session:
        rows = drills.scenarios(session)
        names = services.names_of(session, [r.service_id for r in rows])
        items: list[dict[str, Any]] = [
            {
                "name": r.name,
                "service": names.get(r.service_id, ""),
                "payload": r.payload,
                "incident_type": r.incident_type,
                "description": r.description,
            }
            for r in rows
        ]
    if as_json:
        print_json(items)
        return
    grid = table("scenario", "service", "sends", "description")
    for i in items:
        sends = f"type {i['incident_type']}" if i["incident_type"] else json.dumps(i["payload"] or {})[:60]
        grid.add_row(text(i["name"]), text(i["service"]), text(sends), text(i["description"]))
    console.print(grid)


@scenario_app.command("set")
@reports_errors
def scenario_set(
    name: ScenarioName,
    service: Annotated[str, typer.Option("--service", help="The service it runs on (name or id)")],
    payload: Annotated[
        str | None, typer.Option("--payload", help='A generic event as JSON: {"summary": …, "severity": …}')
    ] = None,
    incident_type: Annotated[str | None, typer.Option("--type", help="An incident type, by name")] = None,
    description: Annotated[str, typer.Option("--description", help="What the drill exercises")] = "",
    as_user: AsUser = None,
) -> None:
    """Create or change a drill scenario (admins)."""
    try:
        body = json.loads(payload) if payload is not None else None
    except ValueError as exc:
        raise fail(f"--payload is not JSON: {exc}", 2) from None
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        found = drills.find_scenario(session, name)
        if found is None:
            spec = drills.ScenarioSpec(
                name=name, service=service, payload=body, incident_type=incident_type, description=description
            )
            drills.create_scenario(session, spec, now=now())
            verb = "created"
        else:
            drills.update_scenario(
                session,
                found.id,
                now=now(),
                service=service,
                payload=body,
                incident_type=incident_type,
                description=description,
            )
            verb = "saved"
    console.print(f"scenario {name!r} {verb}")


@scenario_app.command("remove")
@reports_errors
def scenario_remove(name: ScenarioName, as_user: AsUser = None) -> None:
    """Remove a drill scenario (its drills keep its name)."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        drills.delete_scenario(session, name)
    console.print(f"scenario {name!r} removed")


def _row(session: Any, run: DrillRun) -> dict[str, Any]:
    number = incidents.get(session, run.incident_id).number if run.incident_id is not None else None
    return {
        "id": run.id,
        "scenario": run.scenario_name,
        "incident_number": number,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "report": run.report,
    }


@drill_app.command("start")
@reports_errors
def drill_start(scenario: ScenarioName, as_user: AsUser = None, as_json: AsJson = False) -> None:
    """Start a drill: the scenario's event goes through the real ingest path and pages, marked DRILL."""
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            run = drills.start(session, scenario, actor=actor, now=now())
            row = _row(session, run)
        wake_workers(db)
    if as_json:
        print_json(row)
        return
    console.print(f"drill {row['id']} started: incident #{row['incident_number']}")


@drill_app.command("end")
@reports_errors
def drill_end(drill_id: DrillId, as_user: AsUser = None) -> None:
    """End a drill by hand: its incident is resolved and its report written."""
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            run = drills.end(session, drill_id, actor=actor, now=now())
            run_id = run.id
        wake_workers(db)
    console.print(f"drill {run_id} ended; see `tocsin drill report {run_id}`")


@drill_app.command("list")
@reports_errors
def drill_list(as_json: AsJson = False) -> None:
    """Drills, newest first."""
    with database() as db, db.reader() as session:
        rows = [_row(session, r) for r in drills.runs(session)]
    if as_json:
        print_json(rows)
        return
    grid = table("id", "scenario", "incident", "started (UTC)", "ended (UTC)")
    for r in rows:
        ended = format_time(r["ended_at"]) if r["ended_at"] else "running"
        incident = f"#{r['incident_number']}" if r["incident_number"] else ""
        grid.add_row(str(r["id"]), text(r["scenario"]), incident, format_time(r["started_at"]), ended)
    console.print(grid)


def _seconds(value: object) -> str:
    return f"{value:.0f} s" if isinstance(value, int | float) else "-"


@drill_app.command("report")
@reports_errors
def drill_report(drill_id: DrillId, as_json: AsJson = False) -> None:
    """A drill's report: who was paged, who answered how fast, which steps fired and which were skipped."""
    with database() as db, db.reader() as session:
        row = _row(session, drills.get_run(session, drill_id))
    if as_json:
        print_json(row)
        return
    report = row["report"]
    if report is None:
        console.print(f"drill {row['id']} ({text(row['scenario'])}) is still running; end it to get its report")
        return
    console.print(
        f"drill {row['id']} ({text(row['scenario'])}), incident #{row['incident_number']}: "
        f"first answer after {_seconds(report['first_answer_seconds'])}"
    )
    paged = table("paged", "channel", "step", "after", "status", title="Pages")
    for p in report["paged"]:
        paged.add_row(text(p["user"]), p["channel"], str(p["step"]), _seconds(p["after_seconds"]), p["status"])
    console.print(paged)
    answers = table("who", "did", "through", "after", title="Answers")
    for a in report["answers"]:
        answers.add_row(text(a["user"]), a["action"], a["channel"], _seconds(a["after_seconds"]))
    console.print(answers)
    console.print("steps fired: " + (", ".join(str(s["step"]) for s in report["steps_fired"]) or "none"))
    console.print("steps that found nobody: " + (", ".join(str(s["step"]) for s in report["steps_empty"]) or "none"))
    console.print("steps skipped: " + (", ".join(str(s) for s in report["steps_skipped"]) or "none"))
    skipped = ", ".join(f"{text(t['title'])} ({t['status']})" for t in report["tasks_skipped"])
    console.print("tasks skipped or left open: " + (skipped or "none"))


@tier_app.command("list")
@reports_errors
def tier_list(as_json: AsJson = False) -> None:
    """The default cost of a minute of downtime of each tier."""
    with database() as db, db.reader() as session:
        costs = services.tier_costs(session)
    if as_json:
        print_json({str(k): v for k, v in costs.items()})
        return
    grid = table("tier", "cost per minute")
    for tier, cost in costs.items():
        grid.add_row(str(tier), f"{cost:,.2f}")
    console.print(grid)


@tier_app.command("set")
@reports_errors
def tier_set(
    tier: Annotated[int, typer.Argument(help="Tier, 1 to 5")],
    cost: Annotated[float | None, typer.Argument(help="Cost of a minute of downtime; leave out to clear")] = None,
    as_user: AsUser = None,
) -> None:
    """Set (or clear) the default cost of a minute of downtime of a tier's services (admins)."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        services.set_tier_cost(session, tier, cost, now=now())
    console.print(f"tier {tier}: " + (f"{cost:,.2f} per minute" if cost is not None else "no default"))
