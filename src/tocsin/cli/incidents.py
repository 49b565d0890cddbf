"""``tocsin incident`` (list, show and act on incidents) and ``tocsin event send``."""

from __future__ import annotations

import socket
import sys
from typing import Annotated, Any

import httpx
import typer
from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
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
    responder_actor,
    settings,
    table,
    text,
    wake_workers,
)
from tocsin.cli._inputs import iso_time
from tocsin.core.errors import InvalidInput
from tocsin.incidents import lifecycle, milestones, phases, visibility
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import IncidentStatus, ResponseStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.priority import ALERT_SEVERITIES, PRIORITIES, URGENCIES
from tocsin.incidents.schemas import IncidentFilter
from tocsin.response import types as incident_types
from tocsin.services import service as services
from tocsin.users import service as users

incident_app = typer.Typer(help="List, inspect and act on incidents", no_args_is_help=True)
event_app = typer.Typer(help="Send events to a running Tocsin", no_args_is_help=True)
app.add_typer(incident_app, name="incident")
app.add_typer(event_app, name="event")

REF_HELP = "Incident id, or its number as '#12' (quote it in a shell) or number:12"
AsUser = Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)]
Ref = Annotated[str, typer.Argument(metavar="REF", help=REF_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]

_STATUS_STYLE: dict[str, str] = {
    lifecycle.TRIGGERED: "red",
    lifecycle.ACKNOWLEDGED: "yellow",
    lifecycle.RESOLVED: "green",
}


def _incident_json(session: Session, rows: list[Incident]) -> list[dict[str, Any]]:
    service_names = services.names_of(session, [r.service_id for r in rows])
    people = users.names_of(session, [r.assigned_user_id for r in rows if r.assigned_user_id])
    kinds = incident_types.names_by_id(session) if any(r.type_id is not None for r in rows) else {}
    return [
        {
            "id": r.id,
            "number": r.number,
            "title": r.title,
            "description": r.description,
            "status": r.status,
            "urgency": r.urgency,
            "severity": r.severity,
            "priority": r.priority,
            "service_id": r.service_id,
            "service": service_names.get(r.service_id, ""),
            "assigned_user_id": r.assigned_user_id,
            "assigned_to": people.get(r.assigned_user_id, "") if r.assigned_user_id else "",
            "alert_count": r.alert_count,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "acknowledged_at": r.acknowledged_at,
            "resolved_at": r.resolved_at,
            "response_status": r.response_status,
            "phase_model": r.phase_model,
            "phase": phases.phase_of(r.phase_model, r.response_status),
            "milestones": {name: getattr(r, column) for name, column in milestones.COLUMNS.items()},
            "private": r.private,
            "private_team_id": r.private_team_id,
            "major": r.major,
            "type": kinds.get(r.type_id) if r.type_id is not None else None,
            "category": r.category,
            "conference_url": r.conference_url,
        }
        for r in rows
    ]


def _status(value: str) -> str:
    return f"[{_STATUS_STYLE.get(value, 'white')}]{value}[/]"


def _act(ref: str, as_user: str | None, action: Any) -> dict[str, Any]:
    """Run one change to an incident in a unit of work as the CLI actor; wake workers once it is committed."""
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            found = incidents.get(session, ref)
            incident = action(session, found.id, actor)
            rendered = _incident_json(session, [incident])[0]
        wake_workers(db)
    return rendered


# --- reading -----------------------------------------------------------------------------------------------------


@incident_app.command("list")
@reports_errors
def incident_list(
    status: Annotated[
        list[str] | None, typer.Option("--status", help=f"Repeatable: {', '.join(lifecycle.STATUSES)}")
    ] = None,
    service: Annotated[str | None, typer.Option("--service", help="Service name or id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many, newest first")] = 25,
    as_json: AsJson = False,
) -> None:
    """List incidents, newest first."""
    statuses = []
    for s in status or ():
        if s not in lifecycle.STATUSES:
            raise fail(f"--status must be one of {', '.join(lifecycle.STATUSES)}, not {s!r}")
        statuses.append(IncidentStatus(s))
    with database() as db, db.reader() as session:
        service_ids = (services.get_service(session, service).id,) if service else ()
        flt = IncidentFilter(statuses=tuple(statuses), service_ids=service_ids)
        rows, _ = incidents.list_incidents(session, flt, limit=limit)
        found = _incident_json(session, rows)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("no incidents")
        return
    grid = table("#", "status", "P", "title", "service", "alerts", "created (UTC)", nowrap=("#", "status", "P"))
    for r in found:
        grid.add_row(
            f"#{r['number']}",
            _status(r["status"]),
            r["priority"],
            text(r["title"]),
            text(r["service"]),
            str(r["alert_count"]),
            format_time(r["created_at"]),
        )
    console.print(grid)


@incident_app.command("show")
@reports_errors
def incident_show(ref: Ref, as_json: AsJson = False) -> None:
    """Show one incident with its alerts and its timeline."""
    with database() as db, db.reader() as session:
        found = incidents.get(session, ref)
        incident = _incident_json(session, [found])[0]
        alert_rows: list[dict[str, Any]] = [
            {
                "id": a.id,
                "dedup_key": a.dedup_key,
                "status": a.status,
                "summary": a.summary,
                "severity": a.severity,
                "source": a.source,
                "event_count": a.event_count,
                "created_at": a.created_at,
                "last_event_at": a.last_event_at,
            }
            for a in alerts.alerts_of_incident(session, found.id)
        ]
        entries: list[dict[str, Any]] = [
            {
                "id": e.id,
                "at": e.at,
                "kind": e.kind,
                "source": e.source,
                "actor": e.actor,
                "actor_user_id": e.actor_user_id,
                "message": e.message,
            }
            for e in incidents.timeline(session, found.id)
        ]
    if as_json:
        print_json({"incident": incident, "alerts": alert_rows, "timeline": entries})
        return
    console.print(
        f"[bold]#{incident['number']} {text(incident['title'])}[/bold]  {_status(incident['status'])}  "
        f"response {incident['response_status']} ({incident['phase']})"
    )
    console.print(
        f"service {text(incident['service'])} · urgency {incident['urgency']} · {incident['severity']} · "
        f"{incident['priority']} · opened {format_time(incident['created_at'])} UTC"
        + (f" · assigned to {text(incident['assigned_to'])}" if incident["assigned_to"] else "")
    )
    if incident["description"]:
        console.print(text(incident["description"]))
    alerts_grid = table(
        "id",
        "status",
        "severity",
        "summary",
        "dedup key",
        "events",
        title="Alerts",
        nowrap=("id", "status", "severity"),
    )
    for a in alert_rows:
        alerts_grid.add_row(
            str(a["id"]), a["status"], a["severity"], text(a["summary"]), text(a["dedup_key"]), str(a["event_count"])
        )
    console.print(alerts_grid if alert_rows else "no alerts (declared by hand)")
    timeline_grid = table(
        "at (UTC)", "what", "via", "who", "message", title="Timeline", nowrap=("at (UTC)", "what", "via")
    )
    for e in entries:
        timeline_grid.add_row(format_time(e["at"]), e["kind"], e["source"], text(e["actor"]), text(e["message"]))
    console.print(timeline_grid)


# --- acting ------------------------------------------------------------------------------------------------------


@incident_app.command("ack")
@reports_errors
def incident_ack(ref: Ref, as_user: AsUser = None) -> None:
    """Acknowledge an incident: paging stops until it is resolved or the acknowledgement times out.

    The actor is --as EMAIL, else the user in TOCSIN_CLI_USER, else the first admin; the timeline records "cli".
    """
    done = _act(ref, as_user, lambda s, i, actor: incidents.acknowledge(s, i, actor=actor, now=now()))
    console.print(f"#{done['number']} acknowledged")


@incident_app.command("resolve")
@reports_errors
def incident_resolve(
    ref: Ref,
    message: Annotated[str, typer.Option("--message", "-m", help="Why or how it was resolved")] = "",
    as_user: AsUser = None,
) -> None:
    """Resolve an incident and its open alerts.

    The actor is --as EMAIL, else the user in TOCSIN_CLI_USER, else the first admin; the timeline records "cli".
    """
    done = _act(ref, as_user, lambda s, i, actor: incidents.resolve(s, i, actor=actor, now=now(), message=message))
    console.print(f"#{done['number']} resolved")


@incident_app.command("status")
@reports_errors
def incident_response_status(
    ref: Ref,
    status: Annotated[ResponseStatus, typer.Argument(help="The response status to move to")],
    message: Annotated[str, typer.Option("--message", "-m", help="What changed")] = "",
    as_user: AsUser = None,
) -> None:
    """Move the response: triage, investigating, identified, mitigated, monitoring, resolved, closed, declined,
    merged, canceled. Ending the response stops paging; leaving triage acknowledges.

    The actor is --as EMAIL, else the user in TOCSIN_CLI_USER, else the first admin; the timeline records "cli".
    """
    done = _act(
        ref,
        as_user,
        lambda s, i, actor: incidents.change_response(s, i, status, actor=actor, now=now(), message=message),
    )
    console.print(f"#{done['number']} response {done['response_status']} (paging {done['status']})")


@incident_app.command("reopen")
@reports_errors
def incident_reopen(
    ref: Ref,
    message: Annotated[str, typer.Option("--message", "-m", help="Why it is reopened")] = "",
    as_user: AsUser = None,
) -> None:
    """Reopen a resolved incident: back to investigating, and paging starts again."""
    done = _act(ref, as_user, lambda s, i, actor: incidents.reopen(s, i, actor=actor, now=now(), message=message))
    console.print(f"#{done['number']} reopened")


@incident_app.command("milestone")
@reports_errors
def incident_milestone(
    ref: Ref,
    name: Annotated[str, typer.Argument(help="One of: " + ", ".join(milestones.NAMES))],
    at: Annotated[str, typer.Argument(help="When, ISO 8601 (UTC unless an offset is given); '' clears it")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the milestone changes (required)")] = "",
    as_user: AsUser = None,
) -> None:
    """Correct a milestone afterwards; the reason is kept in the timeline."""
    when = iso_time(at) if at.strip() else None
    done = _act(
        ref,
        as_user,
        lambda s, i, actor: incidents.edit_milestone(s, i, name, when, reason=reason, actor=actor, now=now()),
    )
    value = done["milestones"][name]
    console.print(f"#{done['number']} {name.replace('_', ' ')}: {format_time(value) + ' UTC' if value else 'cleared'}")


@incident_app.command("note")
@reports_errors
def incident_note(
    ref: Ref,
    text: Annotated[str, typer.Argument(help="The note")],
    as_user: AsUser = None,
) -> None:
    """Add a note to an incident's timeline.

    The actor is --as EMAIL, else the user in TOCSIN_CLI_USER, else the first admin; the timeline records "cli".
    """
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        found = incidents.get(session, ref)
        incidents.add_note(session, found.id, text, actor=actor, now=now())
        number = found.number
    console.print(f"note added to #{number}")


@incident_app.command("escalate")
@reports_errors
def incident_escalate(ref: Ref, as_user: AsUser = None) -> None:
    """Page the next escalation step now (an acknowledged incident is handed on and pages again).

    The actor is --as EMAIL, else the user in TOCSIN_CLI_USER, else the first admin; the timeline records "cli".
    """
    done = _act(ref, as_user, lambda s, i, actor: incidents.escalate_now(s, i, actor=actor, now=now()))
    console.print(f"#{done['number']} escalated")


@incident_app.command("declare")
@reports_errors
def incident_declare(
    service: Annotated[str, typer.Option("--service", help="Service name or id")],
    title: Annotated[str, typer.Option("--title", help="What is wrong")],
    description: Annotated[str, typer.Option(help="More detail")] = "",
    urgency: Annotated[str | None, typer.Option(help=f"{', '.join(URGENCIES)} (default: the service's)")] = None,
    severity: Annotated[str | None, typer.Option(help="a defined severity (default: the type's, else SEV3)")] = None,
    priority: Annotated[str | None, typer.Option(help=f"{', '.join(PRIORITIES)} (default: from severity)")] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Seen only by its participants, --private-team and admins")
    ] = False,
    private_team: Annotated[str | None, typer.Option(help="Team (name or id) that sees a private incident")] = None,
    incident_type: Annotated[
        str | None, typer.Option("--type", help="incident type (`tocsin incident type list`)")
    ] = None,
    category: Annotated[str | None, typer.Option(help="incident category")] = None,
    bridge: Annotated[str | None, typer.Option("--bridge", help="conference bridge URL")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Open an incident by hand; the service's escalation policy starts paging (unless its type does not page).

    The actor is --as EMAIL, else the user in TOCSIN_CLI_USER, else the first admin; the timeline records "cli".
    """
    with database() as db:
        with db.unit_of_work() as session:
            actor = responder_actor(session, as_user)
            if private_team and not private:
                raise InvalidInput("--private-team is only for a --private incident")
            team_id = visibility.private_team_id(session, private_team) if private else None
            incident = incidents.declare(
                session,
                service_id=services.get_service(session, service).id,
                title=title,
                description=description,
                urgency=urgency,
                severity=severity,
                priority=priority,
                private=private,
                private_team_id=team_id,
                incident_type=incident_type,
                category=category,
                conference_url=bridge,
                actor=actor,
                now=now(),
            )
            rendered = _incident_json(session, [incident])[0]
        wake_workers(db)
    if as_json:
        print_json(rendered)
    else:
        console.print(f"declared #{rendered['number']} (id {rendered['id']}): {text(rendered['title'])}")


# --- events over HTTP --------------------------------------------------------------------------------------------


def _server_message(response: httpx.Response) -> str:
    """The error a Tocsin server gave, whichever of its error shapes it used."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:500]
    message = str(body.get("message") or body.get("detail") or body.get("title") or response.reason_phrase)
    extra = [str(e) for e in body.get("errors") or [] if str(e) != message]
    return message + (f" ({'; '.join(extra)})" if extra else "")


@event_app.command("send")
@reports_errors
def event_send(
    key: Annotated[str, typer.Option("--key", help="Integration key (the PagerDuty routing key)")],
    action: Annotated[str, typer.Option(help="trigger, acknowledge or resolve")] = "trigger",
    summary: Annotated[str | None, typer.Option(help="What is wrong (needed to trigger)")] = None,
    severity: Annotated[str, typer.Option(help=", ".join(ALERT_SEVERITIES))] = "error",
    source: Annotated[str | None, typer.Option(help="Where it happens (default: this host's name)")] = None,
    dedup_key: Annotated[
        str | None, typer.Option("--dedup-key", help="Groups events into one alert (needed to acknowledge/resolve)")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Base URL of Tocsin (default: TOCSIN_PUBLIC_URL, else http://TOCSIN_HOST:TOCSIN_PORT)"
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the server")] = 10.0,
) -> None:
    """Send a PagerDuty Events v2 event to a running Tocsin and print the dedup key it answers with."""
    if action not in ("trigger", "acknowledge", "resolve"):
        raise fail(f"--action must be trigger, acknowledge or resolve, not {action!r}")
    if severity not in ALERT_SEVERITIES:
        raise fail(f"--severity must be one of {', '.join(ALERT_SEVERITIES)}, not {severity!r}")
    if action == "trigger" and not (summary or "").strip():
        raise fail("--summary is needed to trigger an event")
    if action != "trigger" and not dedup_key:
        raise fail(f"--dedup-key is needed to {action} an event")
    event: dict[str, Any] = {"routing_key": key, "event_action": action}
    if dedup_key:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        event["payload"] = {"summary": summary, "source": source or socket.gethostname(), "severity": severity}
    endpoint = (url or settings().base_url).rstrip("/") + "/v2/enqueue"
    try:
        response = httpx.post(endpoint, json=event, timeout=timeout)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach Tocsin at {endpoint}: {exc}") from None
    if not response.is_success:
        raise fail(f"{response.status_code}: {_server_message(response)}")
    try:
        answered = response.json()["dedup_key"]
    except (ValueError, KeyError, TypeError):
        raise fail(f"{endpoint} answered {response.status_code} without a dedup key: is it a Tocsin?") from None
    sys.stdout.write(f"{answered}\n")
