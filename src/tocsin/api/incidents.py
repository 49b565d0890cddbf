"""/api/v1/incidents and /api/v1/alerts."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.alerts.schemas import AlertStatus
from tocsin.api.deps import PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.drills import with_cost
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.schemas import (
    AlertOut,
    AlertPage,
    DeclareIn,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    MilestoneIn,
    NoteIn,
    ParticipantOut,
    ParticipantsOut,
    PhaseTimeOut,
    ReassignIn,
    ReopenIn,
    ResolveIn,
    ResponseMoveIn,
    TimelineEntryOut,
    VisibilityIn,
)
from tocsin.api.scope import require_act_on_incident, require_act_on_service, visible_incident, visible_service_ids
from tocsin.core.clock import utc
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.escalation import service as escalation
from tocsin.incidents import milestones, phases, visibility
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import IncidentFilter
from tocsin.response import types
from tocsin.services import service as services
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=PROBLEM_RESPONSES)

# Filter values are checked, so that a misspelt one is a 422 rather than a silently empty list.
UrgencyName = Literal["high", "low"]
PriorityName = Literal["P1", "P2", "P3", "P4", "P5"]


def _render(session: Session, rows: list[Incident]) -> list[IncidentOut]:
    affected = incidents.affected_services_of(session, [r.id for r in rows])
    svc = services.names_of(session, [r.service_id for r in rows] + [s for ids in affected.values() for s in ids])
    people = users.names_of(session, [r.assigned_user_id for r in rows if r.assigned_user_id])
    kinds = types.names_by_id(session) if any(r.type_id is not None for r in rows) else {}
    return [IncidentOut.of(r, svc, people, kinds, affected.get(r.id)) for r in rows]


@router.get("/incidents", response_model=IncidentPage, summary="List incidents, newest first")
def list_incidents(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status_: Annotated[list[IncidentStatus] | None, Query(alias="status")] = None,
    service_id: Annotated[list[int] | None, Query()] = None,
    team_id: Annotated[list[int] | None, Query()] = None,
    urgency: Annotated[list[UrgencyName] | None, Query()] = None,
    priority: Annotated[list[PriorityName] | None, Query()] = None,
    assigned_to_me: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    affects: Annotated[
        list[int] | None, Query(description="services the incident affects (primary or among its affected ones)")
    ] = None,
) -> IncidentPage:
    flt = IncidentFilter(
        statuses=tuple(status_ or ()),
        service_ids=tuple(service_id or ()),
        team_ids=tuple(team_id or ()),
        urgencies=tuple(urgency or ()),
        priorities=tuple(priority or ()),
        assigned_user_id=principal.user.id if assigned_to_me else None,
        created_after=utc(since) if since else None,
        created_before=utc(until) if until else None,
        text=q,
        affecting=tuple(affects or ()),
    )
    with runtime.db.reader() as session:
        # Team scope and private incidents, in the query itself (ADR 0022).
        flt = dataclasses.replace(flt, viewer=principal.viewer(session), see_all=runtime.settings.teams_see_all)
        rows, next_cursor = incidents.list_incidents(session, flt, limit=limit, cursor=cursor)
        return IncidentPage(items=_render(session, rows), next_cursor=next_cursor)


@router.post(
    "/incidents",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Declare an incident by hand",
)
def declare(body: DeclareIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        require_act_on_service(session, principal, body.service_id)
        team_id = visibility.private_team_id(session, body.private_team) if body.private else None
        if body.private_team and not body.private:
            raise InvalidInput("private_team is only for a private incident", errors=["private_team: needs private"])
        incident = incidents.declare(
            session,
            service_id=body.service_id,
            title=body.title,
            description=body.description,
            urgency=body.urgency,
            severity=body.severity,
            priority=body.priority,
            private=body.private,
            private_team_id=team_id,
            incident_type=body.type,
            category=body.category,
            conference_url=body.conference_url,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        if body.phase_model:
            incidents.set_phase_model(
                session, incident.id, body.phase_model, actor=principal.actor(), now=runtime.clock.now()
            )
        return _render(session, [incident])[0]


@router.get("/incidents/{ref}", response_model=IncidentOut, summary="One incident, by id or by #number")
def get_incident(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> IncidentOut:
    with runtime.db.reader() as session:
        found = visible_incident(session, principal, runtime, ref)
        return with_cost(session, runtime, found, _render(session, [found])[0])


@router.patch(
    "/incidents/{ref}",
    response_model=IncidentOut,
    summary="Change title, urgency, severity, priority, type, category, conference bridge",
)
def patch_incident(ref: str, body: IncidentPatch, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        if body.type is not None:
            incidents.find_type(session, body.type)  # checked before anything changes
        incident = incidents.update_fields(
            session,
            found.id,
            actor=principal.actor(),
            now=runtime.clock.now(),
            title=body.title,
            urgency=body.urgency,
            severity=body.severity,
            priority=body.priority,
            category=body.category,
            conference_url=body.conference_url,
        )
        if body.phase_model:
            incident = incidents.set_phase_model(
                session, found.id, body.phase_model, actor=principal.actor(), now=runtime.clock.now()
            )
        if body.type is not None:
            incident = types.change_type(session, found.id, body.type, actor=principal.actor(), now=runtime.clock.now())
        return _render(session, [incident])[0]


@router.post("/incidents/{ref}/acknowledge", response_model=IncidentOut)
def acknowledge(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.acknowledge(session, found.id, actor=principal.actor(), now=runtime.clock.now())
        return _render(session, [incident])[0]


@router.post("/incidents/{ref}/resolve", response_model=IncidentOut)
def resolve(ref: str, runtime: RuntimeDep, principal: ResponderDep, body: ResolveIn | None = None) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.resolve(
            session,
            found.id,
            actor=principal.actor(),
            now=runtime.clock.now(),
            message=body.message if body else "",
        )
        return _render(session, [incident])[0]


@router.post(
    "/incidents/{ref}/response",
    response_model=IncidentOut,
    summary="Move the response (investigating, identified, mitigated, monitoring, resolved, closed …)",
)
def move_response(ref: str, body: ResponseMoveIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.change_response(
            session, found.id, body.status, actor=principal.actor(), now=runtime.clock.now(), message=body.message
        )
        rendered = _render(session, [incident])[0]
    runtime.wakeup.notify()
    return rendered


@router.post(
    "/incidents/{ref}/reopen", response_model=IncidentOut, summary="Reopen a resolved incident; paging starts again"
)
def reopen(ref: str, runtime: RuntimeDep, principal: ResponderDep, body: ReopenIn | None = None) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.reopen(
            session, found.id, actor=principal.actor(), now=runtime.clock.now(), message=body.message if body else ""
        )
        rendered = _render(session, [incident])[0]
    runtime.wakeup.notify()
    return rendered


@router.put(
    "/incidents/{ref}/milestones/{name}",
    response_model=IncidentOut,
    summary="Correct a milestone, with the reason (kept in the timeline)",
    description="Milestones: " + ", ".join(milestones.NAMES) + ". A time that breaks their order is refused (422).",
)
def edit_milestone(ref: str, name: str, body: MilestoneIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.edit_milestone(
            session,
            found.id,
            name,
            utc(body.at) if body.at else None,
            reason=body.reason,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return _render(session, [incident])[0]


@router.get("/incidents/{ref}/phases", response_model=list[PhaseTimeOut], summary="Time spent in each phase")
def phase_times(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[PhaseTimeOut]:
    with runtime.db.reader() as session:
        found = visible_incident(session, principal, runtime, ref)
        current = phases.phase_of(found.phase_model, found.response_status)
        return [
            PhaseTimeOut(phase=name, seconds=spent.total_seconds(), current=name == current)
            for name, spent in incidents.phase_times(session, found, now=runtime.clock.now())
        ]


@router.post("/incidents/{ref}/reassign", response_model=IncidentOut)
def reassign(ref: str, body: ReassignIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        user_id = users.get_user(session, body.user).id if body.user else None
        policy_id = escalation.get_policy(session, body.escalation_policy).id if body.escalation_policy else None
        incident = incidents.reassign(
            session, found.id, user_id=user_id, policy_id=policy_id, actor=principal.actor(), now=runtime.clock.now()
        )
        rendered = _render(session, [incident])[0]
    runtime.wakeup.notify()
    return rendered


@router.post("/incidents/{ref}/notes", response_model=TimelineEntryOut, status_code=status.HTTP_201_CREATED)
def add_note(ref: str, body: NoteIn, runtime: RuntimeDep, principal: ResponderDep) -> TimelineEntryOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        entry = incidents.add_note(session, found.id, body.text, actor=principal.actor(), now=runtime.clock.now())
        return TimelineEntryOut.of(entry)


@router.get("/incidents/{ref}/timeline", response_model=list[TimelineEntryOut])
def timeline(ref: str, runtime: RuntimeDep, principal: PrincipalDep, after: int = 0) -> list[TimelineEntryOut]:
    with runtime.db.reader() as session:
        found = visible_incident(session, principal, runtime, ref)
        return [TimelineEntryOut.of(e) for e in incidents.timeline(session, found.id, after_id=after)]


@router.get("/incidents/{ref}/alerts", response_model=list[AlertOut])
def incident_alerts(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[AlertOut]:
    with runtime.db.reader() as session:
        found = visible_incident(session, principal, runtime, ref)
        return [AlertOut.model_validate(a) for a in alerts.alerts_of_incident(session, found.id)]


@router.get("/alerts", response_model=AlertPage, tags=["alerts"])
def list_alerts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    service_id: int | None = None,
    status_: Annotated[AlertStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> AlertPage:
    with runtime.db.reader() as session:
        visible = visible_service_ids(session, principal, runtime)
        rows, next_cursor = alerts.list_alerts(
            session,
            service_id=service_id,
            status=status_,
            limit=limit,
            cursor=cursor,
            service_ids=visible,
            viewer=principal.viewer(session),
        )
        return AlertPage(items=[AlertOut.model_validate(a) for a in rows], next_cursor=next_cursor)


@router.get("/alerts/{alert_id}", response_model=AlertOut, tags=["alerts"])
def get_alert(alert_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> AlertOut:
    with runtime.db.reader() as session:
        alert = alerts.get_alert(session, alert_id)
        visible = visible_service_ids(session, principal, runtime)
        if visible is not None and alert.service_id not in visible:
            raise NotFound(f"alert {alert_id} not found")
        # An alert of a private incident is as hidden as the incident (ADR 0022).
        if alert.incident_id is not None:
            viewer = principal.viewer(session)
            if not visibility.visible_ids(session, [alert.incident_id], viewer, see_all=True):
                raise NotFound(f"alert {alert_id} not found")
        return AlertOut.model_validate(alert)


@router.post(
    "/incidents/{ref}/visibility",
    response_model=IncidentOut,
    summary="Make an incident private (to its participants, a team and admins) or public again, with a reason",
)
def set_visibility(ref: str, body: VisibilityIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        team_id = visibility.private_team_id(session, body.team) if body.private else None
        if body.team and not body.private:
            raise InvalidInput("a public incident names no private team", errors=["team: only for a private incident"])
        incident = visibility.set_visibility(
            session,
            found.id,
            private=body.private,
            team_id=team_id,
            reason=body.reason,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return _render(session, [incident])[0]


def _participants(session: Session, incident: Incident) -> ParticipantsOut:
    everyone = visibility.participants(session, incident)
    added = visibility.added_participants(session, incident.id)
    names = users.names_of(session, sorted(everyone | {p.user_id for p in added}))
    return ParticipantsOut(
        participants=[ParticipantOut(user_id=u, name=names.get(u, "?")) for u in sorted(everyone)],
        added_by_hand=[
            ParticipantOut(user_id=p.user_id, name=names.get(p.user_id, "?"), added_at=p.added_at) for p in added
        ],
    )


@router.get("/incidents/{ref}/participants", response_model=ParticipantsOut, summary="Who takes part in an incident")
def list_participants(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> ParticipantsOut:
    with runtime.db.reader() as session:
        found = visible_incident(session, principal, runtime, ref)
        return _participants(session, found)


@router.post(
    "/incidents/{ref}/participants/{user}",
    response_model=ParticipantsOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a person to an incident by hand (they see it while it is private)",
)
def add_participant(ref: str, user: str, runtime: RuntimeDep, principal: ResponderDep) -> ParticipantsOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        person = users.get_user(session, user)
        incident = visibility.add_participant(
            session, found.id, person.id, actor=principal.actor(), now=runtime.clock.now()
        )
        return _participants(session, incident)


@router.delete(
    "/incidents/{ref}/participants/{user}",
    response_model=ParticipantsOut,
    summary="Remove a person added by hand",
)
def remove_participant(ref: str, user: str, runtime: RuntimeDep, principal: ResponderDep) -> ParticipantsOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        person = users.get_user(session, user)
        incident = visibility.remove_participant(
            session, found.id, person.id, actor=principal.actor(), now=runtime.clock.now()
        )
        return _participants(session, incident)
