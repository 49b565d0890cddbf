"""/api/v1/incident-roles (the configurable list) and /api/v1/incidents/{ref}/roles (who holds what)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.response import roles
from tocsin.response.models import IncidentRole
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", tags=["roles"], responses=PROBLEM_RESPONSES)


class RoleOut(BaseModel):
    id: int
    name: str
    description: str
    instructions: str
    position: int

    @classmethod
    def of(cls, row: IncidentRole) -> RoleOut:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            instructions=row.instructions,
            position=row.position,
        )


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=2000)
    instructions: str = Field(default="", max_length=20_000)
    position: int = Field(default=0, ge=0, le=1000)


class HoldingOut(BaseModel):
    role: str
    user_id: int
    user: str
    assigned_at: datetime
    ended_at: datetime | None


class IncidentRolesOut(BaseModel):
    current: dict[str, HoldingOut]
    history: list[HoldingOut]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=100, description="role name or id")
    user: str = Field(min_length=1, max_length=320, description="user id or email")


def _roles_of(session: Session, incident_id: int) -> IncidentRolesOut:
    rows = roles.history(session, incident_id)
    names = {r.id: r.name for r in roles.list_roles(session)}
    people = users.names_of(session, [r.user_id for r in rows])
    held = [
        HoldingOut(
            role=names.get(r.role_id, "?"),
            user_id=r.user_id,
            user=people.get(r.user_id, ""),
            assigned_at=r.assigned_at,
            ended_at=r.ended_at,
        )
        for r in rows
    ]
    return IncidentRolesOut(current={h.role: h for h in held if h.ended_at is None}, history=held)


@router.get("/incident-roles", response_model=list[RoleOut], summary="The roles people hold during incidents")
def list_roles(runtime: RuntimeDep, _: PrincipalDep) -> list[RoleOut]:
    with runtime.db.reader() as session:
        return [RoleOut.of(r) for r in roles.list_roles(session)]


@router.put("/incident-roles/{name}", response_model=RoleOut, summary="Create or change an incident role")
def put_role(name: str, body: RoleIn, runtime: RuntimeDep, _: AdminDep) -> RoleOut:
    with runtime.db.unit_of_work() as session:
        saved = roles.save_role(
            session,
            name,
            description=body.description,
            instructions=body.instructions,
            position=body.position,
            now=runtime.clock.now(),
        )
        return RoleOut.of(saved)


@router.delete("/incident-roles/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_role(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        roles.delete_role(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/incidents/{ref}/roles", response_model=IncidentRolesOut, summary="Who holds which role, and who did")
def incident_roles(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> IncidentRolesOut:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return _roles_of(session, incident.id)


@router.post(
    "/incidents/{ref}/roles",
    response_model=IncidentRolesOut,
    summary="Give a role to a person (handing it over from its holder); they get its instructions",
)
def assign_role(ref: str, body: AssignIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentRolesOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        roles.assign(session, incident.id, body.role, body.user, actor=principal.actor(), now=runtime.clock.now())
        rendered = _roles_of(session, incident.id)
    runtime.wakeup.notify()
    return rendered


@router.delete("/incidents/{ref}/roles/{role}", response_model=IncidentRolesOut, summary="Nobody holds the role now")
def release_role(ref: str, role: str, runtime: RuntimeDep, principal: ResponderDep) -> IncidentRolesOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        roles.release(session, incident.id, role, actor=principal.actor(), now=runtime.clock.now())
        return _roles_of(session, incident.id)
