"""/api/v1/incidents/{ref}/responders (people paged into an incident and their answers), /api/v1/users/{ref}/skills
and /api/v1/experts (who has a skill, on call now, how loaded)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from tocsin.api.deps import PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.core.errors import Forbidden
from tocsin.response import responders, skills
from tocsin.response.models import ResponderRequest, ResponderStatus, ResponderVia
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", tags=["responders"], responses=PROBLEM_RESPONSES)


class ResponderIn(BaseModel):
    """Who to ask to join: exactly one of user, schedule (whoever is on call now), policy (its first step's
    targets) or skill (someone who has it: on call now first, then the least loaded)."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, min_length=1, max_length=320, description="user id or email")
    schedule: str | None = Field(default=None, min_length=1, max_length=200, description="schedule id or name")
    policy: str | None = Field(default=None, min_length=1, max_length=200, description="escalation policy id or name")
    skill: str | None = Field(default=None, min_length=1, max_length=50)
    message: str = Field(default="", max_length=responders.MAX_MESSAGE)
    on_call_first: bool = True

    @model_validator(mode="after")
    def one_target(self) -> ResponderIn:
        if sum(v is not None for v in (self.user, self.schedule, self.policy, self.skill)) != 1:
            raise ValueError("name exactly one of user, schedule, policy or skill")
        return self

    def target(self) -> responders.Target:
        return responders.Target(
            user=self.user,
            schedule=self.schedule,
            policy=self.policy,
            skill=self.skill,
            on_call_first=self.on_call_first,
        )


class ResponderOut(BaseModel):
    id: int
    incident_id: int
    user_id: int
    user: str
    requested_by_user_id: int | None
    via: ResponderVia
    via_ref: str
    message: str
    status: ResponderStatus
    requested_at: datetime
    answered_at: datetime | None
    answered_via: str | None


def _out(session: Session, rows: list[ResponderRequest]) -> list[ResponderOut]:
    names = users.names_of(session, [r.user_id for r in rows])
    return [
        ResponderOut(
            id=r.id,
            incident_id=r.incident_id,
            user_id=r.user_id,
            user=names.get(r.user_id, ""),
            requested_by_user_id=r.requested_by_user_id,
            via=r.via,
            via_ref=r.via_ref,
            message=r.message,
            status=r.status,
            requested_at=r.requested_at,
            answered_at=r.answered_at,
            answered_via=r.answered_via,
        )
        for r in rows
    ]


@router.get("/incidents/{ref}/responders", response_model=list[ResponderOut], summary="Who was asked to join")
def list_responders(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[ResponderOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return _out(session, responders.requests_on(session, incident.id))


@router.post(
    "/incidents/{ref}/responders",
    response_model=list[ResponderOut],
    status_code=status.HTTP_201_CREATED,
    summary="Page a user, a schedule's on-call, a policy's first step or someone with a skill into the incident",
)
def add_responders(ref: str, body: ResponderIn, runtime: RuntimeDep, principal: ResponderDep) -> list[ResponderOut]:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        made = responders.request(
            session,
            incident.id,
            body.target(),
            message=body.message,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        rendered = _out(session, made)
    runtime.wakeup.notify()
    return rendered


def _answer(ref: str, request_id: int, accept: bool, runtime: RuntimeDep, principal: ResponderDep) -> ResponderOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        row = responders.get_request(session, incident.id, request_id, for_update=True)
        if row.user_id != principal.user.id and not principal.is_admin:
            raise Forbidden("only the person asked (or an admin) answers a responder request")
        responders.answer_request(session, row, accept, actor=principal.actor(), via="api", now=runtime.clock.now())
        return _out(session, [row])[0]


@router.post("/incidents/{ref}/responders/{request_id}/accept", response_model=ResponderOut, summary="Accept to join")
def accept(ref: str, request_id: int, runtime: RuntimeDep, principal: ResponderDep) -> ResponderOut:
    return _answer(ref, request_id, True, runtime, principal)


@router.post("/incidents/{ref}/responders/{request_id}/decline", response_model=ResponderOut, summary="Decline to join")
def decline(ref: str, request_id: int, runtime: RuntimeDep, principal: ResponderDep) -> ResponderOut:
    return _answer(ref, request_id, False, runtime, principal)


# --- skills ------------------------------------------------------------------------------------------------------


class SkillsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skills: list[str] = Field(max_length=skills.MAX_SKILLS, description="lowercase slugs such as postgres")


class SkillsOut(BaseModel):
    user_id: int
    skills: list[str]


@router.get("/users/{ref}/skills", response_model=SkillsOut, summary="The skills a person carries")
def get_skills(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> SkillsOut:
    with runtime.db.reader() as session:
        user = users.get_user(session, principal.user.id if ref == "me" else ref)
        return SkillsOut(user_id=user.id, skills=skills.skills_of(session, user.id))


@router.put("/users/{ref}/skills", response_model=SkillsOut, summary="Set a person's skills (yours, or as an admin)")
def put_skills(ref: str, body: SkillsIn, runtime: RuntimeDep, principal: PrincipalDep) -> SkillsOut:
    with runtime.db.unit_of_work() as session:
        user = users.get_user(session, principal.user.id if ref == "me" else ref)
        if user.id != principal.user.id and not principal.is_admin:
            raise Forbidden("you can only set your own skills")
        return SkillsOut(user_id=user.id, skills=skills.set_skills(session, user, body.skills))


class ExpertOut(BaseModel):
    user_id: int
    name: str
    email: str
    on_call: bool
    load: int = Field(description="open incidents carried: assigned, joined as a responder, or holding a role on")


@router.get("/experts", response_model=list[ExpertOut], summary="Who has a skill, on call now first, least loaded next")
def experts(runtime: RuntimeDep, _: PrincipalDep, skill: str = Query(min_length=1, max_length=50)) -> list[ExpertOut]:
    with runtime.db.reader() as session:
        found = skills.experts(session, skill, now=runtime.clock.now())
        return [ExpertOut(user_id=e.user_id, name=e.name, email=e.email, on_call=e.on_call, load=e.load) for e in found]
