"""``tocsin incident task`` (list, add, done, skip, reopen) and ``tocsin incident checklist``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli._app import (
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
from tocsin.cli._inputs import iso_time
from tocsin.cli.incidents import AsJson, AsUser, Ref, incident_app
from tocsin.incidents import service as incidents
from tocsin.response import service as response
from tocsin.response.models import TaskStatus
from tocsin.users import service as users

task_app = typer.Typer(help="Tasks of an incident", no_args_is_help=True)
incident_app.add_typer(task_app, name="task")

TaskId = Annotated[int, typer.Argument(metavar="TASK", help="Task id (from `tocsin incident task list`)")]


@task_app.command("list")
@reports_errors
def task_list(ref: Ref, as_json: AsJson = False) -> None:
    """An incident's tasks and how many are done."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        rows = response.tasks(session, incident.id)
        names = users.names_of(session, [t.assignee_user_id for t in rows if t.assignee_user_id])
        done = response.progress(rows)
        items: list[dict[str, Any]] = [
            {
                "id": t.id,
                "title": t.title,
                "status": t.status,
                "assignee": names.get(t.assignee_user_id, "") if t.assignee_user_id else "",
                "due_at": t.due_at,
                "checklist": t.checklist,
            }
            for t in rows
        ]
    if as_json:
        print_json({"items": items, "done": done.done, "skipped": done.skipped, "total": done.total})
        return
    grid = table("id", "status", "task", "for", "due (UTC)", title=f"{done.closed} of {done.total} done")
    for i in items:
        due = format_time(i["due_at"]) if i["due_at"] else ""
        grid.add_row(str(i["id"]), i["status"], text(i["title"]), text(i["assignee"]), due)
    console.print(grid)


@task_app.command("add")
@reports_errors
def task_add(
    ref: Ref,
    title: Annotated[str, typer.Argument(help="What to do")],
    assignee: Annotated[str | None, typer.Option("--for", help="Who does it (email or id)")] = None,
    due: Annotated[str | None, typer.Option("--due", help="When it is due, ISO 8601 (UTC unless an offset)")] = None,
    as_user: AsUser = None,
) -> None:
    """Add a task to an incident."""
    when = iso_time(due) if due else None
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        task = response.add_task(session, incident.id, title, assignee=assignee, due_at=when, actor=actor, now=now())
        task_id = task.id
    console.print(f"task {task_id} added to #{incident.number}")


def _mark(ref: str, task_id: int, status: TaskStatus, as_user: str | None) -> None:
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        response.close_task(session, incident.id, task_id, status, actor=actor, now=now())
    console.print(f"task {task_id} {status}")


@task_app.command("done")
@reports_errors
def task_done(ref: Ref, task_id: TaskId, as_user: AsUser = None) -> None:
    """Mark a task done."""
    _mark(ref, task_id, TaskStatus.DONE, as_user)


@task_app.command("skip")
@reports_errors
def task_skip(ref: Ref, task_id: TaskId, as_user: AsUser = None) -> None:
    """Mark a task skipped (not needed this time)."""
    _mark(ref, task_id, TaskStatus.SKIPPED, as_user)


@task_app.command("reopen")
@reports_errors
def task_reopen(ref: Ref, task_id: TaskId, as_user: AsUser = None) -> None:
    """Open a closed task again."""
    _mark(ref, task_id, TaskStatus.OPEN, as_user)


@incident_app.command("checklist")
@reports_errors
def incident_checklist(
    ref: Ref,
    template: Annotated[str, typer.Argument(help="Checklist template name")],
    as_user: AsUser = None,
) -> None:
    """Add every item of a checklist template to an incident as tasks."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        added = response.add_checklist(session, incident.id, template, actor=actor, now=now())
    console.print(f"{len(added)} tasks added to #{incident.number} from {template}")
