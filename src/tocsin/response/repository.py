"""Every task and checklist query lives here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.response.models import (
    ChecklistTemplate,
    IncidentRole,
    IncidentTask,
    IncidentType,
    RoleAssignment,
    TaskStatus,
)


def tasks_of(session: Session, incident_id: int) -> list[IncidentTask]:
    stmt = select(IncidentTask).where(IncidentTask.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(IncidentTask.position, IncidentTask.id)))


def task(session: Session, task_id: int, *, for_update: bool = False) -> IncidentTask | None:
    stmt = select(IncidentTask).where(IncidentTask.id == task_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def next_position(session: Session, incident_id: int) -> int:
    found = session.scalar(select(func.max(IncidentTask.position)).where(IncidentTask.incident_id == incident_id))
    return (found or 0) + 1


def add_tasks(session: Session, tasks: Sequence[IncidentTask]) -> None:
    session.add_all(tasks)
    session.flush()


def overdue(session: Session, now: datetime, limit: int) -> list[IncidentTask]:
    """Open tasks past their due time whose assignee was not reminded since it passed."""
    stmt = (
        select(IncidentTask)
        .where(
            IncidentTask.status == TaskStatus.OPEN,
            IncidentTask.due_at <= now,
            IncidentTask.assignee_user_id.is_not(None),
            (IncidentTask.reminded_at.is_(None)) | (IncidentTask.reminded_at < IncidentTask.due_at),
        )
        .order_by(IncidentTask.due_at, IncidentTask.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def next_due(session: Session) -> datetime | None:
    stmt = select(func.min(IncidentTask.due_at)).where(
        IncidentTask.status == TaskStatus.OPEN,
        IncidentTask.assignee_user_id.is_not(None),
        (IncidentTask.reminded_at.is_(None)) | (IncidentTask.reminded_at < IncidentTask.due_at),
    )
    return session.scalar(stmt)


def templates(session: Session) -> list[ChecklistTemplate]:
    return list(session.scalars(select(ChecklistTemplate).order_by(ChecklistTemplate.name)))


def template(session: Session, ref: int | str) -> ChecklistTemplate | None:
    if isinstance(ref, int):
        return session.get(ChecklistTemplate, ref)
    return session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.name == ref)).one_or_none()


def roles(session: Session) -> list[IncidentRole]:
    return list(session.scalars(select(IncidentRole).order_by(IncidentRole.position, IncidentRole.id)))


def role(session: Session, ref: int | str) -> IncidentRole | None:
    if isinstance(ref, int):
        return session.get(IncidentRole, ref)
    return session.scalars(select(IncidentRole).where(IncidentRole.name == ref)).one_or_none()


def holder(session: Session, incident_id: int, role_id: int) -> RoleAssignment | None:
    stmt = select(RoleAssignment).where(
        RoleAssignment.incident_id == incident_id,
        RoleAssignment.role_id == role_id,
        RoleAssignment.ended_at.is_(None),
    )
    return session.scalars(stmt.with_for_update()).one_or_none()


def assignments(session: Session, incident_id: int) -> list[RoleAssignment]:
    stmt = select(RoleAssignment).where(RoleAssignment.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(RoleAssignment.assigned_at, RoleAssignment.id)))


def role_in_use(session: Session, role_id: int) -> bool:
    return session.scalar(select(func.count()).where(RoleAssignment.role_id == role_id)) != 0


def incident_types(session: Session) -> list[IncidentType]:
    return list(session.scalars(select(IncidentType).order_by(IncidentType.position, IncidentType.name)))


def incident_type(session: Session, ref: int | str) -> IncidentType | None:
    if isinstance(ref, int):
        return session.get(IncidentType, ref)
    return session.scalars(select(IncidentType).where(IncidentType.name == ref)).one_or_none()


def type_in_use(session: Session, type_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Incident).where(Incident.type_id == type_id)) or 0)


def silent_type_ids(session: Session) -> list[int]:
    return list(session.scalars(select(IncidentType.id).where(IncidentType.pages.is_(False))))
