from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.oncall.models import Schedule, ScheduleLayer, ScheduleOverride


def schedule(session: Session, schedule_id: int) -> Schedule | None:
    return session.get(Schedule, schedule_id)


def schedule_by_name(session: Session, name: str) -> Schedule | None:
    return session.execute(select(Schedule).where(Schedule.name == name)).scalar_one_or_none()


def schedule_by_feed_token(session: Session, token: str) -> Schedule | None:
    return session.execute(select(Schedule).where(Schedule.feed_token == token)).scalar_one_or_none()


def all_schedules(session: Session, *, include_archived: bool = True) -> list[Schedule]:
    stmt = select(Schedule).order_by(Schedule.name)
    if not include_archived:
        stmt = stmt.where(Schedule.archived_at.is_(None))
    return list(session.execute(stmt).scalars())


def layers_of(session: Session, schedule_id: int) -> list[ScheduleLayer]:
    stmt = select(ScheduleLayer).where(ScheduleLayer.schedule_id == schedule_id).order_by(ScheduleLayer.position)
    return list(session.execute(stmt).scalars())


def overrides_of(
    session: Session,
    schedule_id: int,
    *,
    ending_after: datetime | None = None,
    starting_before: datetime | None = None,
) -> list[ScheduleOverride]:
    stmt = select(ScheduleOverride).where(ScheduleOverride.schedule_id == schedule_id)
    if ending_after is not None:
        stmt = stmt.where(ScheduleOverride.end > ending_after)
    if starting_before is not None:
        stmt = stmt.where(ScheduleOverride.start < starting_before)
    return list(session.execute(stmt.order_by(ScheduleOverride.start)).scalars())


def override(session: Session, override_id: int) -> ScheduleOverride | None:
    return session.get(ScheduleOverride, override_id)


def schedules_by_id(session: Session, ids: Iterable[int]) -> dict[int, Schedule]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {s.id: s for s in session.execute(select(Schedule).where(Schedule.id.in_(wanted))).scalars()}


def layers_of_many(session: Session, schedule_ids: Iterable[int]) -> dict[int, list[ScheduleLayer]]:
    """Per schedule, its layers in position order (``layers_of`` for several schedules in one query)."""
    wanted = list(set(schedule_ids))
    found: dict[int, list[ScheduleLayer]] = {s: [] for s in wanted}
    if not wanted:
        return found
    stmt = select(ScheduleLayer).where(ScheduleLayer.schedule_id.in_(wanted)).order_by(ScheduleLayer.position)
    for layer in session.execute(stmt).scalars():
        found[layer.schedule_id].append(layer)
    return found


def overrides_of_many(
    session: Session, schedule_ids: Iterable[int], *, ending_after: datetime, starting_before: datetime
) -> dict[int, list[ScheduleOverride]]:
    """Per schedule, its overrides overlapping (ending_after, starting_before), by start."""
    wanted = list(set(schedule_ids))
    found: dict[int, list[ScheduleOverride]] = {s: [] for s in wanted}
    if not wanted:
        return found
    stmt = (
        select(ScheduleOverride)
        .where(
            ScheduleOverride.schedule_id.in_(wanted),
            ScheduleOverride.end > ending_after,
            ScheduleOverride.start < starting_before,
        )
        .order_by(ScheduleOverride.start, ScheduleOverride.id)
    )
    for o in session.execute(stmt).scalars():
        found[o.schedule_id].append(o)
    return found
