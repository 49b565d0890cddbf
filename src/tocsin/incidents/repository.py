"""Every incident query lives here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tocsin.db.tables import table_of
from tocsin.events import repository as event_repo
from tocsin.events.rows import rows_of
from tocsin.incidents import lifecycle
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Counter, Incident, TimelineEntry, counted
from tocsin.incidents.schemas import IncidentFilter
from tocsin.services.models import Service

_COUNTERS = table_of(Counter)
_ADVANCE_COUNTER = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + bindparam("count"))
    .returning(_COUNTERS.c.value)
)
_INSERT_COUNTER = insert(_COUNTERS)


def allocate_numbers(session: Session, name: str, count: int) -> range:
    """Reserve ``count`` consecutive numbers; the counter row is locked until the transaction ends."""
    result = session.execute(_ADVANCE_COUNTER, {"counter": name, "count": count}).scalar_one_or_none()
    if result is None:
        session.execute(_INSERT_COUNTER, {"name": name, "value": count})
        result = count
    return range(result - count + 1, result + 1)


_INCIDENTS = table_of(Incident)
# Rows of a batched INSERT ... RETURNING come back in no set order on SQLite (ordering them costs one statement
# per row there); each incident is matched by its number, which is unique.
_INSERT_INCIDENTS = insert(_INCIDENTS).returning(_INCIDENTS.c.id, _INCIDENTS.c.number)


@dataclass(frozen=True, slots=True)
class OpenedIncident:
    """An incident just stored, as the path that opened it needs it: building a mapped object per incident cost
    the ingest path more than storing it."""

    id: int
    number: int
    service_id: int
    urgency: str


def add_incidents(session: Session, rows: Sequence[dict[str, Any]]) -> list[OpenedIncident]:
    """Insert in one batched statement; returns the incidents in the order given (each row holds its number)."""
    if not rows:
        return []
    ids = {number: incident_id for incident_id, number in session.execute(_INSERT_INCIDENTS, list(rows))}
    return [OpenedIncident(ids[r["number"]], r["number"], r["service_id"], r["urgency"]) for r in rows]


def get(session: Session, incident_id: int, *, for_update: bool = False) -> Incident | None:
    stmt = select(Incident).where(Incident.id == incident_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class LockedIncident:
    """What the engine reads of an incident it has locked to page about it: a row, not a mapped object."""

    id: int
    number: int
    title: str
    service_id: int
    status: str
    urgency: str
    severity: str
    priority: str
    created_at: datetime
    drill: bool = False


_LOCKED_COLUMNS = [_INCIDENTS.c[name] for name in LockedIncident.__dataclass_fields__]


def locking(ids: Select[Any]) -> Select[Any]:
    """The statement (to build once) that locks the incidents ``ids`` selects, in ascending id order: every batch
    takes them in the same order, so two batches sharing incidents queue instead of deadlocking."""
    return (
        select(*_LOCKED_COLUMNS)
        .where(_INCIDENTS.c.id.in_(ids))
        .order_by(_INCIDENTS.c.id)
        .with_for_update(of=_INCIDENTS)
    )


def lock_many(session: Session, locking_stmt: Select[Any], params: dict[str, Any]) -> dict[int, LockedIncident]:
    """Run a ``locking`` statement: the incidents it names, locked for the transaction, by id."""
    return {row[0]: LockedIncident(*row) for row in session.execute(locking_stmt, params)}


def get_by_number(session: Session, number: int) -> Incident | None:
    return session.execute(select(Incident).where(Incident.number == number)).scalar_one_or_none()


_ADD_TIMELINE = insert(table_of(TimelineEntry))
# The status an incident is in after a timeline entry of this kind (the events say {"status": [old, new]}).
_STATUS_AFTER: dict[str, str] = {kind: target for (_current, target), kind in lifecycle.ALLOWED.items()}


def add_timeline(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append timeline entries and their incident events, in the caller's transaction: every writer of the
    timeline comes through here, so no change goes without its event."""
    if rows:
        # The table, not the mapped class: a plain executemany, without the ORM's per-row bulk bookkeeping.
        session.execute(_ADD_TIMELINE, list(rows))
        event_repo.add(session, rows_of(rows, status_after=_STATUS_AFTER))


def add_timeline_entry(session: Session, row: dict[str, Any]) -> TimelineEntry:
    """One entry as a mapped object (its id is wanted back), with its event."""
    entry = TimelineEntry(**row)
    session.add(entry)
    session.flush()
    event_repo.add(session, rows_of([row], status_after=_STATUS_AFTER))
    return entry


def timeline(session: Session, incident_id: int, *, after_id: int = 0) -> list[TimelineEntry]:
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id, TimelineEntry.id > after_id)
        .order_by(TimelineEntry.id)
    )
    return list(session.execute(stmt).scalars())


def search(session: Session, flt: IncidentFilter, *, before_id: int | None, limit: int) -> list[Incident]:
    stmt = select(Incident)
    if flt.statuses:
        stmt = stmt.where(Incident.status.in_(flt.statuses))
    if flt.service_ids:
        stmt = stmt.where(Incident.service_id.in_(flt.service_ids))
    if flt.team_ids:
        stmt = stmt.where(Incident.service_id.in_(select(Service.id).where(Service.team_id.in_(flt.team_ids))))
    if flt.urgencies:
        stmt = stmt.where(Incident.urgency.in_(flt.urgencies))
    if flt.priorities:
        stmt = stmt.where(Incident.priority.in_(flt.priorities))
    if flt.assigned_user_id is not None:
        stmt = stmt.where(Incident.assigned_user_id == flt.assigned_user_id)
    if flt.created_after is not None:
        stmt = stmt.where(Incident.created_at >= flt.created_after)
    if flt.created_before is not None:
        stmt = stmt.where(Incident.created_at < flt.created_before)
    if flt.drill is not None:
        stmt = stmt.where(Incident.drill.is_(flt.drill))
    if flt.text:
        stmt = stmt.where(func.lower(Incident.title).contains(flt.text.lower(), autoescape=True))
    if before_id is not None:
        stmt = stmt.where(Incident.id < before_id)
    stmt = stmt.order_by(Incident.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def count_open(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Incident.status, func.count())
        .where(Incident.status != IncidentStatus.RESOLVED, counted())
        .group_by(Incident.status)
    ).all()
    return {status: n for status, n in rows}


def numbers_of_service(session: Session, service_id: int, *, open_only: bool, limit: int = 20) -> list[int]:
    stmt = select(Incident.number).where(Incident.service_id == service_id).order_by(Incident.number).limit(limit)
    if open_only:
        stmt = stmt.where(Incident.status != IncidentStatus.RESOLVED)
    return list(session.execute(stmt).scalars())


def count_of_service(session: Session, service_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(Incident).where(Incident.service_id == service_id)
        ).scalar_one()
    )


def open_counts_by_service(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Incident.service_id, func.count())
        .where(Incident.status != IncidentStatus.RESOLVED, counted())
        .group_by(Incident.service_id)
    ).all()
    return {sid: n for sid, n in rows}


def expired_acks(session: Session, now: datetime, limit: int) -> list[Incident]:
    rows = session.execute(
        select(Incident, Service.ack_timeout_seconds)
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.status == "acknowledged", Service.ack_timeout_seconds.is_not(None))
        .order_by(Incident.acknowledged_at)
        .limit(limit * 10)
        .with_for_update(of=Incident)
    ).all()
    due = [
        i
        for i, timeout in rows
        if i.acknowledged_at and timeout and i.acknowledged_at + timedelta(seconds=timeout) <= now
    ]
    return due[:limit]


def next_ack_expiry(session: Session) -> datetime | None:
    rows = session.execute(
        select(Incident.acknowledged_at, Service.ack_timeout_seconds)
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.status == "acknowledged", Service.ack_timeout_seconds.is_not(None))
    ).all()
    times = [at + timedelta(seconds=t) for at, t in rows if at is not None and t]
    return min(times) if times else None


def latest_timeline_id(session: Session) -> int:
    return int(session.execute(select(func.max(TimelineEntry.id))).scalar_one_or_none() or 0)


def incidents_changed_since(session: Session, after_id: int, limit: int = 500) -> list[int]:
    rows = session.execute(
        select(TimelineEntry.incident_id).where(TimelineEntry.id > after_id).distinct().limit(limit)
    ).scalars()
    return sorted(set(rows))


def response_moves(session: Session, incident_id: int) -> list[tuple[datetime, str]]:
    """(when, response status reached) of each move of the response, oldest first."""
    rows = session.execute(
        select(TimelineEntry.at, TimelineEntry.data)
        .where(TimelineEntry.incident_id == incident_id, TimelineEntry.kind.in_(_RESPONSE_KINDS))
        .order_by(TimelineEntry.id)
    )
    moves = []
    for at, data in rows:
        change = ((data or {}).get("changes") or {}).get("response_status")
        if isinstance(change, dict) and change.get("to"):
            moves.append((at, str(change["to"])))
    return moves


# Kinds that can carry a response move: the response table's and the paging table's.
_RESPONSE_KINDS = sorted({*lifecycle.RESPONSE_ALLOWED.values(), *lifecycle.ALLOWED.values()})
