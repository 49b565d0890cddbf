"""/api/v1/incident-types, /incident-categories, /severities (the response vocabulary, ADR 0021), and on an
incident: its type, the major flag with a reason, and the services it affects."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tocsin.api.deps import AdminDep, Principal, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.incidents import _render
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.schemas import IncidentOut
from tocsin.api.scope import require_act_on_incident, require_sees, visible_incident
from tocsin.incidents import service as incidents
from tocsin.incidents import taxonomy
from tocsin.response import types
from tocsin.response.models import IncidentType
from tocsin.runtime import Runtime
from tocsin.services import service as services
from tocsin.teams import service as teams

router = APIRouter(prefix="/api/v1", tags=["incident types"], responses=PROBLEM_RESPONSES)


class TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=2000)
    severity: str = Field(default="SEV3", min_length=1, max_length=8)
    phase_model: Literal["default", "nist"] = "default"
    major: bool = False
    required_roles: list[str] = Field(default_factory=list, max_length=50)
    private: bool = False
    private_team: str | None = Field(default=None, max_length=200, description="team id or name")
    pages: bool = True
    playbook: str = Field(default="", max_length=200)
    conference_url: str = Field(default="", max_length=2000, description="http(s) URL; {number} is the incident's")
    update_cadence_minutes: int | None = Field(default=None, ge=1, le=10_080)
    checklists: list[str] = Field(default_factory=list, max_length=50)
    position: int = Field(default=0, ge=0, le=1000)

    def spec(self) -> types.TypeSpec:
        return types.TypeSpec(
            description=self.description,
            severity=self.severity,
            phase_model=self.phase_model,
            major=self.major,
            required_roles=tuple(self.required_roles),
            private=self.private,
            private_team=self.private_team,
            pages=self.pages,
            playbook=self.playbook,
            conference_url=self.conference_url,
            update_cadence_minutes=self.update_cadence_minutes,
            checklists=tuple(self.checklists),
            position=self.position,
        )


class TypeOut(BaseModel):
    id: int
    name: str
    description: str
    severity: str
    phase_model: str
    major: bool
    required_roles: list[str]
    private: bool
    private_team: str | None
    pages: bool
    playbook: str
    conference_url: str
    update_cadence_minutes: int | None
    checklists: list[str]
    position: int

    @classmethod
    def of(cls, row: IncidentType, team_names: dict[int, str]) -> TypeOut:
        return cls(id=row.id, name=row.name, **types.as_dict(row, team_names))


class NamedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=2000)


class SeverityIn(NamedIn):
    position: int = Field(default=0, ge=0, le=1000)


class CategoryOut(BaseModel):
    name: str
    description: str


class SeverityOut(CategoryOut):
    position: int


class IncidentTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=100)


class MajorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    major: bool
    reason: str = Field(min_length=1, max_length=2000)


def _team_names(session: Session) -> dict[int, str]:
    return {t.id: t.name for t in teams.list_teams(session)}


@router.get("/incident-types", response_model=list[TypeOut], summary="The incident types")
def list_types(runtime: RuntimeDep, _: PrincipalDep) -> list[TypeOut]:
    with runtime.db.reader() as session:
        names = _team_names(session)
        return [TypeOut.of(t, names) for t in types.list_types(session)]


@router.put("/incident-types/{name}", response_model=TypeOut, summary="Create or change an incident type")
def put_type(name: str, body: TypeIn, runtime: RuntimeDep, _: AdminDep) -> TypeOut:
    with runtime.db.unit_of_work() as session:
        saved = types.save_type(session, name, body.spec(), now=runtime.clock.now())
        return TypeOut.of(saved, _team_names(session))


@router.delete("/incident-types/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_type(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        types.delete_type(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/incident-categories", response_model=list[CategoryOut], summary="The incident categories")
def list_categories(runtime: RuntimeDep, _: PrincipalDep) -> list[CategoryOut]:
    with runtime.db.reader() as session:
        return [CategoryOut(name=c.name, description=c.description) for c in taxonomy.categories(session)]


@router.put("/incident-categories/{name}", response_model=CategoryOut, summary="Create or change a category")
def put_category(name: str, body: NamedIn, runtime: RuntimeDep, _: AdminDep) -> CategoryOut:
    with runtime.db.unit_of_work() as session:
        saved = taxonomy.save_category(session, name, description=body.description)
        return CategoryOut(name=saved.name, description=saved.description)


@router.delete("/incident-categories/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_category(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        taxonomy.delete_category(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/severities", response_model=list[SeverityOut], summary="The severity levels, most severe first")
def list_severities(runtime: RuntimeDep, _: PrincipalDep) -> list[SeverityOut]:
    with runtime.db.reader() as session:
        return [
            SeverityOut(name=s.name, description=s.description, position=s.position)
            for s in taxonomy.severities(session)
        ]


@router.put("/severities/{name}", response_model=SeverityOut, summary="Create or change a severity level")
def put_severity(name: str, body: SeverityIn, runtime: RuntimeDep, _: AdminDep) -> SeverityOut:
    with runtime.db.unit_of_work() as session:
        saved = taxonomy.save_severity(session, name, description=body.description, position=body.position)
        return SeverityOut(name=saved.name, description=saved.description, position=saved.position)


@router.delete("/severities/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_severity(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        taxonomy.delete_severity(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/incidents/{ref}/type", response_model=IncidentOut, summary="Give the incident another type")
def set_type(ref: str, body: IncidentTypeIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = types.change_type(session, found.id, body.type, actor=principal.actor(), now=runtime.clock.now())
        return _render(session, [incident])[0]


@router.post(
    "/incidents/{ref}/major", response_model=IncidentOut, summary="Mark or unmark a major incident, with the reason"
)
def set_major(ref: str, body: MajorIn, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.set_major(
            session, found.id, body.major, reason=body.reason, actor=principal.actor(), now=runtime.clock.now()
        )
        return _render(session, [incident])[0]


@router.put(
    "/incidents/{ref}/services/{service}",
    response_model=IncidentOut,
    summary="The incident affects this service too (id or name)",
)
def add_service(ref: str, service: str, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        target = _visible_service(session, principal, runtime, service)
        incident = incidents.add_affected_service(
            session, found.id, target, actor=principal.actor(), now=runtime.clock.now()
        )
        return _render(session, [incident])[0]


@router.delete(
    "/incidents/{ref}/services/{service}", response_model=IncidentOut, summary="The incident no longer affects it"
)
def remove_service(ref: str, service: str, runtime: RuntimeDep, principal: ResponderDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        target = _visible_service(session, principal, runtime, service)
        incident = incidents.remove_affected_service(
            session, found.id, target, actor=principal.actor(), now=runtime.clock.now()
        )
        return _render(session, [incident])[0]


def _visible_service(session: Session, principal: Principal, runtime: Runtime, ref: str) -> int:
    found = services.get_service(session, ref)
    require_sees(session, principal, runtime, found.team_id, f"service {ref}")
    return found.id
