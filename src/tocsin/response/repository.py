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
    ResponderRequest,
    ResponderStatus,
    RoleAssignment,
    TaskStatus,
    UserSkill,
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


# --- responders ---


def responder_requests(session: Session, incident_id: int) -> list[ResponderRequest]:
    stmt = select(ResponderRequest).where(ResponderRequest.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(ResponderRequest.requested_at, ResponderRequest.id)))


def responder_request(session: Session, request_id: int, *, for_update: bool = False) -> ResponderRequest | None:
    stmt = select(ResponderRequest).where(ResponderRequest.id == request_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def requests_of(
    session: Session, incident_id: int, user_id: int, *, for_update: bool = False
) -> list[ResponderRequest]:
    """A person's requests on one incident, newest first (the participants' look-up: incident + user)."""
    stmt = select(ResponderRequest).where(
        ResponderRequest.incident_id == incident_id, ResponderRequest.user_id == user_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt.order_by(ResponderRequest.requested_at.desc(), ResponderRequest.id.desc())))


def pending_of_user(session: Session, user_id: int) -> list[ResponderRequest]:
    """A person's unanswered requests, newest first."""
    stmt = select(ResponderRequest).where(
        ResponderRequest.user_id == user_id, ResponderRequest.status == ResponderStatus.REQUESTED
    )
    return list(session.scalars(stmt.order_by(ResponderRequest.requested_at.desc(), ResponderRequest.id.desc())))


def add_request(session: Session, request: ResponderRequest) -> None:
    session.add(request)
    session.flush()


# --- skills ---


def skills_of(session: Session, user_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {u: [] for u in user_ids}
    if not user_ids:
        return found
    stmt = select(UserSkill).where(UserSkill.user_id.in_(list(user_ids))).order_by(UserSkill.skill)
    for row in session.scalars(stmt):
        found[row.user_id].append(row.skill)
    return found


def all_skills(session: Session) -> list[UserSkill]:
    return list(session.scalars(select(UserSkill).order_by(UserSkill.user_id, UserSkill.skill)))


def replace_skills(session: Session, user_id: int, skills: Sequence[str]) -> None:
    current = {r.skill: r for r in session.scalars(select(UserSkill).where(UserSkill.user_id == user_id))}
    for name, row in current.items():
        if name not in skills:
            session.delete(row)
    for name in skills:
        if name not in current:
            session.add(UserSkill(user_id=user_id, skill=name))
    session.flush()


def holders_of_skill(session: Session, skill: str) -> list[int]:
    stmt = select(UserSkill.user_id).where(UserSkill.skill == skill).order_by(UserSkill.user_id)
    return list(session.scalars(stmt))


def open_load(session: Session, user_ids: Sequence[int]) -> dict[int, int]:
    """Per person, the open incidents they carry: assigned to them, joined as a responder, or holding a role on
    (one incident counted once however they are on it)."""
    load: dict[int, set[int]] = {u: set() for u in user_ids}
    if not user_ids:
        return {}
    wanted = list(user_ids)
    still_open = Incident.status != "resolved"
    assigned = select(Incident.assigned_user_id, Incident.id).where(Incident.assigned_user_id.in_(wanted), still_open)
    joined = (
        select(ResponderRequest.user_id, ResponderRequest.incident_id)
        .join(Incident, Incident.id == ResponderRequest.incident_id)
        .where(ResponderRequest.user_id.in_(wanted), ResponderRequest.status == ResponderStatus.ACCEPTED, still_open)
    )
    held = (
        select(RoleAssignment.user_id, RoleAssignment.incident_id)
        .join(Incident, Incident.id == RoleAssignment.incident_id)
        .where(RoleAssignment.user_id.in_(wanted), RoleAssignment.ended_at.is_(None), still_open)
    )
    for stmt in (assigned, joined, held):
        for user_id, incident_id in session.execute(stmt):
            if user_id is not None:
                load[user_id].add(incident_id)
    return {u: len(ids) for u, ids in load.items()}


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
