"""``tocsin workflow`` (list, run, runs, simulate): the workflows of ADR 0027 from the host. Definitions are written
with ``tocsin apply`` or the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli._app import (
    app,
    console,
    database,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_actor,
    table,
    text,
)
from tocsin.cli.incidents import AsJson, AsUser, Ref
from tocsin.incidents import service as incidents
from tocsin.workflows import runner
from tocsin.workflows import service as workflows

workflow_app = typer.Typer(help="Workflows: what runs by itself on incidents", no_args_is_help=True)
app.add_typer(workflow_app, name="workflow")

Name = Annotated[str, typer.Argument(metavar="WORKFLOW", help="Workflow name or id")]


@workflow_app.command("list")
@reports_errors
def workflow_list(as_json: AsJson = False) -> None:
    """The workflows, their triggers and versions."""
    with database() as db, db.reader() as session:
        items: list[dict[str, Any]] = [
            {
                "name": w.name,
                "enabled": w.enabled,
                "trigger": w.trigger.get("event", ""),
                "steps": len(w.steps),
                "version": w.version,
            }
            for w in workflows.list_workflows(session)
        ]
    if as_json:
        print_json(items)
        return
    grid = table("name", "enabled", "trigger", "steps", "version")
    for i in items:
        grid.add_row(text(i["name"]), "yes" if i["enabled"] else "no", i["trigger"], str(i["steps"]), str(i["version"]))
    console.print(grid)


@workflow_app.command("run")
@reports_errors
def workflow_run(ref: Ref, name: Name, as_user: AsUser = None) -> None:
    """Start a workflow on an incident now, whatever its trigger and conditions (the worker runs its steps)."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        run = workflows.run_now(session, incident.id, name, actor=actor, now=now())
        run_id, number = run.id, incident.number
    console.print(f"workflow run {run_id} started on #{number}")


@workflow_app.command("runs")
@reports_errors
def workflow_runs(ref: Ref, as_json: AsJson = False) -> None:
    """The workflow runs of an incident and how far each got."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        items: list[dict[str, Any]] = [
            {
                "id": r.id,
                "workflow": r.name,
                "version": r.version,
                "trigger": r.trigger,
                "status": r.status,
                "step": r.position,
                "steps": len(r.steps),
                "due_at": r.due_at,
            }
            for r in runner.runs_of(session, incident.id)
        ]
    if as_json:
        print_json(items)
        return
    grid = table("id", "workflow", "status", "step", "trigger", "next due (UTC)", title=f"#{incident.number}")
    for i in items:
        due = format_time(i["due_at"]) if i["due_at"] else ""
        step = f"{min(i['step'] + 1, i['steps'])} of {i['steps']}"
        grid.add_row(str(i["id"]), text(i["workflow"]), i["status"], step, i["trigger"], due)
    console.print(grid)


@workflow_app.command("simulate")
@reports_errors
def workflow_simulate(ref: Ref, as_json: AsJson = False) -> None:
    """What would run for this incident now, and why or why not, without acting."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        found = workflows.simulate(session, workflows.subject_of(session, incident), incident_id=incident.id)
        items: list[dict[str, Any]] = [
            {"kind": s.kind, "name": s.name, "version": s.version, "would_run": s.would_run, "reason": s.reason}
            for s in found
        ]
    if as_json:
        print_json(items)
        return
    grid = table("kind", "name", "would run", "why", title=f"#{incident.number}")
    for i in items:
        grid.add_row(i["kind"], text(i["name"]), "yes" if i["would_run"] else "no", text(i["reason"]))
    console.print(grid)
