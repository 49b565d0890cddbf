"""Postmortems, action items and problems (ADR 0029): /api/v1/incidents/{ref}/postmortem (and its sections, review
meetings and exports), /api/v1/incidents/{ref}/action-items, /api/v1/action-items, /api/v1/problems, and the
admins' /api/v1/postmortem-templates and /api/v1/postmortem-rules.

Everything about an incident is read by whoever reads the incident (ADR 0022) and written by whoever acts on it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tocsin.api.deps import AdminDep, Principal, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.core.errors import NotFound
from tocsin.incidents.models import Incident
from tocsin.learning import actions, export, meetings, problems, recurrence, templates, tracking
from tocsin.learning import service as postmortems
from tocsin.learning.models import ActionItem, Postmortem, PostmortemSection, Problem, ReviewMeeting
from tocsin.runtime import Runtime
from tocsin.trackers.models import RemoteIssue

router = APIRouter(prefix="/api/v1", tags=["learning"], responses=PROBLEM_RESPONSES)

# The section limit is checked by the service (413); the request itself may be a little larger.
_SECTION = Field(max_length=postmortems.MAX_SECTION + 1000)


# --- shapes -----------------------------------------------------------------------------------------------------


class SectionOut(BaseModel):
    key: str
    title: str
    body: str
    data: list[dict[str, Any]]
    version: int
    updated_by_user_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, row: PostmortemSection) -> SectionOut:
        return cls(
            key=row.key,
            title=row.title,
            body=row.body,
            data=list(row.data),
            version=row.version,
            updated_by_user_id=row.updated_by_user_id,
            updated_at=row.updated_at,
        )


class MeetingOut(BaseModel):
    id: int
    starts_at: datetime
    minutes: int
    location: str
    participant_ids: list[int]
    attended_ids: list[int]
    decisions: str
    invites: dict[str, str]

    @classmethod
    def of(cls, session: Session, row: ReviewMeeting) -> MeetingOut:
        return cls(
            id=row.id,
            starts_at=row.starts_at,
            minutes=row.minutes,
            location=row.location,
            participant_ids=list(row.participant_ids),
            attended_ids=list(row.attended_ids),
            decisions=row.decisions,
            invites={i.address: i.status for i in meetings.invites(session, row)},
        )


class PostmortemOut(BaseModel):
    id: int
    incident_id: int
    template: str
    status: str
    status_reason: str
    owner_user_id: int | None
    reviewer_ids: list[int]
    approved_by: list[int]
    require_approval: bool
    due_at: datetime | None
    automatic: bool
    published_at: datetime | None
    sections: list[SectionOut]
    meetings: list[MeetingOut]

    @classmethod
    def of(cls, session: Session, row: Postmortem) -> PostmortemOut:
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            template=row.template,
            status=row.status,
            status_reason=row.status_reason,
            owner_user_id=row.owner_user_id,
            reviewer_ids=list(row.reviewer_ids),
            approved_by=list(row.approved_by),
            require_approval=row.require_approval,
            due_at=row.due_at,
            automatic=row.automatic,
            published_at=row.published_at,
            sections=[SectionOut.of(s) for s in postmortems.sections(session, row)],
            meetings=[MeetingOut.of(session, m) for m in meetings.of(session, row)],
        )


class PostmortemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(default=None, max_length=320, description="user id or email; default: the assignee")
    reviewers: list[str] = Field(default_factory=list, max_length=50)
    due_at: datetime | None = Field(default=None, description="default: 5 business days after resolution")
    template: str | None = Field(default=None, max_length=100)
    require_approval: bool = True


class PostmortemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(default=None, max_length=320)
    reviewers: list[str] | None = Field(default=None, max_length=50)
    due_at: datetime | None = None
    require_approval: bool | None = None


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(max_length=16)
    reason: str = Field(default="", max_length=2000)


class SectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = _SECTION
    version: int = Field(ge=1, le=2**31, description="the version this edit started from")
    data: list[dict[str, Any]] | None = Field(
        default=None, max_length=postmortems.MAX_DATA_ITEMS + 1, description="five whys or curated timeline"
    )


class RevisionOut(BaseModel):
    version: int
    body: str
    data: list[dict[str, Any]]
    user_id: int | None
    at: datetime


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: datetime
    minutes: int = Field(default=60, ge=5, le=600)
    location: str = Field(default="", max_length=2000)
    participants: list[str] = Field(default_factory=list, max_length=100)


class MeetingRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attended: list[str] = Field(default_factory=list, max_length=100)
    decisions: str = Field(default="", max_length=meetings.MAX_DECISIONS + 1000)


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=actions.MAX_BODY + 1000)
    success_criterion: str = Field(default="", max_length=actions.MAX_BODY + 1000)
    owner: str | None = Field(default=None, max_length=320, description="user id or email")
    team: str | None = Field(default=None, max_length=200, description="team id or name; default: the service's")
    due_at: datetime | None = None
    priority: Literal["low", "medium", "high", "critical"] = "medium"
    kind: Literal["prevent", "mitigate", "detect", "process"] = "prevent"
    problem_id: int | None = Field(default=None, ge=1, le=2**62)

    def spec(self) -> actions.ItemSpec:
        return actions.ItemSpec(**self.model_dump())


class ItemOut(BaseModel):
    id: int
    incident_id: int
    problem_id: int | None
    title: str
    body: str
    success_criterion: str
    owner_user_id: int | None
    team_id: int | None
    due_at: datetime | None
    priority: str
    kind: str
    status: str
    reason: str
    created_at: datetime
    done_at: datetime | None
    warnings: list[str]
    remote: list[RemoteIssueOut] = Field(
        default=[],
        description="the item's issues in the team's trackers (Jira, GitHub Issues), on the item's own routes",
    )

    @classmethod
    def of(
        cls,
        row: ActionItem,
        now: datetime,
        warnings: list[str] | None = None,
        remote: list[RemoteIssue] | None = None,
    ) -> ItemOut:
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            problem_id=row.problem_id,
            title=row.title,
            body=row.body,
            success_criterion=row.success_criterion,
            owner_user_id=row.owner_user_id,
            team_id=row.team_id,
            due_at=row.due_at,
            priority=row.priority,
            kind=row.kind,
            status=row.status,
            reason=row.reason,
            created_at=row.created_at,
            done_at=row.done_at,
            warnings=actions.warnings_of(row, now) if warnings is None else warnings,
            remote=[RemoteIssueOut.of(r) for r in remote or ()],
        )


class RemoteIssueOut(BaseModel):
    connection_id: int
    remote_key: str | None = Field(description="None until the tracker has made the issue")
    url: str | None
    remote_status: str | None
    remote_state: str | None = Field(description="open or closed, as the tracker last said")
    sync: str = Field(description="pending, synced or failed: where sending our side stands")
    last_error: str | None

    @classmethod
    def of(cls, row: RemoteIssue) -> RemoteIssueOut:
        return cls(
            connection_id=row.connection_id,
            remote_key=row.remote_key,
            url=row.remote_url,
            remote_status=row.remote_status,
            remote_state=row.remote_state,
            sync=row.status,
            last_error=row.last_error,
        )


class TrackerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: str = Field(min_length=1, max_length=100, description="a tracker connection's name or id")


class ProblemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=problems.MAX_TEXT + 1000)
    root_cause: str = Field(default="", max_length=problems.MAX_TEXT + 1000)
    workaround: str = Field(default="", max_length=problems.MAX_TEXT + 1000)
    services: list[str] = Field(
        default_factory=list, max_length=100, description="names or ids; default: the services of the incidents linked"
    )
    pattern: str = Field(default="", max_length=200, description="text the title or category contains")
    incidents: list[str] = Field(default_factory=list, max_length=200, description="incident ids or #numbers")

    def spec(self) -> problems.ProblemSpec:
        return problems.ProblemSpec(**self.model_dump(exclude={"incidents"}))


class ProblemOut(BaseModel):
    id: int
    title: str
    description: str
    status: str
    root_cause: str
    workaround: str
    service_ids: list[int]
    pattern: str
    incident_ids: list[int]
    action_item_ids: list[int]
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, row: Problem, incident_ids: list[int], item_ids: list[int]) -> ProblemOut:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            status=row.status,
            root_cause=row.root_cause,
            workaround=row.workaround,
            service_ids=list(row.service_ids),
            pattern=row.pattern,
            incident_ids=incident_ids,
            action_item_ids=item_ids,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
        )


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident: str = Field(min_length=1, max_length=40, description="incident id or #number")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=2000)
    sections: list[dict[str, str]] = Field(min_length=1, max_length=templates.MAX_SECTIONS)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(default=None, max_length=100, description="incident type; null: any")
    min_severity: str | None = Field(default=None, max_length=8, description="at or above; null: any")
    template: str = Field(default=templates.DEFAULT, max_length=100)


class KnownErrorOut(BaseModel):
    id: int
    title: str
    workaround: str


class LearningOut(BaseModel):
    known_errors: list[KnownErrorOut]
    recurrences: list[dict[str, Any]]


# --- helpers ----------------------------------------------------------------------------------------------------


def _problem_out(session: Session, row: Problem) -> ProblemOut:
    return ProblemOut.of(
        row, problems.linked_incident_ids(session, row.id), [i.id for i in problems.action_items(session, row)]
    )


# --- postmortems ------------------------------------------------------------------------------------------------


@router.get("/incidents/{ref}/postmortem", response_model=PostmortemOut, summary="An incident's postmortem")
def get_postmortem(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> PostmortemOut:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return PostmortemOut.of(session, postmortems.get(session, incident.id))


@router.post(
    "/incidents/{ref}/postmortem",
    response_model=PostmortemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start an incident's postmortem (its draft filled from the incident)",
)
def create_postmortem(ref: str, body: PostmortemIn, runtime: RuntimeDep, principal: ResponderDep) -> PostmortemOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = postmortems.create(
            session,
            incident,
            actor=principal.actor(),
            now=runtime.clock.now(),
            owner=body.owner,
            reviewers=body.reviewers,
            due_at=body.due_at,
            template=body.template,
            require_approval=body.require_approval,
        )
        return PostmortemOut.of(session, row)


@router.patch("/incidents/{ref}/postmortem", response_model=PostmortemOut, summary="Owner, reviewers, due date")
def patch_postmortem(ref: str, body: PostmortemPatch, runtime: RuntimeDep, principal: ResponderDep) -> PostmortemOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = postmortems.update(
            session,
            postmortems.get(session, incident.id),
            now=runtime.clock.now(),
            owner=body.owner,
            reviewers=body.reviewers,
            due_at=body.due_at,
            require_approval=body.require_approval,
        )
        return PostmortemOut.of(session, row)


@router.post(
    "/incidents/{ref}/postmortem/status",
    response_model=PostmortemOut,
    summary="Move a postmortem: draft → in_review → published, or back with a reason",
)
def move_postmortem(ref: str, body: MoveIn, runtime: RuntimeDep, principal: ResponderDep) -> PostmortemOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = postmortems.move(
            session,
            postmortems.get(session, incident.id),
            body.status,
            reason=body.reason,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return PostmortemOut.of(session, row)


@router.post("/incidents/{ref}/postmortem/approve", response_model=PostmortemOut, summary="Approve (reviewers)")
def approve_postmortem(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> PostmortemOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = postmortems.approve(
            session, postmortems.get(session, incident.id), actor=principal.actor(), now=runtime.clock.now()
        )
        return PostmortemOut.of(session, row)


@router.put(
    "/incidents/{ref}/postmortem/sections/{key}",
    response_model=SectionOut,
    summary="Save one section over the version it was edited from (409 with the current text when stale)",
)
def save_section(ref: str, key: str, body: SectionIn, runtime: RuntimeDep, principal: ResponderDep) -> SectionOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = postmortems.save_section(
            session,
            postmortems.get(session, incident.id),
            key,
            body=body.body,
            version=body.version,
            data=body.data,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return SectionOut.of(row)


@router.get(
    "/incidents/{ref}/postmortem/sections/{key}/history",
    response_model=list[RevisionOut],
    summary="A section's versions, newest first",
)
def section_history(ref: str, key: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[RevisionOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        rows = postmortems.history(session, postmortems.get(session, incident.id), key)
        return [
            RevisionOut(version=r.version, body=r.body, data=list(r.data), user_id=r.user_id, at=r.at) for r in rows
        ]


@router.post(
    "/incidents/{ref}/postmortem/meetings",
    response_model=MeetingOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule the review meeting (an iCalendar invitation is emailed to each participant)",
)
def schedule_meeting(ref: str, body: MeetingIn, runtime: RuntimeDep, principal: ResponderDep) -> MeetingOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = meetings.schedule(
            session,
            postmortems.get(session, incident.id),
            starts_at=body.starts_at,
            minutes=body.minutes,
            location=body.location,
            participants=body.participants,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        out = MeetingOut.of(session, row)
    runtime.wakeup.notify()
    return out


@router.put(
    "/incidents/{ref}/postmortem/meetings/{meeting_id}",
    response_model=MeetingOut,
    summary="Record a review meeting's attendance and decisions",
)
def record_meeting(
    ref: str, meeting_id: int, body: MeetingRecordIn, runtime: RuntimeDep, principal: ResponderDep
) -> MeetingOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = meetings.get(session, postmortems.get(session, incident.id), meeting_id)
        meetings.record(session, row, attended=body.attended, decisions=body.decisions)
        return MeetingOut.of(session, row)


@router.get(
    "/incidents/{ref}/postmortem/export",
    summary="The postmortem as Markdown, HTML or PDF",
    response_class=Response,
    responses={200: {"content": {v.split(";")[0]: {} for v in export.FORMATS.values()}}},
)
def export_postmortem(
    ref: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    format: Annotated[Literal["md", "html", "pdf"], Query()] = "md",
) -> Response:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        content = export.render(session, postmortems.get(session, incident.id), format)
        name = export.filename(incident, format, now=runtime.clock.now())
    return Response(
        content,
        media_type=export.FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/incidents/{ref}/postmortem/problem",
    response_model=ProblemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open a problem from the postmortem (its root cause, incident and action items)",
)
def problem_from_postmortem(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> ProblemOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = problems.from_postmortem(
            session, postmortems.get(session, incident.id), actor=principal.actor(), now=runtime.clock.now()
        )
        return _problem_out(session, row)


@router.get(
    "/incidents/{ref}/learning",
    response_model=LearningOut,
    summary="The known errors matching an incident (their workarounds) and its recurrences",
)
def incident_learning(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> LearningOut:
    see_all = runtime.settings.teams_see_all
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        viewer = principal.viewer(session)
        found = [
            p
            for p in problems.known_errors_for(session, incident)
            if problems.may_see(session, viewer, p, see_all=see_all, linked=problems.linked_incident_ids(session, p.id))
        ]
        return LearningOut(
            known_errors=[KnownErrorOut(id=p.id, title=p.title, workaround=p.workaround) for p in found],
            recurrences=[{"relation": r, "incident_id": i} for r, i in recurrence.recurrences(session, incident.id)],
        )


# --- action items -----------------------------------------------------------------------------------------------


@router.get("/incidents/{ref}/action-items", response_model=list[ItemOut], summary="An incident's action items")
def list_incident_items(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[ItemOut]:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [ItemOut.of(i, now) for i in actions.of_incident(session, incident.id)]


@router.post(
    "/incidents/{ref}/action-items",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an action item (accepted with warnings when it is not SMART yet)",
)
def create_item(ref: str, body: ItemIn, runtime: RuntimeDep, principal: ResponderDep) -> ItemOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        saved = actions.create(session, incident, body.spec(), actor=principal.actor(), now=now)
        return ItemOut.of(saved.item, now, saved.warnings)


@router.get("/action-items", response_model=list[ItemOut], summary="Open action items, by owner or team")
def list_items(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    owner: Annotated[str | None, Query(max_length=320, description="user id or email")] = None,
    team: Annotated[str | None, Query(max_length=200, description="team id or name")] = None,
) -> list[ItemOut]:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        rows = actions.open_items(
            session, principal.viewer(session), see_all=runtime.settings.teams_see_all, owner=owner, team=team
        )
        return [ItemOut.of(i, now) for i in rows]


def _visible_item(
    session: Session, principal: Principal, runtime: Runtime, item_id: int
) -> tuple[ActionItem, Incident]:
    """The item and its incident, when the principal reads the incident; otherwise not found, as if it did not
    exist."""
    item = actions.get(session, item_id)
    try:
        return item, visible_incident(session, principal, runtime, item.incident_id)
    except NotFound:
        raise NotFound(f"action item {item_id} not found") from None


@router.get("/action-items/{item_id}", response_model=ItemOut, summary="An action item")
def get_item(item_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> ItemOut:
    with runtime.db.reader() as session:
        item = _visible_item(session, principal, runtime, item_id)[0]
        return ItemOut.of(item, runtime.clock.now(), remote=tracking.remote_of(session, [item])[item.id])


@router.post(
    "/action-items/{item_id}/tracker",
    response_model=ItemOut,
    summary="Send an action item to a tracker (Jira, GitHub Issues); asking again changes nothing",
)
def send_item(item_id: int, body: TrackerIn, runtime: RuntimeDep, principal: ResponderDep) -> ItemOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        item, incident = _visible_item(session, principal, runtime, item_id)
        require_act_on_incident(session, principal, incident)
        link = f"{runtime.settings.base_url}/incidents/{incident.number}"
        tracking.send(session, item, connection=body.connection, link=link, actor=principal.actor(), now=now)
        return ItemOut.of(item, now, remote=tracking.remote_of(session, [item])[item.id])


@router.put("/action-items/{item_id}", response_model=ItemOut, summary="Replace an action item's fields")
def put_item(item_id: int, body: ItemIn, runtime: RuntimeDep, principal: ResponderDep) -> ItemOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        item, incident = _visible_item(session, principal, runtime, item_id)
        require_act_on_incident(session, principal, incident)
        saved = actions.edit(session, item, body.spec(), now=now)
        return ItemOut.of(saved.item, now, saved.warnings)


@router.post(
    "/action-items/{item_id}/status",
    response_model=ItemOut,
    summary="Move an action item: open → in_progress → done, or won't do with a reason",
)
def move_item(item_id: int, body: MoveIn, runtime: RuntimeDep, principal: ResponderDep) -> ItemOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        item, incident = _visible_item(session, principal, runtime, item_id)
        require_act_on_incident(session, principal, incident)
        return ItemOut.of(actions.move(session, item, body.status, reason=body.reason, now=now), now)


def _acted_on(session: Session, principal: Principal, runtime: Runtime, ref: str) -> Incident:
    """An incident linked to a problem: linking is acting on it (its team's, ADR 0016)."""
    incident = visible_incident(session, principal, runtime, ref)
    require_act_on_incident(session, principal, incident)
    return incident


# --- problems ---------------------------------------------------------------------------------------------------


@router.get("/problems", response_model=list[ProblemOut], summary="Problems (newest first)")
def list_problems(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
) -> list[ProblemOut]:
    with runtime.db.reader() as session:
        rows = problems.list_visible(
            session, principal.viewer(session), see_all=runtime.settings.teams_see_all, status=status_
        )
        return [_problem_out(session, r) for r in rows]


@router.post(
    "/problems",
    response_model=ProblemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open a problem, linked to one or more incidents",
)
def create_problem(body: ProblemIn, runtime: RuntimeDep, principal: ResponderDep) -> ProblemOut:
    with runtime.db.unit_of_work() as session:
        linked = [_acted_on(session, principal, runtime, ref) for ref in dict.fromkeys(body.incidents)]
        row = problems.create(
            session, body.spec(), incidents_linked=linked, actor=principal.actor(), now=runtime.clock.now()
        )
        return _problem_out(session, row)


@router.get("/problems/{problem_id}", response_model=ProblemOut, summary="A problem")
def get_problem(problem_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> ProblemOut:
    with runtime.db.reader() as session:
        row = problems.get_visible(
            session, problem_id, principal.viewer(session), see_all=runtime.settings.teams_see_all
        )
        return _problem_out(session, row)


@router.put("/problems/{problem_id}", response_model=ProblemOut, summary="Replace a problem's fields")
def put_problem(problem_id: int, body: ProblemIn, runtime: RuntimeDep, principal: ResponderDep) -> ProblemOut:
    with runtime.db.unit_of_work() as session:
        row = problems.get_visible(
            session, problem_id, principal.viewer(session), see_all=runtime.settings.teams_see_all
        )
        problems.edit(session, row, body.spec(), now=runtime.clock.now())
        for ref in dict.fromkeys(body.incidents):
            problems.link(session, row, _acted_on(session, principal, runtime, ref), now=runtime.clock.now())
        return _problem_out(session, row)


@router.post(
    "/problems/{problem_id}/status",
    response_model=ProblemOut,
    summary="Move a problem: open → known_error (needs a workaround) → resolved (noted on its incidents)",
)
def move_problem(problem_id: int, body: MoveIn, runtime: RuntimeDep, principal: ResponderDep) -> ProblemOut:
    with runtime.db.unit_of_work() as session:
        row = problems.get_visible(
            session, problem_id, principal.viewer(session), see_all=runtime.settings.teams_see_all
        )
        problems.move(session, row, body.status, actor=principal.actor(), now=runtime.clock.now())
        return _problem_out(session, row)


@router.post("/problems/{problem_id}/incidents", response_model=ProblemOut, summary="Link an incident to a problem")
def link_problem(problem_id: int, body: LinkIn, runtime: RuntimeDep, principal: ResponderDep) -> ProblemOut:
    with runtime.db.unit_of_work() as session:
        row = problems.get_visible(
            session, problem_id, principal.viewer(session), see_all=runtime.settings.teams_see_all
        )
        problems.link(session, row, _acted_on(session, principal, runtime, body.incident), now=runtime.clock.now())
        return _problem_out(session, row)


# --- templates and rules (admins) -------------------------------------------------------------------------------


@router.get("/postmortem-templates", summary="Postmortem templates (the blameless default and others)")
def list_templates(runtime: RuntimeDep, _: PrincipalDep) -> list[dict[str, Any]]:
    with runtime.db.reader() as session:
        return templates.list_templates(session)


@router.put("/postmortem-templates/{name}", summary="Create or replace a postmortem template")
def put_template(name: str, body: TemplateIn, runtime: RuntimeDep, _: AdminDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        row = templates.save_template(
            session, name, description=body.description, sections=body.sections, now=runtime.clock.now()
        )
        return {"name": row.name, "description": row.description, "sections": list(row.sections), "builtin": False}


@router.delete("/postmortem-templates/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_template(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        in_use = any(r.template == name for r in postmortems.rules(session))
        templates.delete_template(session, name, in_use=in_use)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/postmortem-rules", summary="Which incidents need a postmortem")
def list_rules(runtime: RuntimeDep, _: PrincipalDep) -> list[dict[str, Any]]:
    with runtime.db.reader() as session:
        return [postmortems.rule_as_spec(session, r) for r in postmortems.rules(session)]


@router.put("/postmortem-rules", summary="Replace the rules saying which incidents need a postmortem")
def put_rules(body: list[RuleIn], runtime: RuntimeDep, _: AdminDep) -> list[dict[str, Any]]:
    with runtime.db.unit_of_work() as session:
        specs = [postmortems.RuleSpec(type=r.type, min_severity=r.min_severity, template=r.template) for r in body]
        rows = postmortems.replace_rules(session, specs, now=runtime.clock.now())
        return [postmortems.rule_as_spec(session, r) for r in rows]
