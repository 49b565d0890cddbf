"""Task and checklist use cases. Each takes a session, writes the incident's timeline, and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import notices
from tocsin.response import repository as repo
from tocsin.response.models import ChecklistTemplate, IncidentTask, TaskStatus
from tocsin.users import service as users

MAX_TITLE = 500
MAX_ITEMS = 100
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    skipped: int
    total: int

    @property
    def closed(self) -> int:
        return self.done + self.skipped


def _title(text: str) -> str:
    title = text.strip()
    if not title:
        raise InvalidInput("a task needs a title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"a task title is limited to {MAX_TITLE} characters")
    return title


def _assignee(session: Session, ref: int | str | None) -> int | None:
    if ref is None or ref == "":
        return None
    try:
        user = users.get_user(session, ref)
    except NotFound:
        raise InvalidInput(f"no user {ref!r} to assign the task to") from None
    if user.deactivated_at is not None:
        raise InvalidInput(f"{user.name} is deactivated and cannot take tasks")
    return user.id


def tasks(session: Session, incident_id: int) -> list[IncidentTask]:
    return repo.tasks_of(session, incident_id)


def progress(rows: Sequence[IncidentTask]) -> Progress:
    return Progress(
        done=sum(1 for t in rows if t.status == TaskStatus.DONE),
        skipped=sum(1 for t in rows if t.status == TaskStatus.SKIPPED),
        total=len(rows),
    )


def add_task(
    session: Session,
    incident_id: int,
    title: str,
    *,
    actor: Actor,
    now: datetime,
    assignee: int | str | None = None,
    due_at: datetime | None = None,
) -> IncidentTask:
    task = IncidentTask(
        incident_id=incident_id,
        position=repo.next_position(session, incident_id),
        title=_title(title),
        assignee_user_id=_assignee(session, assignee),
        due_at=due_at,
        status=TaskStatus.OPEN,
        created_at=now,
        created_by_user_id=actor.user_id,
    )
    incidents.record(session, incident_id, TimelineKind.TASK_ADDED, f"Task: {task.title}", actor=actor, now=now)
    repo.add_tasks(session, [task])
    return task


def get_task(session: Session, incident_id: int, task_id: int, *, for_update: bool = False) -> IncidentTask:
    task = repo.task(session, task_id, for_update=for_update)
    if task is None or task.incident_id != incident_id:
        raise NotFound(f"task {task_id} not found on this incident")
    return task


def update_task(
    session: Session,
    incident_id: int,
    task_id: int,
    *,
    actor: Actor,
    now: datetime,
    title: str | None = None,
    assignee: Any = _UNSET,
    due_at: Any = _UNSET,
) -> IncidentTask:
    """Change the title, the assignee (None: nobody) or the due time (None: none) of a task."""
    task = get_task(session, incident_id, task_id, for_update=True)
    changes: dict[str, Any] = {}
    new_title = _title(title) if title is not None else task.title
    if new_title != task.title:
        changes["title"] = {"from": task.title, "to": new_title}
        task.title = new_title
    if assignee is not _UNSET:
        user_id = _assignee(session, assignee)
        if user_id != task.assignee_user_id:
            changes["assignee_user_id"] = {"from": task.assignee_user_id, "to": user_id}
            task.assignee_user_id = user_id
    if due_at is not _UNSET and due_at != task.due_at:
        changes["due_at"] = {
            "from": task.due_at.isoformat() if task.due_at else None,
            "to": due_at.isoformat() if due_at else None,
        }
        task.due_at = due_at
    if changes:
        incidents.record(
            session,
            incident_id,
            TimelineKind.TASK_CHANGED,
            f"Task changed: {task.title}",
            actor=actor,
            now=now,
            task=task.id,
            changes=changes,
        )
    return task


def close_task(
    session: Session, incident_id: int, task_id: int, status: TaskStatus, *, actor: Actor, now: datetime
) -> IncidentTask:
    """Mark a task done or skipped, or open it again; who closed it and when are kept."""
    task = get_task(session, incident_id, task_id, for_update=True)
    if task.status == status:
        raise Conflict(f"the task is already {status}")
    previous = task.status
    task.status = status
    if status == TaskStatus.OPEN:
        task.closed_at = task.closed_by_user_id = None
        message = f"Task opened again: {task.title}"
    else:
        task.closed_at, task.closed_by_user_id = now, actor.user_id
        message = f"Task {status}: {task.title}"
    change = {"status": {"from": previous, "to": status}}
    incidents.record(
        session, incident_id, TimelineKind.TASK_CLOSED, message, actor=actor, now=now, task=task.id, changes=change
    )
    return task


def add_checklist(
    session: Session, incident_id: int, template_ref: int | str, *, actor: Actor, now: datetime
) -> list[IncidentTask]:
    """Every item of a checklist template as a task, in one action (items with a due time are due that long from
    now)."""
    template = get_template(session, template_ref)
    start = repo.next_position(session, incident_id)
    added = [
        IncidentTask(
            incident_id=incident_id,
            position=start + i,
            title=item["title"],
            due_at=now + timedelta(minutes=item["due_minutes"]) if item.get("due_minutes") else None,
            status=TaskStatus.OPEN,
            checklist=template.name,
            created_at=now,
            created_by_user_id=actor.user_id,
        )
        for i, item in enumerate(template.items)
    ]
    incidents.record(
        session,
        incident_id,
        TimelineKind.CHECKLIST_ADDED,
        f"Checklist {template.name}: {len(added)} tasks",
        actor=actor,
        now=now,
        checklist=template.name,
    )
    repo.add_tasks(session, added)
    return added


def remind_overdue(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Tell each assignee of an overdue open task, once per due time, through their contact methods."""
    due = repo.overdue(session, now, limit)
    for task in due:
        assert task.assignee_user_id is not None
        assert task.due_at is not None
        incident = incidents.get(session, task.incident_id)
        notices.notify_user(
            session,
            user_id=task.assignee_user_id,
            key=f"task-overdue:{task.id}:{int(task.due_at.timestamp())}",
            text=f"Overdue task on incident #{incident.number} ({incident.title}): {task.title}",
            now=now,
        )
        task.reminded_at = now
    return len(due)


def next_reminder(session: Session) -> datetime | None:
    return repo.next_due(session)


# --- checklist templates -------------------------------------------------------------------------------------


def _items(items: Sequence[Any]) -> list[dict[str, Any]]:
    if not items:
        raise InvalidInput("a checklist needs at least one item")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"a checklist has at most {MAX_ITEMS} items")
    cleaned = []
    for i, item in enumerate(items):
        raw = {"title": item} if isinstance(item, str) else dict(item)
        minutes = raw.get("due_minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1):
            raise InvalidInput(f"item {i + 1}: due_minutes must be a whole number of minutes, at least 1")
        try:
            title = _title(str(raw.get("title") or ""))
        except InvalidInput as exc:
            raise InvalidInput(f"item {i + 1}: {exc.detail}") from None
        cleaned.append({"title": title, "due_minutes": minutes})
    return cleaned


def templates(session: Session) -> list[ChecklistTemplate]:
    return repo.templates(session)


def get_template(session: Session, ref: int | str) -> ChecklistTemplate:
    found = repo.template(session, int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref)
    if found is None:
        raise NotFound(f"checklist template {ref} not found")
    return found


def save_template(
    session: Session, name: str, items: Sequence[Any], *, now: datetime, description: str = ""
) -> ChecklistTemplate:
    """Create the template, or replace the items and description of the one with this name."""
    clean_name = name.strip()
    if not clean_name or len(clean_name) > 200:
        raise InvalidInput("a checklist template needs a name of at most 200 characters")
    cleaned = _items(items)
    found = repo.template(session, clean_name)
    if found is None:
        found = ChecklistTemplate(name=clean_name, created_at=now, updated_at=now, items=cleaned)
        session.add(found)
    else:
        found.items = cleaned
        found.updated_at = now
    found.description = description
    session.flush()
    return found


def delete_template(session: Session, ref: int | str) -> None:
    session.delete(get_template(session, ref))
    session.flush()
