"""Editing, archiving and deleting schedules (ADR 0012). An archived schedule has nobody on call in it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput
from tocsin.oncall import repository as repo
from tocsin.oncall.models import Schedule
from tocsin.users.service import validate_timezone


def update_schedule(
    session: Session,
    schedule: Schedule,
    *,
    name: str | None = None,
    description: str | None = None,
    timezone: str | None = None,
) -> Schedule:
    if name is not None and name.strip() != schedule.name:
        if not name.strip():
            raise InvalidInput("a schedule needs a name")
        if repo.schedule_by_name(session, name.strip()) is not None:
            raise Conflict(f"a schedule named {name.strip()!r} already exists")
        schedule.name = name.strip()
    if description is not None:
        schedule.description = description
    if timezone is not None:
        schedule.timezone = validate_timezone(timezone)
    session.flush()
    return schedule


def archive_schedule(session: Session, schedule: Schedule, *, now: datetime) -> Schedule:
    """Hidden from lists, and nobody is on call in it any more: policy steps naming it page nobody."""
    if schedule.archived_at is None:
        schedule.archived_at = now
    session.flush()
    return schedule


def unarchive_schedule(session: Session, schedule: Schedule) -> Schedule:
    schedule.archived_at = None
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule: Schedule, *, named_by: Sequence[str]) -> None:
    """Only a schedule no escalation policy names is deleted (``named_by``: the policies naming it)."""
    if named_by:
        raise Conflict(
            f"schedule {schedule.name!r} is named by escalation policies {', '.join(repr(n) for n in named_by)}; "
            "archive it, or take it out of them first"
        )
    session.delete(schedule)
    session.flush()
