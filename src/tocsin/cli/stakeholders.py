"""``tocsin incident update`` (write a stakeholder update) and ``tocsin incident updates`` (list them), ADR 0028."""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.cli._app import (
    console,
    database,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_actor,
    settings,
    wake_workers,
)
from tocsin.cli._app import text as plain
from tocsin.cli.incidents import AsJson, AsUser, Ref, incident_app
from tocsin.incidents import service as incidents
from tocsin.stakeholders import service as stakeholders


@incident_app.command("update")
@reports_errors
def incident_update(
    ref: Ref,
    body: Annotated[str | None, typer.Argument(help="The update (free text)")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="A template with incident fields: '{{incident.title}}'")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="A group to send to (repeatable); default: the matching ones")
    ] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Write a stakeholder update and send it to the groups that subscribe to the incident.

    Give the text, or --template. The actor is --as EMAIL, else TOCSIN_CLI_USER, else the first admin.
    """
    base_url = settings().base_url
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            found = incidents.get(session, ref)
            update = stakeholders.post_update(
                session,
                found.id,
                body=body,
                template=template,
                groups=group or None,
                actor=actor,
                now=now(),
                base_url=base_url,
            )
            groups = list(update.groups)
            done = {"id": update.id, "number": found.number, "body": update.body, "groups": groups}
        wake_workers(db)
    if as_json:
        print_json(done)
        return
    to = ", ".join(groups) or "the drill's participants"
    console.print(f"stakeholder update sent on #{done['number']} to {plain(to)}")


@incident_app.command("updates")
@reports_errors
def incident_updates(ref: Ref, as_json: AsJson = False) -> None:
    """An incident's stakeholder updates, and when the next is due."""
    per_severity = settings().stakeholder_cadence_minutes
    with database() as db, db.reader() as session:
        found = incidents.get(session, ref)
        updates = stakeholders.updates_of(session, found.id)
        rows = [{"id": u.id, "at": u.created_at, "groups": list(u.groups), "body": u.body} for u in updates]
        lines = [(u.created_at, ", ".join(u.groups) or "-", u.body) for u in updates]
        due = stakeholders.next_due(session, found, per_severity)
    if as_json:
        print_json({"items": rows, "next_due_at": due})
        return
    for at, to, body in lines:
        console.print(f"{format_time(at)} UTC → {plain(to)}: {plain(body)}")
    if not lines:
        console.print("no stakeholder update yet")
    if due is not None:
        console.print(f"next update due {format_time(due)} UTC")
