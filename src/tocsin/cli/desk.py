"""``tocsin request`` (list, show, move, convert, from-incident): service requests from the command line."""

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
    wake_workers,
)
from tocsin.cli.incidents import AsJson, AsUser
from tocsin.desk import flow
from tocsin.desk import service as desk
from tocsin.desk.models import ServiceRequest
from tocsin.services import service as services
from tocsin.users import service as users

request_app = typer.Typer(help="Service requests (the service desk)", no_args_is_help=True)
app.add_typer(request_app, name="request")

ReqRef = Annotated[str, typer.Argument(metavar="REQUEST", help="Request number: REQ-12 or 12")]


def _row(session: Any, r: ServiceRequest) -> dict[str, Any]:
    linked = desk.incident_numbers(session, [i for i in (r.incident_id, r.from_incident_id) if i is not None])
    return {
        "ref": desk.request_ref(r.number),
        "number": r.number,
        "title": r.title,
        "status": r.status.value,
        "service": services.get_service(session, r.service_id).name,
        "requester": r.requester_name,
        "requester_email": r.requester_email,
        "assignee": users.names_of(session, [r.assignee_user_id]).get(r.assignee_user_id, "")
        if r.assignee_user_id
        else "",
        "priority": r.priority,
        "incident": linked.get(r.incident_id) if r.incident_id else None,
        "from_incident": linked.get(r.from_incident_id) if r.from_incident_id else None,
        "created_at": r.created_at,
    }


@request_app.command("list")
@reports_errors
def request_list(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="new, in_progress, fulfilled, rejected, converted")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: AsJson = False,
) -> None:
    """Service requests, newest first."""
    statuses = tuple(flow.parse_status(s) for s in status or ())
    with database() as db, db.reader() as session:
        items = [_row(session, r) for r in desk.list_requests(session, statuses=statuses, limit=limit)]
    if as_json:
        print_json(items)
        return
    grid = table("request", "status", "title", "service", "requester", "assigned", "priority", nowrap=("request",))
    for i in items:
        grid.add_row(
            i["ref"],
            i["status"],
            text(i["title"]),
            text(i["service"]),
            text(i["requester"]),
            text(i["assignee"]),
            i["priority"],
        )
    console.print(grid)


@request_app.command("show")
@reports_errors
def request_show(ref: ReqRef, as_json: AsJson = False) -> None:
    """A request and its history."""
    with database() as db, db.reader() as session:
        row = desk.get_request(session, ref)
        item = _row(session, row)
        item["description"] = row.description
        item["timeline"] = [
            {"at": e.at, "kind": e.kind, "actor": e.actor, "message": e.message} for e in desk.timeline(session, row)
        ]
    if as_json:
        print_json(item)
        return
    console.print(f"{item['ref']} [{item['status']}] {text(item['title'])}")
    console.print(
        f"service {text(item['service'])} · requester {text(item['requester'])} · priority {item['priority']}"
    )
    if item["incident"]:
        console.print(f"converted into incident #{item['incident']}")
    if item["from_incident"]:
        console.print(f"converted from incident #{item['from_incident']}")
    for e in item["timeline"]:
        console.print(f"{format_time(e['at'])}  {text(e['actor'])}: {text(e['message'])}")


@request_app.command("move")
@reports_errors
def request_move(
    ref: ReqRef,
    status: Annotated[str, typer.Argument(help="in_progress, fulfilled, rejected or new")],
    message: Annotated[str, typer.Option("--message", "-m", help="Why")] = "",
    as_user: AsUser = None,
) -> None:
    """Move a request through its flow."""
    target = flow.parse_status(status)
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        row = desk.move(session, ref, target, actor=actor, now=now(), message=message)
        label = desk.request_ref(row.number)
    console.print(f"{label} {target.value}")


@request_app.command("convert")
@reports_errors
def request_convert(ref: ReqRef, as_user: AsUser = None) -> None:
    """Convert a request into an incident in triage (it pages as its service says)."""
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            incident = desk.convert_to_incident(session, ref, actor=actor, now=now())
            number = incident.number
        wake_workers(db)
    console.print(f"converted into incident #{number}")


@request_app.command("from-incident")
@reports_errors
def request_from_incident(
    incident_ref: Annotated[str, typer.Argument(metavar="INCIDENT", help="Incident id, or #number")],
    message: Annotated[str, typer.Option("--message", "-m", help="Why")] = "",
    as_user: AsUser = None,
) -> None:
    """Handle an incident in triage (or declined) as a service request; the incident ends declined."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        row = desk.incident_to_request(session, incident_ref, actor=actor, now=now(), message=message)
        label = desk.request_ref(row.number)
    console.print(f"converted into {label}")
