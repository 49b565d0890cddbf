"""The service desk over the API: /api/v1/reports, /api/v1/service-requests, an incident converted into a request,
and each service's desk settings and public report link (ADR 0024)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tocsin.access import service as access
from tocsin.api.deps import AdminDep, Principal, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, require_act_on_service, visible_incident
from tocsin.desk import service as desk
from tocsin.desk.flow import DeskMode, ReportKind, RequestStatus
from tocsin.desk.models import RequestTimelineEntry, ServiceRequest
from tocsin.runtime import Runtime
from tocsin.services import service as services
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", tags=["service desk"], responses=PROBLEM_RESPONSES)

Impact = Literal["high", "medium", "low"]
Urgency = Literal["high", "low"]
ServiceId = Annotated[int, Field(ge=1, le=2**53)]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: ServiceId
    summary: str = Field(min_length=1, max_length=500)
    symptoms: str = Field(default="", max_length=20_000)
    impact: Impact = "medium"
    urgency: Urgency = "low"
    kind: ReportKind | None = Field(
        default=None, description="broken: something is broken (an incident); need: I need something (a request)"
    )


class IncidentLink(BaseModel):
    id: int
    number: int


class RequestOut(BaseModel):
    number: int
    ref: str
    title: str
    description: str
    service_id: int
    status: RequestStatus
    requester_user_id: int | None
    requester_name: str
    requester_email: str
    assignee_user_id: int | None
    assignee: str | None
    impact: str
    urgency: str
    priority: str
    incident: IncidentLink | None = Field(description="the incident it was converted into")
    from_incident: IncidentLink | None = Field(description="the incident it was converted from")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class ReportOut(BaseModel):
    id: int
    became: ReportKind
    priority: str
    incident: IncidentLink | None
    request: RequestOut | None


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: ServiceId
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)
    requester: str | None = Field(default=None, max_length=320, description="user id or email; default: you")
    impact: Impact = "low"
    urgency: Urgency = "low"


class RequestPatch(BaseModel):
    """Only the fields sent change; ``assignee`` is cleared by sending null."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    assignee: str | None = Field(default=None, max_length=320, description="user id or email")


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RequestStatus
    message: str = Field(default="", max_length=20_000)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(default="", max_length=1000)


class PagedOut(BaseModel):
    paged_user_ids: list[int]


class EntryOut(BaseModel):
    id: int
    at: datetime
    kind: str
    source: str
    actor: str
    actor_user_id: int | None
    message: str
    data: dict[str, Any]


class DeskOut(BaseModel):
    service_id: int
    desk_mode: DeskMode
    public_enabled: bool
    public_link_rotated_at: datetime | None


class DeskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    desk_mode: DeskMode


class PublicLinkOut(BaseModel):
    url: str = Field(description="shown once: only the token's hash is kept")
    token: str


def _link(session: Session, incident_id: int | None) -> IncidentLink | None:
    if incident_id is None:
        return None
    number = desk.incident_numbers(session, [incident_id])[incident_id]
    return IncidentLink(id=incident_id, number=number)


def request_out(session: Session, row: ServiceRequest) -> RequestOut:
    names = users.names_of(session, [row.assignee_user_id] if row.assignee_user_id else [])
    return RequestOut(
        number=row.number,
        ref=desk.request_ref(row.number),
        title=row.title,
        description=row.description,
        service_id=row.service_id,
        status=row.status,
        requester_user_id=row.requester_user_id,
        requester_name=row.requester_name,
        requester_email=row.requester_email,
        assignee_user_id=row.assignee_user_id,
        assignee=names.get(row.assignee_user_id) if row.assignee_user_id else None,
        impact=row.impact,
        urgency=row.urgency,
        priority=row.priority,
        incident=_link(session, row.incident_id),
        from_incident=_link(session, row.from_incident_id),
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
    )


def _entry_out(e: RequestTimelineEntry) -> EntryOut:
    return EntryOut(
        id=e.id,
        at=e.at,
        kind=e.kind,
        source=e.source,
        actor=e.actor,
        actor_user_id=e.actor_user_id,
        message=e.message,
        data=e.data,
    )


def _seen(session: Session, principal: Principal, runtime: Runtime, ref: str, *, act: bool = False) -> ServiceRequest:
    found = desk.get_request(session, ref, for_update=act)
    see_all = runtime.settings.teams_see_all
    if act:
        desk.require_acts(session, principal.viewer(session), found, see_all=see_all)
    else:
        desk.require_sees(session, principal.viewer(session), found, see_all=see_all)
    return found


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Report a problem or ask for something: it becomes an incident in triage or a service request",
)
def report(body: ReportIn, runtime: RuntimeDep, principal: PrincipalDep) -> ReportOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        desk.require_sees_service(
            session, principal.viewer(session), body.service_id, see_all=runtime.settings.teams_see_all
        )
        spec = desk.NewReport(
            service_id=body.service_id,
            summary=body.summary,
            symptoms=body.symptoms,
            impact=body.impact,
            urgency=body.urgency,
            choice=body.kind,
        )
        filed = desk.file_report(session, spec, actor=principal.actor(), now=now)
        out = ReportOut(
            id=filed.report.id,
            became=filed.report.became,
            priority=filed.report.priority,
            incident=IncidentLink(id=filed.incident.id, number=filed.incident.number) if filed.incident else None,
            request=request_out(session, filed.request) if filed.request else None,
        )
    runtime.wakeup.notify()
    return out


@router.get("/service-requests", response_model=list[RequestOut], summary="Service requests, newest first")
def list_requests(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status_: Annotated[list[RequestStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**53, description="request number to list before")] = None,
) -> list[RequestOut]:
    with runtime.db.reader() as session:
        viewer = principal.viewer(session)
        rows = desk.list_requests(
            session,
            statuses=status_ or (),
            service_ids=desk.visible_service_ids(session, viewer, see_all=runtime.settings.teams_see_all),
            requester_user_id=principal.user.id,
            limit=limit,
            before_number=before,
        )
        return [request_out(session, r) for r in rows]


@router.post("/service-requests", response_model=RequestOut, status_code=status.HTTP_201_CREATED)
def create_request(body: RequestIn, runtime: RuntimeDep, principal: ResponderDep) -> RequestOut:
    with runtime.db.unit_of_work() as session:
        require_act_on_service(session, principal, body.service_id)
        row = desk.create_request(
            session,
            service_id=body.service_id,
            title=body.title,
            description=body.description,
            requester=body.requester,
            impact=body.impact,
            urgency=body.urgency,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return request_out(session, row)


@router.get("/service-requests/{ref}", response_model=RequestOut)
def get_request(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> RequestOut:
    with runtime.db.reader() as session:
        return request_out(session, _seen(session, principal, runtime, ref))


@router.get("/service-requests/{ref}/timeline", response_model=list[EntryOut])
def request_timeline(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[EntryOut]:
    with runtime.db.reader() as session:
        row = _seen(session, principal, runtime, ref)
        return [_entry_out(e) for e in desk.timeline(session, row)]


@router.patch(
    "/service-requests/{ref}", response_model=RequestOut, summary="Change a request's title, text or assignee"
)
def patch_request(ref: str, body: RequestPatch, runtime: RuntimeDep, principal: ResponderDep) -> RequestOut:
    changes: dict[str, Any] = {}
    if "assignee" in body.model_fields_set:
        changes["assignee"] = body.assignee
    with runtime.db.unit_of_work() as session:
        _seen(session, principal, runtime, ref, act=True)
        row = desk.update_request(
            session,
            ref,
            title=body.title,
            description=body.description,
            actor=principal.actor(),
            now=runtime.clock.now(),
            **changes,
        )
        return request_out(session, row)


@router.post(
    "/service-requests/{ref}/transition",
    response_model=RequestOut,
    summary="Move a request: new → in_progress → fulfilled | rejected (409 for a move the flow has not)",
)
def transition(ref: str, body: TransitionIn, runtime: RuntimeDep, principal: ResponderDep) -> RequestOut:
    with runtime.db.unit_of_work() as session:
        _seen(session, principal, runtime, ref, act=True)
        row = desk.move(
            session, ref, body.status, actor=principal.actor(), now=runtime.clock.now(), message=body.message
        )
        return request_out(session, row)


@router.post(
    "/service-requests/{ref}/page",
    response_model=PagedOut,
    summary="Page the service's on-call about a request (requests never page otherwise)",
)
def page(ref: str, body: MessageIn, runtime: RuntimeDep, principal: ResponderDep) -> PagedOut:
    with runtime.db.unit_of_work() as session:
        _seen(session, principal, runtime, ref, act=True)
        paged = desk.page_on_call(session, ref, actor=principal.actor(), now=runtime.clock.now(), message=body.message)
    runtime.wakeup.notify()
    return PagedOut(paged_user_ids=paged)


@router.post(
    "/service-requests/{ref}/convert",
    response_model=IncidentLink,
    status_code=status.HTTP_201_CREATED,
    summary="Convert a request into an incident in triage; the request ends converted, linking it",
)
def convert(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> IncidentLink:
    with runtime.db.unit_of_work() as session:
        _seen(session, principal, runtime, ref, act=True)
        incident = desk.convert_to_incident(session, ref, actor=principal.actor(), now=runtime.clock.now())
        out = IncidentLink(id=incident.id, number=incident.number)
    runtime.wakeup.notify()
    return out


@router.post(
    "/incidents/{ref}/convert-to-request",
    response_model=RequestOut,
    status_code=status.HTTP_201_CREATED,
    summary="Turn an incident in triage (or declined) into a service request; the incident ends declined",
)
def incident_to_request(ref: str, body: MessageIn, runtime: RuntimeDep, principal: ResponderDep) -> RequestOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = desk.incident_to_request(
            session, incident.id, actor=principal.actor(), now=runtime.clock.now(), message=body.message
        )
        return request_out(session, row)


def _desk_out(session: Session, service_id: int) -> DeskOut:
    found = desk.settings_of(session, service_id)
    return DeskOut(
        service_id=service_id,
        desk_mode=found.desk_mode,
        public_enabled=bool(found.public_enabled),
        public_link_rotated_at=found.public_token_rotated_at if found.public_enabled else None,
    )


@router.get("/services/{ref}/desk", response_model=DeskOut, tags=["services"])
def get_desk(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> DeskOut:
    with runtime.db.reader() as session:
        service = services.get_service(session, ref)
        desk.require_sees_service(
            session, principal.viewer(session), service.id, see_all=runtime.settings.teams_see_all
        )
        return _desk_out(session, service.id)


@router.put(
    "/services/{ref}/desk",
    response_model=DeskOut,
    tags=["services"],
    summary="What reports on the service become: the reporter's choice, always an incident, or always a request",
)
def put_desk(ref: str, body: DeskIn, runtime: RuntimeDep, principal: ResponderDep) -> DeskOut:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        access.require_manage(session, principal.viewer(session), [service.team_id], "the services of a team")
        desk.set_mode(session, service, body.desk_mode, now=runtime.clock.now())
        return _desk_out(session, service.id)


def public_url(runtime: Runtime, token: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/report/s/{token}"


@router.post(
    "/services/{ref}/desk/public-link",
    response_model=PublicLinkOut,
    status_code=status.HTTP_201_CREATED,
    tags=["services"],
    summary="Make or rotate the service's public report link (the old one stops working); shown once",
)
def rotate_public_link(ref: str, runtime: RuntimeDep, _: AdminDep) -> PublicLinkOut:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        token = desk.rotate_public_link(session, service, now=runtime.clock.now())
    return PublicLinkOut(url=public_url(runtime, token), token=token)


@router.delete(
    "/services/{ref}/desk/public-link",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    tags=["services"],
    summary="Revoke the service's public report link: it answers 404 from now on",
)
def revoke_public_link(ref: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        desk.revoke_public_link(session, service, now=runtime.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
