"""Service desk use cases: reports, service requests, their flow, paging by hand and conversion to and from
incidents. Each takes a session, writes the histories it touches, and never commits (ADR 0024)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.alerts import routing_service
from tocsin.alerts.rules.priority_matrix import IMPACTS, PriorityMatrix, compile_matrix
from tocsin.core.errors import BadRequest, Conflict, InvalidInput, NotFound
from tocsin.core.numbers import ascii_int
from tocsin.desk import flow
from tocsin.desk import repository as repo
from tocsin.desk.flow import DeskMode, ReportKind, RequestStatus
from tocsin.desk.models import DeskSettings, Report, RequestTimelineEntry, ServiceRequest
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import ResponseStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.priority import URGENCIES
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import notices
from tocsin.services import service as services
from tocsin.services.models import Service
from tocsin.users import service as users

MAX_SUMMARY = 500
MAX_TEXT = 20_000
MAX_NAME = 200
MAX_EMAIL = 320
# How many entries of one side's history the other side's first entry copies.
HISTORY_LINES: Final = 50
_SEVERITY_OF_IMPACT: Final = {"high": "SEV2", "medium": "SEV3", "low": "SEV4"}
# Incidents in these response states may become service requests (triage turned them down, or is about to).
CONVERTIBLE_INCIDENT: Final = (ResponseStatus.TRIAGE, ResponseStatus.DECLINED)


def request_ref(number: int) -> str:
    return f"REQ-{number}"


# --- settings per service -------------------------------------------------------------------------------------


def settings_of(session: Session, service_id: int) -> DeskSettings:
    """The service's desk settings; a service never set up takes reports by the reporter's choice, no public link."""
    found = repo.settings_of(session, service_id)
    if found is None:
        return DeskSettings(service_id=service_id, desk_mode=DeskMode.CHOICE, public_enabled=False)
    return found


def _settings_for_update(session: Session, service_id: int, now: datetime) -> DeskSettings:
    found = repo.settings_of(session, service_id, for_update=True)
    if found is None:
        found = DeskSettings(service_id=service_id, desk_mode=DeskMode.CHOICE, public_enabled=False, updated_at=now)
        repo.add(session, found)
    return found


def parse_mode(value: str) -> DeskMode:
    try:
        return DeskMode(value)
    except ValueError:
        raise InvalidInput(f"unknown desk mode {value!r} (one of: choice, incident, request)") from None


def set_mode(session: Session, service: Service, mode: DeskMode, *, now: datetime) -> DeskSettings:
    found = _settings_for_update(session, service.id, now)
    if found.desk_mode != mode:
        found.desk_mode = mode
        found.updated_at = now
        session.flush()
    return found


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def rotate_public_link(session: Session, service: Service, *, now: datetime) -> str:
    """Make (or replace) the service's public report link and enable it; the token is returned once, only its hash
    is kept, and the link before it stops working at once."""
    if service.archived_at is not None:
        raise Conflict(f"service {service.name!r} is archived; it takes no reports")
    token = secrets.token_urlsafe(24)
    found = _settings_for_update(session, service.id, now)
    found.public_enabled = True
    found.public_token_hash = _hash(token)
    found.public_token_rotated_at = now
    found.updated_at = now
    session.flush()
    return token


def revoke_public_link(session: Session, service: Service, *, now: datetime) -> None:
    found = _settings_for_update(session, service.id, now)
    if not found.public_enabled and found.public_token_hash is None:
        raise Conflict(f"service {service.name!r} has no public report link")
    found.public_enabled = False
    found.public_token_hash = None
    found.updated_at = now
    session.flush()


def service_of_public_token(session: Session, token: str) -> Service:
    """The service a public link reports on; an unknown, revoked or disabled link, or an archived service, is not
    found (the same answer for each, so that a link tells nothing)."""
    if not token or len(token) > 100:
        raise NotFound("no such report link")
    found = repo.settings_by_token_hash(session, _hash(token))
    if found is None or not found.public_enabled:
        raise NotFound("no such report link")
    service = services.get_service(session, found.service_id)
    if service.archived_at is not None:
        raise NotFound("no such report link")
    return service


def refuse_service_deletion(session: Session, service: Service) -> None:
    """Requests and reports are history: a service that has any is archived, never deleted with them."""
    count = repo.count_of_service(session, service.id)
    if count:
        raise Conflict(
            f"service {service.name!r} has {count} service request(s) or report(s) in its history; archive it instead"
        )


# --- reports --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewReport:
    service_id: int
    summary: str
    symptoms: str = ""
    impact: str = "medium"
    urgency: str = "low"
    choice: ReportKind | None = None
    # For people without an account (the public link); ignored for a signed-in reporter.
    reporter_name: str = ""
    reporter_email: str = ""


@dataclass(frozen=True, slots=True)
class Filed:
    report: Report
    incident: Incident | None
    request: ServiceRequest | None


def _matrix(session: Session) -> PriorityMatrix:
    spec = routing_service.settings(session).get(routing_service.PRIORITY_MATRIX)
    return compile_matrix(spec) if spec else PriorityMatrix()


def priority_of(session: Session, impact: str, urgency: str) -> str:
    """Impact x urgency → priority, by the matrix the event rules use (its default until one is configured)."""
    _check_impact(impact, urgency)
    return _matrix(session).priority(impact, urgency)


def _check_impact(impact: str, urgency: str) -> None:
    if impact not in IMPACTS:
        raise InvalidInput(f"impact must be one of {', '.join(IMPACTS)}")
    if urgency not in URGENCIES:
        raise InvalidInput(f"urgency must be one of {', '.join(URGENCIES)}")


def _text(value: str, name: str, limit: int, *, required: bool = False) -> str:
    clean = value.strip()
    if required and not clean:
        raise InvalidInput(f"{name} is required")
    if len(clean) > limit:
        raise InvalidInput(f"{name} is limited to {limit:,} characters")
    return clean


def _email(value: str) -> str:
    clean = _text(value, "email", MAX_EMAIL, required=True)
    local, at, domain = clean.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in clean):
        raise InvalidInput(f"email {clean!r} is not an email address")
    return clean


def open_service(session: Session, service_id: int) -> Service:
    try:
        service = services.get_service(session, service_id)
    except NotFound:
        raise InvalidInput(f"service {service_id} does not exist") from None
    if service.archived_at is not None:
        raise InvalidInput(f"service {service.name!r} is archived; it takes no reports")
    return service


def file_report(session: Session, spec: NewReport, *, actor: Actor, now: datetime, public: bool = False) -> Filed:
    """Record who reported what, then open what it becomes: an incident in triage (paging as its service says) or
    a service request (which never pages)."""
    service = open_service(session, spec.service_id)
    summary = _text(spec.summary, "summary", MAX_SUMMARY, required=True)
    symptoms = _text(spec.symptoms, "symptoms", MAX_TEXT)
    priority = priority_of(session, spec.impact, spec.urgency)
    if actor.user_id is not None and not public:
        user = users.get_user(session, actor.user_id)
        name, email = user.name, user.email
    else:
        name = _text(spec.reporter_name, "name", MAX_NAME, required=True)
        email = _email(spec.reporter_email)
    became = flow.outcome(settings_of(session, service.id).desk_mode, spec.choice)
    report = Report(
        service_id=service.id,
        reporter_user_id=actor.user_id,
        reporter_name=name,
        reporter_email=email,
        summary=summary,
        symptoms=symptoms,
        impact=spec.impact,
        urgency=spec.urgency,
        priority=priority,
        choice=spec.choice,
        became=became,
        public=public,
        created_at=now,
    )
    who = f"{name} <{email}>"
    description = f"{symptoms}\n\nReported by {who}." if symptoms else f"Reported by {who}."
    incident: Incident | None = None
    request: ServiceRequest | None = None
    if became == ReportKind.BROKEN:
        incident = incidents.declare(
            session,
            service_id=service.id,
            title=summary,
            description=description,
            urgency=spec.urgency,
            severity=_SEVERITY_OF_IMPACT[spec.impact],
            priority=priority,
            actor=actor,
            now=now,
            origin=(f", reported by {who}", {"reporter": {"name": name, "email": email}, "impact": spec.impact}),
        )
        report.incident_id = incident.id
    else:
        request = _new_request(
            session,
            service=service,
            title=summary,
            description=symptoms,
            requester=(actor.user_id if not public else None, name, email),
            impact=spec.impact,
            urgency=spec.urgency,
            priority=priority,
            actor=actor,
            now=now,
            first=(f"Requested by {who}", {"report": True, "public": public}),
        )
        report.request_id = request.id
    repo.add(session, report)
    return Filed(report=report, incident=incident, request=request)


# --- service requests -----------------------------------------------------------------------------------------


def _entry(
    request: ServiceRequest, kind: str, actor: Actor, now: datetime, message: str, **data: Any
) -> RequestTimelineEntry:
    return RequestTimelineEntry(
        request_id=request.id,
        at=now,
        kind=kind,
        source=actor.source,
        actor_user_id=actor.user_id,
        actor=actor.label,
        message=message,
        data=data,
    )


def _record(
    session: Session, request: ServiceRequest, kind: str, actor: Actor, now: datetime, message: str, **data: Any
) -> None:
    request.updated_at = now
    repo.add(session, _entry(request, kind, actor, now, message, **data))


def _new_request(
    session: Session,
    *,
    service: Service,
    title: str,
    description: str,
    requester: tuple[int | None, str, str],
    impact: str,
    urgency: str,
    priority: str,
    actor: Actor,
    now: datetime,
    first: tuple[str, dict[str, Any]],
    from_incident_id: int | None = None,
) -> ServiceRequest:
    user_id, name, email = requester
    request = ServiceRequest(
        number=repo.next_number(session),
        title=title[:MAX_SUMMARY],
        description=description,
        service_id=service.id,
        status=RequestStatus.NEW,
        requester_user_id=user_id,
        requester_name=name,
        requester_email=email,
        impact=impact,
        urgency=urgency,
        priority=priority,
        from_incident_id=from_incident_id,
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    repo.add(session, request)
    message, data = first
    _record(session, request, "opened", actor, now, f"{request_ref(request.number)} opened: {message}", **data)
    return request


def create_request(
    session: Session,
    *,
    service_id: int,
    title: str,
    actor: Actor,
    now: datetime,
    description: str = "",
    requester: int | str | None = None,
    impact: str = "low",
    urgency: str = "low",
) -> ServiceRequest:
    """A request opened by a responder (for themselves or on someone's behalf: ``requester``, a user id or email)."""
    service = open_service(session, service_id)
    clean = _text(title, "title", MAX_SUMMARY, required=True)
    body = _text(description, "description", MAX_TEXT)
    priority = priority_of(session, impact, urgency)
    ref = requester if requester is not None else actor.user_id
    if ref is None:
        raise InvalidInput("a request needs a requester")
    try:
        user = users.get_user(session, ref)
    except NotFound:
        raise InvalidInput(f"no user {ref!r} to request for") from None
    return _new_request(
        session,
        service=service,
        title=clean,
        description=body,
        requester=(user.id, user.name, user.email),
        impact=impact,
        urgency=urgency,
        priority=priority,
        actor=actor,
        now=now,
        first=(f"requested by {user.name}", {}),
    )


def parse_ref(ref: int | str) -> int:
    """A request's number from "REQ-12", "12" or 12."""
    text = str(ref).strip()
    if text.upper().startswith("REQ-"):
        text = text[4:]
    number = ascii_int(text)
    if number is None or number < 1:
        raise BadRequest(f"not a request number: {str(ref)[:40]!r} (REQ-12 or 12)")
    return number


def get_request(session: Session, ref: int | str, *, for_update: bool = False) -> ServiceRequest:
    number = parse_ref(ref)
    found = repo.request_by_number(session, number, for_update=for_update) if number < 2**31 else None
    if found is None:
        raise NotFound(f"request {request_ref(number)} not found")
    return found


def list_requests(
    session: Session,
    *,
    statuses: Sequence[RequestStatus] = (),
    service_ids: set[int] | None = None,
    requester_user_id: int | None = None,
    limit: int = 50,
    before_number: int | None = None,
) -> list[ServiceRequest]:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    before_id = None
    if before_number is not None:
        anchor = repo.request_by_number(session, before_number)
        before_id = anchor.id if anchor is not None else None
    return repo.requests(
        session,
        statuses=statuses,
        service_ids=service_ids,
        requester_user_id=requester_user_id,
        before_id=before_id,
        limit=limit,
    )


def timeline(session: Session, request: ServiceRequest) -> list[RequestTimelineEntry]:
    return repo.timeline(session, request.id)


_UNSET: Any = object()


def update_request(
    session: Session,
    ref: int | str,
    *,
    actor: Actor,
    now: datetime,
    title: str | None = None,
    description: str | None = None,
    assignee: Any = _UNSET,
) -> ServiceRequest:
    """Change the title, description or assignee (None: nobody); each change is kept in the request's timeline."""
    request = get_request(session, ref, for_update=True)
    changes: dict[str, Any] = {}
    if title is not None:
        clean = _text(title, "title", MAX_SUMMARY, required=True)
        if clean != request.title:
            changes["title"] = {"from": request.title, "to": clean}
            request.title = clean
    if description is not None:
        body = _text(description, "description", MAX_TEXT)
        if body != request.description:
            changes["description"] = {"from": request.description[:200], "to": body[:200]}
            request.description = body
    if assignee is not _UNSET:
        user_id = None
        if assignee is not None and str(assignee).strip():
            try:
                user = users.get_user(session, assignee)
            except NotFound:
                raise InvalidInput(f"no user {assignee!r} to assign the request to") from None
            if user.deactivated_at is not None:
                raise InvalidInput(f"{user.name} is deactivated and cannot be assigned")
            user_id = user.id
        if user_id != request.assignee_user_id:
            changes["assignee_user_id"] = {"from": request.assignee_user_id, "to": user_id}
            request.assignee_user_id = user_id
    if changes:
        summary = ", ".join(changes)
        _record(session, request, "updated", actor, now, f"Changed: {summary}", changes=changes)
    return request


def move(
    session: Session, ref: int | str, target: RequestStatus, *, actor: Actor, now: datetime, message: str = ""
) -> ServiceRequest:
    """Move a request through its flow (new → in progress → fulfilled | rejected); a refused move changes nothing."""
    request = get_request(session, ref, for_update=True)
    flow.move(request.status, target)
    previous = request.status
    request.status = target
    if target in flow.ENDED:
        request.closed_at = now
    else:
        request.closed_at = None
        if target == RequestStatus.IN_PROGRESS and request.assignee_user_id is None and actor.user_id is not None:
            request.assignee_user_id = actor.user_id
    note = _text(message, "message", MAX_TEXT)
    text = f"{previous} → {target}" + (f": {note}" if note else "")
    _record(session, request, "status", actor, now, text, changes={"status": {"from": previous, "to": target}})
    return request


def page_on_call(session: Session, ref: int | str, *, actor: Actor, now: datetime, message: str = "") -> list[int]:
    """Ask the service's on-call for help with a request, by the notice path (one message per person): the only
    way a request ever pages. Refused when nobody is on call."""
    request = get_request(session, ref, for_update=True)
    if request.status not in flow.OPEN:
        raise Conflict(f"{request_ref(request.number)} is {request.status}; only an open request pages")
    service = services.get_service(session, request.service_id)
    on_call: tuple[str, ...] = ()
    if service.escalation_policy_id is not None:
        policy = escalation.get_policy(session, service.escalation_policy_id)
        on_call = escalation.first_responders(session, policy, now)
    note = _text(message, "message", 1000)
    entry = _entry(request, "paged", actor, now, "")
    repo.add(session, entry)
    text = (
        f"Service request {request_ref(request.number)} on {service.name} needs you (asked by {actor.label}): "
        f"{request.title}" + (f" — {note}" if note else "")
    )
    reached = [
        int(uid)
        for uid in on_call
        if notices.notify_user(session, user_id=int(uid), key=f"request-page:{entry.id}:{uid}", text=text, now=now)
    ]
    if not reached:
        raise Conflict(f"nobody on call for service {service.name!r} can be reached; the request was not paged")
    names = users.names_of(session, reached)
    entry.message = (
        "Paged on call: " + ", ".join(names.get(u, str(u)) for u in reached) + (f" — {note}" if note else "")
    )
    entry.data = {"paged_user_ids": reached}
    request.updated_at = now
    session.flush()
    return reached


# --- conversion -----------------------------------------------------------------------------------------------


def _history_lines(rows: Sequence[tuple[datetime, str, str, str]]) -> list[str]:
    lines = [f"{at:%Y-%m-%d %H:%M} {actor or '-'}: {message or kind}" for at, kind, actor, message in rows]
    if len(lines) > HISTORY_LINES:
        lines = [*lines[: HISTORY_LINES - 1], f"… and {len(lines) - HISTORY_LINES + 1} more entries"]
    return lines


def convert_to_incident(session: Session, ref: int | str, *, actor: Actor, now: datetime) -> Incident:
    """A request becomes an incident in triage on the same service (paging as the service says); the request ends
    as converted with a link, and the incident's first entry links the request and copies its history."""
    request = get_request(session, ref, for_update=True)
    if not flow.can_convert(request.status):
        raise Conflict(f"{request_ref(request.number)} is {request.status}; only an open request can be converted")
    service = open_service(session, request.service_id)
    del service
    ref_text = request_ref(request.number)
    history = _history_lines([(e.at, e.kind, e.actor, e.message) for e in repo.timeline(session, request.id)])
    who = request.requester_name or "unknown"
    description = request.description
    if request.requester_email:
        who += f" <{request.requester_email}>"
    description = (description + "\n\n" if description else "") + f"Requested by {who} as {ref_text}."
    incident = incidents.declare(
        session,
        service_id=request.service_id,
        title=request.title,
        description=description,
        urgency=request.urgency,
        severity=_SEVERITY_OF_IMPACT.get(request.impact, "SEV3"),
        priority=request.priority,
        actor=actor,
        now=now,
        origin=(f" from service request {ref_text}", {"request": request.number, "history": history}),
    )
    previous = request.status
    request.status = RequestStatus.CONVERTED
    request.incident_id = incident.id
    request.closed_at = now
    _record(
        session,
        request,
        "converted",
        actor,
        now,
        f"Converted into incident #{incident.number}",
        incident=incident.number,
        changes={"status": {"from": previous, "to": RequestStatus.CONVERTED}},
    )
    return incident


def incident_to_request(
    session: Session, incident_ref: int | str, *, actor: Actor, now: datetime, message: str = ""
) -> ServiceRequest:
    """An incident that is a routine request after all, while in triage or once declined: the incident ends
    declined (the response move), and a new request links it and copies its history."""
    incident = incidents.get(session, incident_ref)
    if incident.response_status not in CONVERTIBLE_INCIDENT:
        raise Conflict(
            f"incident #{incident.number} is {incident.response_status}; only an incident in triage or declined "
            "can become a service request"
        )
    if incident.private:
        # A request is read by everyone who reads its service: it would show the private incident's history.
        raise Conflict(f"incident #{incident.number} is private; make it public before it becomes a service request")
    if any(r.from_incident_id == incident.id for r in repo.linked_to_incident(session, incident.id)):
        raise Conflict(f"incident #{incident.number} has already become a service request")
    note = _text(message, "message", MAX_TEXT)
    service = services.get_service(session, incident.service_id)
    history = _history_lines([(e.at, e.kind, e.actor, e.message) for e in incidents.timeline(session, incident.id)])
    report = repo.report_of_incident(session, incident.id)
    if report is not None:
        requester: tuple[int | None, str, str] = (report.reporter_user_id, report.reporter_name, report.reporter_email)
    elif incident.created_by_user_id is not None:
        creator = users.get_user(session, incident.created_by_user_id)
        requester = (creator.id, creator.name, creator.email)
    else:
        requester = (None, "", "")
    impact = report.impact if report is not None else "low"
    request = _new_request(
        session,
        service=service,
        title=incident.title,
        description=incident.description,
        requester=requester,
        impact=impact,
        urgency=incident.urgency,
        priority=incident.priority,
        actor=actor,
        now=now,
        first=(f"from incident #{incident.number}", {"incident": incident.number, "history": history}),
        from_incident_id=incident.id,
    )
    ref_text = request_ref(request.number)
    if incident.response_status == ResponseStatus.TRIAGE:
        why = f"Declined: handled as service request {ref_text}" + (f" ({note})" if note else "")
        incidents.change_response(session, incident.id, ResponseStatus.DECLINED, actor=actor, now=now, message=why)
    incidents.record(
        session,
        incident.id,
        TimelineKind.TO_REQUEST,
        f"Converted into service request {ref_text}",
        actor=actor,
        now=now,
        request=request.number,
    )
    return request


@dataclass(frozen=True, slots=True)
class IncidentLinks:
    """The requests an incident came from or became, for its page."""

    came_from: ServiceRequest | None
    became: ServiceRequest | None
    report: Report | None


def links_of_incident(session: Session, incident_id: int) -> IncidentLinks:
    rows = repo.linked_to_incident(session, incident_id)
    return IncidentLinks(
        came_from=next((r for r in rows if r.incident_id == incident_id), None),
        became=next((r for r in rows if r.from_incident_id == incident_id), None),
        report=repo.report_of_incident(session, incident_id),
    )


def incident_numbers(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """incident id → number, for links on a request's page."""
    return {i: incidents.get(session, i).number for i in dict.fromkeys(ids)}


# --- access -----------------------------------------------------------------------------------------------------


def can_see(session: Session, viewer: Viewer, request: ServiceRequest, *, see_all: bool) -> bool:
    """Those who read the service's incidents read its requests; the requester reads their own."""
    if request.requester_user_id is not None and request.requester_user_id == viewer.user_id:
        return True
    service = services.get_service(session, request.service_id)
    return access_policy.can_see(viewer, [service.team_id], see_all=see_all)


def require_sees(session: Session, viewer: Viewer, request: ServiceRequest, *, see_all: bool) -> None:
    if not can_see(session, viewer, request, see_all=see_all):
        raise NotFound(f"request {request_ref(request.number)} not found")


def require_acts(session: Session, viewer: Viewer, request: ServiceRequest, *, see_all: bool) -> None:
    """Acting on a request takes what acting on its service's incidents takes (team membership, not observers)."""
    require_sees(session, viewer, request, see_all=see_all)
    service = services.get_service(session, request.service_id)
    access.require_act(session, viewer, [service.team_id], f"requests of service {service.name!r}")


def visible_service_ids(session: Session, viewer: Viewer, *, see_all: bool) -> set[int] | None:
    teams = access.visible_team_ids(viewer, see_all=see_all)
    if teams is None:
        return None
    return {
        s.id for s in services.list_services(session, include_archived=True) if s.team_id is None or s.team_id in teams
    }


def require_sees_service(session: Session, viewer: Viewer, service_id: int, *, see_all: bool) -> None:
    """Reporting on a service takes reading it: another team's service is not found (422, as an unknown one)."""
    try:
        service = services.get_service(session, service_id)
    except NotFound:
        return
    if not access_policy.can_see(viewer, [service.team_id], see_all=see_all):
        raise InvalidInput(f"service {service_id} does not exist")
