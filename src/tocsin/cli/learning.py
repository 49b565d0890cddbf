"""``tocsin incident postmortem`` (start, show, export, move) and ``tocsin action-items`` (list the open ones,
add one to an incident), ADR 0029."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tocsin.access import service as access
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
from tocsin.cli._inputs import iso_time
from tocsin.cli.incidents import AsJson, AsUser, Ref, incident_app
from tocsin.incidents import service as incidents
from tocsin.learning import actions, export
from tocsin.learning import service as postmortems
from tocsin.users import service as users

postmortem_app = typer.Typer(help="An incident's postmortem", no_args_is_help=True)
incident_app.add_typer(postmortem_app, name="postmortem")
items_app = typer.Typer(help="Action items from incidents", no_args_is_help=True)
app.add_typer(items_app, name="action-items")


@postmortem_app.command("start")
@reports_errors
def postmortem_start(
    ref: Ref,
    owner: Annotated[str | None, typer.Option("--owner", help="User id or email; default: the assignee")] = None,
    reviewer: Annotated[list[str] | None, typer.Option("--reviewer", help="A reviewer (repeatable)")] = None,
    template: Annotated[str | None, typer.Option("--template", help="Template name; default: blameless")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Start the postmortem of an incident; its draft is filled from the incident."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        row = postmortems.create(
            session, incident, actor=actor, now=now(), owner=owner, reviewers=reviewer or [], template=template
        )
        done = {"id": row.id, "number": incident.number, "status": row.status, "due_at": row.due_at}
    if as_json:
        print_json(done)
        return
    console.print(f"postmortem started on #{done['number']}, due {format_time(row.due_at)} UTC")


@postmortem_app.command("show")
@reports_errors
def postmortem_show(ref: Ref, as_json: AsJson = False) -> None:
    """The postmortem's status and sections."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        row = postmortems.get(session, incident.id)
        sections = [(s.key, s.title, s.version, s.body) for s in postmortems.sections(session, row)]
        status, due = row.status, row.due_at
    if as_json:
        print_json(
            {
                "status": status,
                "due_at": due,
                "sections": [{"key": k, "version": v, "body": b} for k, _, v, b in sections],
            }
        )
        return
    console.print(f"#{incident.number} postmortem: {status}, due {format_time(due)} UTC")
    for _, title, version, body in sections:
        console.print(f"\n[bold]{text(title)}[/bold] (v{version})\n{text(body)}")


@postmortem_app.command("move")
@reports_errors
def postmortem_move(
    ref: Ref,
    status: Annotated[str, typer.Argument(help="draft, in_review or published")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required when going back)")] = "",
    as_user: AsUser = None,
) -> None:
    """Move the postmortem to another status."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        postmortems.move(session, postmortems.get(session, incident.id), status, reason=reason, actor=actor, now=now())
    console.print(f"postmortem of #{incident.number} is now {status}")


@postmortem_app.command("export")
@reports_errors
def postmortem_export(
    ref: Ref,
    fmt: Annotated[str, typer.Option("--format", help="md, html or pdf")] = "md",
    out: Annotated[Path | None, typer.Option("--out", help="File to write; default: standard output")] = None,
) -> None:
    """The postmortem as Markdown, HTML or PDF."""
    if fmt not in export.FORMATS:
        raise typer.BadParameter("md, html or pdf", param_hint="--format")
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        content = export.render(session, postmortems.get(session, incident.id), fmt)
    if out is not None:
        out.write_bytes(content)
        console.print(f"written to {out}")
    else:
        sys.stdout.buffer.write(content)


@items_app.command("list")
@reports_errors
def items_list(
    owner: Annotated[str | None, typer.Option("--owner", help="User id or email")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team id or name")] = None,
    as_json: AsJson = False,
) -> None:
    """Open action items (every incident: the command line acts as an administrator)."""
    with database() as db, db.reader() as session:
        admin = next((u for u in users.list_users(session) if u.role == "admin"), None)
        if admin is None:
            rows = []
        else:
            rows = actions.open_items(session, access.viewer_of(session, admin), see_all=True, owner=owner, team=team)
        moment = now()
        found = [
            {
                "id": i.id,
                "incident_id": i.incident_id,
                "title": i.title,
                "status": i.status,
                "due_at": i.due_at,
                "warnings": actions.warnings_of(i, moment),
            }
            for i in rows
        ]
    if as_json:
        print_json(found)
        return
    out = table("ID", "Title", "Status", "Due", "Warnings")
    for item in found:
        out.add_row(
            str(item["id"]),
            text(item["title"]),
            str(item["status"]),
            format_time(item["due_at"]),  # type: ignore[arg-type]
            text("; ".join(item["warnings"])),  # type: ignore[arg-type]
        )
    console.print(out)


@items_app.command("add")
@reports_errors
def items_add(
    ref: Ref,
    title: Annotated[str, typer.Argument(help="What will change")],
    owner: Annotated[str | None, typer.Option("--owner", help="User id or email")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due date (ISO 8601)")] = None,
    criterion: Annotated[str, typer.Option("--criterion", help="How we will know it is done")] = "",
    kind: Annotated[str, typer.Option("--kind", help="prevent, mitigate, detect or process")] = "prevent",
    priority: Annotated[str, typer.Option("--priority", help="low, medium, high or critical")] = "medium",
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Add an action item to an incident (accepted with warnings when it is not SMART yet)."""
    due_at = iso_time(due) if due else None
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        spec = actions.ItemSpec(
            title=title, owner=owner, due_at=due_at, success_criterion=criterion, kind=kind, priority=priority
        )
        saved = actions.create(session, incident, spec, actor=actor, now=now())
        done = {"id": saved.item.id, "warnings": saved.warnings}
    if as_json:
        print_json(done)
        return
    console.print(f"action item #{done['id']} added to #{incident.number}")
    for warning in saved.warnings:
        console.print(f"warning: {warning}")
