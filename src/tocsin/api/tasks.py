"""/api/v1/incidents/{ref}/tasks, checklists added to an incident, and /api/v1/checklist-templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.core.clock import utc
from tocsin.response import service as response
from tocsin.response.models import ChecklistTemplate, IncidentTask, TaskStatus
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=PROBLEM_RESPONSES)


class TaskOut(BaseModel):
    id: int
    title: str
    status: TaskStatus
    assignee_user_id: int | None
    assignee: str | None
    due_at: datetime | None
    overdue: bool
    checklist: str
    created_at: datetime
    closed_at: datetime | None
    closed_by_user_id: int | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    done: int
    skipped: int
    total: int


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    assignee: str | None = Field(default=None, description="user id or email")
    due_at: datetime | None = None


class TaskPatch(BaseModel):
    """Only the fields sent change; ``assignee`` and ``due_at`` are cleared by sending null."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=500)
    assignee: str | None = Field(default=None, description="user id or email")
    due_at: datetime | None = None
    status: TaskStatus | None = None


class ChecklistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=200, description="checklist template name or id")


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    due_minutes: int | None = Field(default=None, ge=1, le=525_600)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=20_000)
    items: list[ChecklistItem] = Field(min_length=1, max_length=100)


class TemplateOut(BaseModel):
    id: int
    name: str
    description: str
    items: list[ChecklistItem]
    updated_at: datetime

    @classmethod
    def of(cls, row: ChecklistTemplate) -> TemplateOut:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            items=[ChecklistItem(**i) for i in row.items],
            updated_at=row.updated_at,
        )


def _rendered(rows: list[IncidentTask], names: dict[int, str], now: datetime) -> list[TaskOut]:
    return [
        TaskOut(
            id=t.id,
            title=t.title,
            status=t.status,
            assignee_user_id=t.assignee_user_id,
            assignee=names.get(t.assignee_user_id) if t.assignee_user_id else None,
            due_at=t.due_at,
            overdue=t.status == TaskStatus.OPEN and t.due_at is not None and t.due_at <= now,
            checklist=t.checklist,
            created_at=t.created_at,
            closed_at=t.closed_at,
            closed_by_user_id=t.closed_by_user_id,
        )
        for t in rows
    ]


def _page(session: Any, incident_id: int, now: datetime) -> TaskPage:
    rows = response.tasks(session, incident_id)
    names = users.names_of(session, [t.assignee_user_id for t in rows if t.assignee_user_id])
    done = response.progress(rows)
    return TaskPage(items=_rendered(rows, names, now), done=done.done, skipped=done.skipped, total=done.total)


@router.get("/incidents/{ref}/tasks", response_model=TaskPage, summary="An incident's tasks, with progress")
def list_tasks(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> TaskPage:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return _page(session, incident.id, runtime.clock.now())


@router.post("/incidents/{ref}/tasks", response_model=TaskOut, status_code=status.HTTP_201_CREATED)
def add_task(ref: str, body: TaskIn, runtime: RuntimeDep, principal: ResponderDep) -> TaskOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        task = response.add_task(
            session,
            incident.id,
            body.title,
            assignee=body.assignee,
            due_at=utc(body.due_at) if body.due_at else None,
            actor=principal.actor(),
            now=now,
        )
        names = users.names_of(session, [task.assignee_user_id] if task.assignee_user_id else [])
        return _rendered([task], names, now)[0]


@router.patch("/incidents/{ref}/tasks/{task_id}", response_model=TaskOut, summary="Change, close or reopen a task")
def patch_task(ref: str, task_id: int, body: TaskPatch, runtime: RuntimeDep, principal: ResponderDep) -> TaskOut:
    now, actor = runtime.clock.now(), principal.actor()
    sent = body.model_fields_set
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        changes: dict[str, Any] = {}
        if "assignee" in sent:
            changes["assignee"] = body.assignee
        if "due_at" in sent:
            changes["due_at"] = utc(body.due_at) if body.due_at else None
        task = response.update_task(session, incident.id, task_id, title=body.title, actor=actor, now=now, **changes)
        if body.status is not None and body.status != task.status:
            task = response.close_task(session, incident.id, task_id, body.status, actor=actor, now=now)
        names = users.names_of(session, [task.assignee_user_id] if task.assignee_user_id else [])
        return _rendered([task], names, now)[0]


@router.post(
    "/incidents/{ref}/checklists",
    response_model=TaskPage,
    status_code=status.HTTP_201_CREATED,
    summary="Add every item of a checklist template as a task",
)
def add_checklist(ref: str, body: ChecklistIn, runtime: RuntimeDep, principal: ResponderDep) -> TaskPage:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        response.add_checklist(session, incident.id, body.template, actor=principal.actor(), now=now)
        return _page(session, incident.id, now)


@router.get("/checklist-templates", response_model=list[TemplateOut], tags=["checklists"])
def list_templates(runtime: RuntimeDep, _: PrincipalDep) -> list[TemplateOut]:
    with runtime.db.reader() as session:
        return [TemplateOut.of(t) for t in response.templates(session)]


@router.put(
    "/checklist-templates/{name}",
    response_model=TemplateOut,
    tags=["checklists"],
    summary="Create or replace a checklist template",
)
def put_template(name: str, body: TemplateIn, runtime: RuntimeDep, _: AdminDep) -> TemplateOut:
    with runtime.db.unit_of_work() as session:
        items = [i.model_dump() for i in body.items]
        saved = response.save_template(session, name, items, description=body.description, now=runtime.clock.now())
        return TemplateOut.of(saved)


@router.delete(
    "/checklist-templates/{name}", status_code=status.HTTP_204_NO_CONTENT, tags=["checklists"], response_class=Response
)
def delete_template(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        response.delete_template(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
