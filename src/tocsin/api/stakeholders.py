"""/api/v1/stakeholder-groups (admins) and /api/v1/incidents/{ref}/stakeholder-updates (ADR 0028)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.stakeholders import service as stakeholders
from tocsin.stakeholders.models import StakeholderUpdate

router = APIRouter(prefix="/api/v1", tags=["stakeholders"], responses=PROBLEM_RESPONSES)

_NAME = Field(min_length=1, max_length=200)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = _NAME
    description: str = Field(default="", max_length=20_000)
    users: list[str] = Field(default_factory=list, max_length=500, description="user ids or emails")
    emails: list[str] = Field(default_factory=list, max_length=500, description="plain email addresses")
    services: list[str] = Field(default_factory=list, max_length=500, description="service names or ids; empty: all")
    min_severity: str | None = Field(default=None, max_length=8, description="at or above this severity; null: all")
    types: list[str] = Field(default_factory=list, max_length=100, description="incident type names; empty: all")
    private_ok: bool = False

    def spec(self) -> stakeholders.GroupSpec:
        return stakeholders.GroupSpec(**self.model_dump())


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    users: list[str]
    emails: list[str]
    services: list[str]
    min_severity: str | None
    types: list[str]
    private_ok: bool


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str | None = Field(default=None, max_length=10_000, description="free text")
    template: str | None = Field(
        default=None, max_length=10_000, description="a template over incident fields: {{incident.title}}"
    )
    groups: list[str] | None = Field(
        default=None, max_length=100, description="group names; null: every group whose subscriptions match"
    )


class UpdateOut(BaseModel):
    id: int
    body: str
    drill: bool
    groups: list[str]
    recipients: dict[str, Any]
    created_by_user_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: StakeholderUpdate) -> UpdateOut:
        return cls(
            id=row.id,
            body=row.body,
            drill=row.drill,
            groups=list(row.groups),
            recipients=dict(row.recipients),
            created_by_user_id=row.created_by_user_id,
            created_at=row.created_at,
        )


class UpdatesOut(BaseModel):
    items: list[UpdateOut]
    next_due_at: datetime | None
    overdue: bool


def _out(session: Any, row: Any) -> GroupOut:
    return GroupOut(id=row.id, **stakeholders.as_spec(session, row))


@router.get("/stakeholder-groups", response_model=list[GroupOut], summary="Stakeholder groups")
def list_groups(runtime: RuntimeDep, _: AdminDep) -> list[GroupOut]:
    with runtime.db.reader() as session:
        return [_out(session, g) for g in stakeholders.list_groups(session)]


@router.post("/stakeholder-groups", response_model=GroupOut, status_code=status.HTTP_201_CREATED)
def create_group(body: GroupIn, runtime: RuntimeDep, _: AdminDep) -> GroupOut:
    with runtime.db.unit_of_work() as session:
        row = stakeholders.create_group(session, body.spec(), now=runtime.clock.now())
        return _out(session, row)


@router.get("/stakeholder-groups/{ref}", response_model=GroupOut, summary="A stakeholder group (id or name)")
def get_group(ref: str, runtime: RuntimeDep, _: AdminDep) -> GroupOut:
    with runtime.db.reader() as session:
        return _out(session, stakeholders.get_group(session, ref))


@router.put("/stakeholder-groups/{ref}", response_model=GroupOut, summary="Replace a stakeholder group")
def put_group(ref: str, body: GroupIn, runtime: RuntimeDep, _: AdminDep) -> GroupOut:
    with runtime.db.unit_of_work() as session:
        row = stakeholders.get_group(session, ref)
        return _out(session, stakeholders.update_group(session, row, body.spec(), now=runtime.clock.now()))


@router.delete("/stakeholder-groups/{ref}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_group(ref: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        stakeholders.delete_group(session, stakeholders.get_group(session, ref))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/incidents/{ref}/stakeholder-updates",
    response_model=UpdatesOut,
    summary="An incident's stakeholder updates, and when the next is due",
)
def list_updates(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> UpdatesOut:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        rows = stakeholders.updates_of(session, incident.id)
        due = stakeholders.next_due(session, incident, runtime.settings.stakeholder_cadence_minutes)
        return UpdatesOut(
            items=[UpdateOut.of(r) for r in rows], next_due_at=due, overdue=due is not None and due <= now
        )


@router.post(
    "/incidents/{ref}/stakeholder-updates",
    response_model=UpdateOut,
    status_code=status.HTTP_201_CREATED,
    summary="Write a stakeholder update (free text or a template) and send it to the matching groups",
)
def post_update(ref: str, body: UpdateIn, runtime: RuntimeDep, principal: ResponderDep) -> UpdateOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = stakeholders.post_update(
            session,
            incident.id,
            body=body.body,
            template=body.template,
            groups=body.groups,
            actor=principal.actor(),
            now=runtime.clock.now(),
            base_url=runtime.settings.base_url,
        )
        return UpdateOut.of(row)
