"""/api/v1/workflows, /api/v1/playbooks, /api/v1/remediation-actions, /api/v1/workflow-channels, their runs on
incidents, the simulator, and the remediation result callback (/actions/callback/{token}, signed, no token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.core.errors import InvalidInput
from tocsin.workflows import actions, channels, runner
from tocsin.workflows import service as workflows
from tocsin.workflows.models import (
    ActionRun,
    Playbook,
    RemediationAction,
    Workflow,
    WorkflowChannel,
    WorkflowRun,
    WorkflowStepRun,
)

router = APIRouter(prefix="/api/v1", tags=["workflows"], responses=PROBLEM_RESPONSES)
callback_router = APIRouter(tags=["workflows"], responses=PROBLEM_RESPONSES)
MAX_CALLBACK_BODY = 64 * 1024


class WorkflowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=20_000)
    enabled: bool = True
    trigger: dict[str, Any] = Field(description='{"event": "declared" | … | "timer", "after": …, "minutes": N}')
    conditions: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    steps: list[dict[str, Any]] = Field(min_length=1, max_length=50)


class WorkflowOut(BaseModel):
    id: int
    name: str
    description: str
    enabled: bool
    trigger: dict[str, Any]
    conditions: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, w: Workflow) -> WorkflowOut:
        return cls(
            id=w.id,
            name=w.name,
            description=w.description,
            enabled=w.enabled,
            trigger=w.trigger,
            conditions=w.conditions,
            steps=w.steps,
            version=w.version,
            updated_at=w.updated_at,
        )


class PlaybookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guidance: str = Field(default="", max_length=100_000)
    match: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    steps: list[dict[str, Any]] = Field(min_length=1, max_length=50)


class PlaybookOut(BaseModel):
    id: int
    name: str
    guidance: str
    match: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, p: Playbook) -> PlaybookOut:
        return cls(
            id=p.id,
            name=p.name,
            guidance=p.guidance,
            match=p.match,
            steps=p.steps,
            version=p.version,
            updated_at=p.updated_at,
        )


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=20_000)
    kind: str = Field(default="http", max_length=8)
    method: str = Field(default="POST", max_length=8)
    url: str | None = Field(default=None, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = Field(default="", max_length=100_000)
    secret: str = Field(default="", max_length=500)
    timeout_seconds: float = Field(default=10, gt=0, le=300)
    callback_minutes: int = Field(default=0, ge=0, le=10_080)
    allowed_roles: list[str] = Field(default_factory=list, max_length=3)
    approval: bool = False
    command: list[str] | None = Field(default=None, max_length=100)


class ActionOut(BaseModel):
    id: int
    name: str
    description: str
    kind: str
    method: str
    url: str
    headers: dict[str, Any]
    body: str
    has_secret: bool
    timeout_seconds: float
    callback_minutes: int
    allowed_roles: list[str]
    approval: bool
    command: list[str]
    updated_at: datetime

    @classmethod
    def of(cls, a: RemediationAction) -> ActionOut:
        return cls(
            id=a.id,
            name=a.name,
            description=a.description,
            kind=a.kind,
            method=a.method,
            url=a.url,
            headers=a.headers,
            body=a.body_template,
            has_secret=bool(a.secret),
            timeout_seconds=a.timeout_seconds,
            callback_minutes=a.callback_minutes,
            allowed_roles=a.allowed_roles,
            approval=a.approval,
            command=a.command,
            updated_at=a.updated_at,
        )


class StepRunOut(BaseModel):
    position: int
    kind: str
    status: str
    idempotency_key: str
    attempts: int
    result: dict[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, s: WorkflowStepRun) -> StepRunOut:
        return cls(
            position=s.position,
            kind=s.kind,
            status=s.status,
            idempotency_key=s.idempotency_key,
            attempts=s.attempts,
            result=s.result,
            error=s.error,
            started_at=s.started_at,
            finished_at=s.finished_at,
        )


class RunOut(BaseModel):
    id: int
    incident_id: int
    name: str
    version: int
    trigger: str
    status: str
    position: int
    due_at: datetime | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    steps: list[dict[str, Any]]
    step_runs: list[StepRunOut] = Field(default_factory=list)

    @classmethod
    def of(cls, r: WorkflowRun, step_runs: list[WorkflowStepRun] | None = None) -> RunOut:
        return cls(
            id=r.id,
            incident_id=r.incident_id,
            name=r.name,
            version=r.version,
            trigger=r.trigger,
            status=r.status,
            position=r.position,
            due_at=r.due_at,
            error=r.error,
            created_at=r.created_at,
            finished_at=r.finished_at,
            steps=r.steps,
            step_runs=[StepRunOut.of(s) for s in step_runs or []],
        )


class ActionRunOut(BaseModel):
    id: int
    action: str
    incident_id: int
    status: str
    requested_by: str
    approved_by_user_id: int | None
    request_excerpt: str
    response_excerpt: str
    status_code: int | None
    duration_ms: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, r: ActionRun) -> ActionRunOut:
        return cls(
            id=r.id,
            action=r.action_name,
            incident_id=r.incident_id,
            status=r.status,
            requested_by=r.requested_by,
            approved_by_user_id=r.approved_by_user_id,
            request_excerpt=r.request_excerpt,
            response_excerpt=r.response_excerpt,
            status_code=r.status_code,
            duration_ms=r.duration_ms,
            error=r.error,
            created_at=r.created_at,
            finished_at=r.finished_at,
        )


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident: str | None = Field(default=None, max_length=40, description="incident id or number")
    payload: dict[str, Any] | None = Field(default=None, description="made-up incident fields, labels, service")
    event: str | None = Field(default=None, max_length=64, description="incident.<kind> the trigger is tried on")


class SimulatedOut(BaseModel):
    kind: str
    name: str
    version: int
    trigger: str
    would_run: bool
    reason: str
    steps: list[dict[str, Any]]


class TickIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    done: bool = True


# --- workflows --------------------------------------------------------------------------------------------------


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(runtime: RuntimeDep, _: PrincipalDep) -> list[WorkflowOut]:
    with runtime.db.reader() as session:
        return [WorkflowOut.of(w) for w in workflows.list_workflows(session)]


@router.get("/workflows/{name}", response_model=WorkflowOut)
def get_workflow(name: str, runtime: RuntimeDep, _: PrincipalDep) -> WorkflowOut:
    with runtime.db.reader() as session:
        return WorkflowOut.of(workflows.get_workflow(session, name))


@router.put("/workflows/{name}", response_model=WorkflowOut, summary="Create or replace a workflow (a new version)")
def put_workflow(name: str, body: WorkflowIn, runtime: RuntimeDep, _: AdminDep) -> WorkflowOut:
    with runtime.db.unit_of_work() as session:
        saved = workflows.save_workflow(session, name, body.model_dump(), now=runtime.clock.now())
        return WorkflowOut.of(saved)


@router.delete("/workflows/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_workflow(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        workflows.delete_workflow(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/workflows/simulate", response_model=list[SimulatedOut], summary="What would run now, without acting")
def simulate(body: SimulateIn, runtime: RuntimeDep, principal: PrincipalDep) -> list[SimulatedOut]:
    if (body.incident is None) == (body.payload is None):
        raise InvalidInput("give either incident or payload")
    with runtime.db.reader() as session:
        incident_id = None
        if body.incident is not None:
            incident = visible_incident(session, principal, runtime, body.incident)
            subject = workflows.subject_of(session, incident)
            incident_id = incident.id
        else:
            assert body.payload is not None
            subject = workflows.subject_of_payload(body.payload)
        found = workflows.simulate(session, subject, event=body.event, incident_id=incident_id)
        return [SimulatedOut(**{k: getattr(s, k) for k in SimulatedOut.model_fields}) for s in found]


# --- playbooks --------------------------------------------------------------------------------------------------


@router.get("/playbooks", response_model=list[PlaybookOut])
def list_playbooks(runtime: RuntimeDep, _: PrincipalDep) -> list[PlaybookOut]:
    with runtime.db.reader() as session:
        return [PlaybookOut.of(p) for p in workflows.list_playbooks(session)]


@router.put("/playbooks/{name}", response_model=PlaybookOut, summary="Create or replace a playbook (a new version)")
def put_playbook(name: str, body: PlaybookIn, runtime: RuntimeDep, _: AdminDep) -> PlaybookOut:
    with runtime.db.unit_of_work() as session:
        return PlaybookOut.of(workflows.save_playbook(session, name, body.model_dump(), now=runtime.clock.now()))


@router.delete("/playbooks/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_playbook(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        workflows.delete_playbook(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- remediation actions ----------------------------------------------------------------------------------------


@router.get("/remediation-actions", response_model=list[ActionOut])
def list_actions(runtime: RuntimeDep, _: PrincipalDep) -> list[ActionOut]:
    with runtime.db.reader() as session:
        return [ActionOut.of(a) for a in actions.list_actions(session)]


@router.put("/remediation-actions/{name}", response_model=ActionOut, summary="Create or replace a remediation action")
def put_action(name: str, body: ActionIn, runtime: RuntimeDep, _: AdminDep) -> ActionOut:
    spec = body.model_dump(exclude_none=True)
    with runtime.db.unit_of_work() as session:
        return ActionOut.of(actions.save_action(session, name, spec, now=runtime.clock.now()))


@router.delete("/remediation-actions/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_action(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        actions.delete_action(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- chat channels ----------------------------------------------------------------------------------------------


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="slack | teams | mattermost | discord", max_length=16)
    address: str = Field(
        description="A Slack channel id (C…) or #name; for the others, the incoming webhook URL", max_length=2000
    )
    description: str = Field(default="", max_length=2000)


class ChannelOut(BaseModel):
    id: int
    name: str
    provider: str
    # A webhook URL is a credential: only its origin is shown.
    address: str
    description: str
    updated_at: datetime

    @classmethod
    def of(cls, c: WorkflowChannel) -> ChannelOut:
        return cls(
            id=c.id,
            name=c.name,
            provider=c.provider,
            address=channels.shown_address(c),
            description=c.description,
            updated_at=c.updated_at,
        )


@router.get("/workflow-channels", response_model=list[ChannelOut])
def list_channels(runtime: RuntimeDep, _: PrincipalDep) -> list[ChannelOut]:
    with runtime.db.reader() as session:
        return [ChannelOut.of(c) for c in channels.list_channels(session)]


@router.put(
    "/workflow-channels/{name}", response_model=ChannelOut, summary="Create or replace a chat channel steps post to"
)
def put_channel(name: str, body: ChannelIn, runtime: RuntimeDep, _: AdminDep) -> ChannelOut:
    with runtime.db.unit_of_work() as session:
        return ChannelOut.of(channels.save_channel(session, name, body.model_dump(), now=runtime.clock.now()))


@router.delete("/workflow-channels/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_channel(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        channels.delete_channel(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- on incidents -----------------------------------------------------------------------------------------------


@router.get("/incidents/{ref}/workflow-runs", response_model=list[RunOut])
def incident_runs(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[RunOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [RunOut.of(*runner.run_view(session, r.id)) for r in runner.runs_of(session, incident.id)]


@router.post(
    "/incidents/{ref}/workflows/{name}/run",
    response_model=RunOut,
    status_code=status.HTTP_201_CREATED,
    summary="Run a workflow on an incident now, whatever its trigger",
)
def run_workflow(ref: str, name: str, runtime: RuntimeDep, principal: ResponderDep) -> RunOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        run = workflows.run_now(session, incident.id, name, actor=principal.actor(), now=runtime.clock.now())
        return RunOut.of(run)


@router.get("/workflow-runs/{run_id}", response_model=RunOut)
def get_run(run_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> RunOut:
    with runtime.db.reader() as session:
        run, steps = runner.run_view(session, run_id)
        visible_incident(session, principal, runtime, run.incident_id)
        return RunOut.of(run, steps)


@router.post(
    "/incidents/{ref}/playbooks/{name}/steps/{index}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Tick (or untick) a manual playbook step",
)
def tick_step(ref: str, name: str, index: int, body: TickIn, runtime: RuntimeDep, principal: ResponderDep) -> Response:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        workflows.tick(session, incident.id, name, index, body.done, actor=principal.actor(), now=runtime.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/incidents/{ref}/action-runs", response_model=list[ActionRunOut])
def incident_action_runs(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[ActionRunOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [ActionRunOut.of(r) for r in actions.runs_of(session, incident.id)]


def _perform(runtime: Any, run_id: int) -> ActionRunOut:
    env = runtime.workflow_env()
    done = actions.perform(runtime.db, run_id, workflows.subject_of_id, env, runtime.clock)
    with runtime.db.reader() as session:
        return ActionRunOut.of(actions.get_run(session, run_id) if done is None else done)


@router.post(
    "/incidents/{ref}/actions/{name}/run",
    response_model=ActionRunOut,
    status_code=status.HTTP_201_CREATED,
    summary="Run a remediation action on an incident (or ask for approval)",
)
def run_action(ref: str, name: str, runtime: RuntimeDep, principal: ResponderDep) -> ActionRunOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        run = actions.request_run(
            session, incident.id, name, actor=principal.actor(), role=principal.user.role, now=runtime.clock.now()
        )
        run_id, waiting = run.id, run.status == "awaiting_approval"
        if waiting:
            return ActionRunOut.of(run)
    return _perform(runtime, run_id)


@router.post("/action-runs/{run_id}/approve", response_model=ActionRunOut, summary="Approve and start an action run")
def approve_action(run_id: int, runtime: RuntimeDep, principal: ResponderDep) -> ActionRunOut:
    with runtime.db.unit_of_work() as session:
        run = actions.get_run(session, run_id)
        incident = visible_incident(session, principal, runtime, run.incident_id)
        require_act_on_incident(session, principal, incident)
        action = actions.get_action(session, run.action_name)
        allowed = action.allowed_roles or list(actions.MANUAL_ROLES)
        if principal.user.role not in allowed:
            from tocsin.core.errors import Forbidden

            raise Forbidden(f"action {action.name!r} may be approved by {', '.join(allowed)} only")
        actions.approve(session, run_id, actor=principal.actor(), now=runtime.clock.now())
    return _perform(runtime, run_id)


@callback_router.post(
    "/actions/callback/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="An action's automation reports its result (Standard Webhooks signature, once, in time)",
)
async def action_callback(token: str, request: Request, runtime: RuntimeDep) -> Response:
    body = await request.body()
    if len(body) > MAX_CALLBACK_BODY:
        raise InvalidInput("the body is too large")
    headers = dict(request.headers)
    from starlette.concurrency import run_in_threadpool

    def record() -> None:
        with runtime.db.unit_of_work() as session:
            actions.callback(session, token, headers, body, now=runtime.clock.now())

    await run_in_threadpool(record)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
