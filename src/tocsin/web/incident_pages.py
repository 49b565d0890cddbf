"""The responder's incident pages: the list (live, filters, bulk actions) and one incident (live timeline, actions).

Every action is a plain form POST that redirects back (Post/Redirect/Get), so the pages work without JavaScript;
``static/app.js`` only adds live refresh, keyboard shortcuts and a copy button on top.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.escalation import service as escalation
from tocsin.incidents import lifecycle, milestones, phases
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import ResponseStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.priority import PRIORITIES, SEVERITIES, URGENCIES
from tocsin.incidents.schemas import IncidentFilter
from tocsin.response import service as response
from tocsin.response.models import TaskStatus
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web import (
    chat_pages,
    clock_pages,
    desk_pages,
    drill_pages,
    knowledge_pages,
    learning_pages,
    private_pages,
    responder_pages,
    stakeholder_pages,
    statuspage_card,
    type_pages,
    workflow_pages,
)
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

STATUS_VIEWS = {
    "open": (lifecycle.TRIGGERED, lifecycle.ACKNOWLEDGED),
    "triggered": (lifecycle.TRIGGERED,),
    "acknowledged": (lifecycle.ACKNOWLEDGED,),
    "resolved": (lifecycle.RESOLVED,),
    "all": (),
}
PAGE_SIZE = 50


def _int(value: str | None) -> int | None:
    return int(value) if value and is_ascii_digits(value) else None


def _filters(request: Request, who: WebUser) -> tuple[dict[str, str], IncidentFilter]:
    q = request.query_params
    chosen = {
        "status": q.get("status", "open") if q.get("status", "open") in STATUS_VIEWS else "open",
        "service": q.get("service", ""),
        "team": q.get("team", ""),
        "urgency": q.get("urgency", "") if q.get("urgency", "") in URGENCIES else "",
        "priority": q.get("priority", "") if q.get("priority", "") in PRIORITIES else "",
        "mine": "1" if q.get("mine") else "",
        "q": q.get("q", "")[:200],
    }
    service_id, team_id = _int(chosen["service"]), _int(chosen["team"])
    flt = IncidentFilter(
        statuses=STATUS_VIEWS[chosen["status"]],
        # A service's incidents: those on it and those that affect it too (ADR 0021).
        affecting=(service_id,) if service_id else (),
        team_ids=(team_id,) if team_id else (),
        urgencies=(chosen["urgency"],) if chosen["urgency"] else (),
        priorities=(chosen["priority"],) if chosen["priority"] else (),
        assigned_user_id=who.user.id if chosen["mine"] else None,
        text=chosen["q"] or None,
    )
    return chosen, flt


def _names(session: Session, rows: list[Incident]) -> tuple[dict[int, str], dict[int, str]]:
    return (
        services.names_of(session, [r.service_id for r in rows]),
        users.names_of(session, [r.assigned_user_id for r in rows if r.assigned_user_id]),
    )


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return RedirectResponse("/incidents", status_code=303)


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    chosen, flt = _filters(request, who)
    cursor = request.query_params.get("cursor") or None
    with runtime.db.reader() as session:
        # Team scope and private incidents, in the query itself (ADR 0022).
        flt = dataclasses.replace(flt, viewer=who.viewer(session), see_all=runtime.settings.teams_see_all)
        try:
            rows, next_cursor = incidents.list_incidents(session, flt, limit=PAGE_SIZE, cursor=cursor)
        except TocsinError:
            rows, next_cursor = incidents.list_incidents(session, flt, limit=PAGE_SIZE)
        service_names, people = _names(session, rows)
        context: dict[str, Any] = {
            "who": who,
            "rows": rows,
            "service_names": service_names,
            "people": people,
            "now": runtime.clock.now(),
            "chosen": chosen,
            "next_url": "/incidents?" + urlencode({**chosen, "cursor": next_cursor}) if next_cursor else None,
            "first_page": cursor is None,
        }
        if request.query_params.get("partial") == "rows":
            return render("web/_incident_rows.html", **context)
        context.update(
            services=services.list_services(session),
            teams=teams.list_teams(session),
            statuses=list(STATUS_VIEWS),
            urgencies=URGENCIES,
            priorities=PRIORITIES,
            has_services=bool(service_names) or bool(services.list_services(session)),
            notice=request.query_params.get("notice", "")[:200],
        )
    return render("web/incidents.html", **context)


@router.post("/incidents/bulk")
def bulk_action(request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    action = form.get("action")
    ids = [int(v) for v in form.getlist("incident") if isinstance(v, str) and is_ascii_digits(v)]
    if action not in ("acknowledge", "resolve") or not ids:
        return RedirectResponse("/incidents?notice=" + "Select incidents and an action first", status_code=303)
    done, skipped = 0, 0
    now = runtime.clock.now()
    for incident_id in ids:
        # One transaction each: an incident someone else resolved meanwhile must not undo the others.
        try:
            with runtime.db.unit_of_work() as session:
                found = visible_incident(session, who, incident_id, see_all=runtime.settings.teams_see_all)
                require_act_on_incident(session, who, found)
                if action == "acknowledge":
                    incidents.acknowledge(session, incident_id, actor=who.actor(), now=now)
                else:
                    incidents.resolve(session, incident_id, actor=who.actor(), now=now)
            done += 1
        except TocsinError:
            skipped += 1
    runtime.wakeup.notify()
    verb = "acknowledged" if action == "acknowledge" else "resolved"
    notice = f"{done} {verb}" + (f", {skipped} skipped (already {verb} or closed)" if skipped else "")
    return RedirectResponse("/incidents?" + urlencode({"notice": notice}), status_code=303)


def _incident_basics(session: Session, incident: Incident, who: WebUser, now: Any) -> dict[str, Any]:
    """What the header and the timeline need: all the live refreshes of the page ask for."""
    service_names, people = _names(session, [incident])
    return {
        "who": who,
        "incident": incident,
        "service_name": service_names.get(incident.service_id, "?"),
        "assignee": people.get(incident.assigned_user_id) if incident.assigned_user_id else None,
        "now": now,
        "is_open": lifecycle.is_open(incident.status),
        "phase": phases.phase_of(incident.phase_model, incident.response_status),
    }


def _incident_context(session: Session, incident: Incident, who: WebUser, now: Any) -> dict[str, Any]:
    """The whole page: the basics and every card (similar incidents, clocks, chat … are read only here)."""
    return {
        **_incident_basics(session, incident, who, now),
        **desk_pages.incident_card(session, incident),
        "private_card": private_pages.card_context(session, incident, who),
        **responder_pages.incident_context(session, incident, who),
        **workflow_pages.incident_context(session, incident, who),
        **type_pages.incident_types_context(session, incident),
        **drill_pages.incident_card(session, incident, who, now),
        **statuspage_card.incident_context(session, incident, who, now),
        **stakeholder_pages.incident_context(session, incident, who, now),
        **learning_pages.incident_context(session, incident, who, now),
        **clock_pages.incident_context(session, incident, who, now),
        **chat_pages.incident_context(session, incident, who, now),
        **knowledge_pages.incident_context(session, incident, who, now),
    }


def _find(session: Session, number: int) -> Incident:
    return incidents.get(session, f"#{number}")


@router.get("/incidents/{number}", response_class=HTMLResponse)
def incident_page(number: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    partial = request.query_params.get("partial")
    with runtime.db.reader() as session:
        try:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
        build = _incident_basics if partial in ("timeline", "header") else _incident_context
        context = build(session, incident, who, runtime.clock.now())
        after = _int(request.query_params.get("after")) or 0
        context["entries"] = incidents.timeline(session, incident.id, after_id=after)
        if partial == "timeline":
            return render("web/_timeline.html", **context)
        if partial == "header":
            return render("web/_incident_header.html", **context)
        context.update(
            alerts=alerts.alerts_of_incident(session, incident.id),
            users=[u for u in users.list_users(session) if u.deactivated_at is None],
            policies=escalation.list_policies(session),
            severities=SEVERITIES,
            priorities=PRIORITIES,
            urgencies=URGENCIES,
            notice=request.query_params.get("notice", "")[:200],
            error=request.query_params.get("error", "")[:300],
            link=f"{runtime.settings.base_url}/incidents/{incident.number}",
            response_targets=[t for (c, t) in lifecycle.RESPONSE_ALLOWED if c == incident.response_status],
            milestones=[(name, getattr(incident, column)) for name, column in milestones.COLUMNS.items()],
            phase_times=incidents.phase_times(session, incident, now=runtime.clock.now()),
            tasks=(task_rows := response.tasks(session, incident.id)),
            task_progress=response.progress(task_rows),
            task_people=users.names_of(session, [t.assignee_user_id for t in task_rows if t.assignee_user_id]),
            checklists=[t.name for t in response.templates(session)],
        )
    return render("web/incident.html", **context)


def _act(session: Session, incident_id: int, action: str, form: Any, who: WebUser, now: Any) -> str:
    """Apply one action from the incident page; returns the notice to show."""
    actor = who.actor()
    if action == "acknowledge":
        incidents.acknowledge(session, incident_id, actor=actor, now=now)
        return "Acknowledged"
    if action == "resolve":
        incidents.resolve(session, incident_id, actor=actor, now=now, message=str(form.get("message") or ""))
        return "Resolved"
    if action == "escalate":
        incidents.escalate_now(session, incident_id, actor=actor, now=now)
        return "Escalated to the next step"
    if action == "note":
        incidents.add_note(session, incident_id, str(form.get("text") or ""), actor=actor, now=now)
        return "Note added"
    if action == "fields":
        incidents.update_fields(
            session,
            incident_id,
            actor=actor,
            now=now,
            severity=str(form.get("severity") or "") or None,
            priority=str(form.get("priority") or "") or None,
            urgency=str(form.get("urgency") or "") or None,
        )
        return "Updated"
    if action == "reassign":
        target = str(form.get("target") or "")
        kind, _, ref = target.partition(":")
        if kind == "user" and is_ascii_digits(ref):
            incidents.reassign(session, incident_id, user_id=int(ref), actor=actor, now=now)
        elif kind == "policy" and is_ascii_digits(ref):
            incidents.reassign(session, incident_id, policy_id=int(ref), actor=actor, now=now)
        else:
            raise InvalidInput("choose a person or an escalation policy to reassign to")
        return "Reassigned"
    if action == "response":
        target = str(form.get("status") or "")
        if target not in lifecycle.RESPONSE_STATUSES:
            raise InvalidInput("choose the status the response moves to")
        message = str(form.get("message") or "")
        incidents.change_response(session, incident_id, ResponseStatus(target), actor=actor, now=now, message=message)
        return f"Response {target}"
    if action == "task_add":
        due = _form_time(str(form.get("due_at") or ""))
        assignee = str(form.get("assignee") or "") or None
        response.add_task(
            session, incident_id, str(form.get("title") or ""), assignee=assignee, due_at=due, actor=actor, now=now
        )
        return "Task added"
    if action == "task_status":
        task_id, status = str(form.get("task") or ""), str(form.get("status") or "")
        if not is_ascii_digits(task_id) or status not in tuple(TaskStatus):
            raise InvalidInput("choose a task and what to mark it")
        response.close_task(session, incident_id, int(task_id), TaskStatus(status), actor=actor, now=now)
        return f"Task {status}"
    if action == "checklist":
        added = response.add_checklist(session, incident_id, str(form.get("template") or ""), actor=actor, now=now)
        return f"{len(added)} tasks added"
    if action == "reopen":
        incidents.reopen(session, incident_id, actor=actor, now=now, message=str(form.get("message") or ""))
        return "Reopened"
    if action == "milestone":
        name = str(form.get("milestone") or "")
        at = _form_time(str(form.get("at") or ""))
        incidents.edit_milestone(
            session, incident_id, name, at, reason=str(form.get("reason") or ""), actor=actor, now=now
        )
        return f"Milestone {name.replace('_', ' ')} saved"
    raise InvalidInput(f"unknown action {action!r}")


def _form_time(text: str) -> datetime | None:
    """A datetime-local field, read as UTC (the console shows every time in UTC); empty clears the milestone."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"not a date and time: {text!r} (use YYYY-MM-DDTHH:MM)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.post("/incidents/{number}")
def incident_action(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    action = str(form.get("action") or "")
    here = f"/incidents/{number}"
    try:
        with runtime.db.unit_of_work() as session:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            require_act_on_incident(session, who, incident)
            notice = _act(session, incident.id, action, form, who, runtime.clock.now())
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return RedirectResponse(f"{here}?{urlencode({'error': exc.detail})}", status_code=303)
    runtime.wakeup.notify()
    return RedirectResponse(f"{here}?{urlencode({'notice': notice})}", status_code=303)
