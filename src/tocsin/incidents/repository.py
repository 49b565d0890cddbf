"""Every incident query lives here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, exists, false, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.db.tables import table_of
from tocsin.events import repository as event_repo
from tocsin.events.rows import rows_of
from tocsin.incidents import lifecycle
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import (
    AffectedService,
    Counter,
    Incident,
    IncidentCategory,
    IncidentParticipant,
    SeverityLevel,
    TimelineEntry,
    counted,
)
from tocsin.incidents.participants import SOURCES
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
    type_id: int | None = None
    # False for an incident of a type that does not page (ADR 0021): escalation is not armed for it.
    pages: bool = True


def add_incidents(session: Session, rows: Sequence[dict[str, Any]]) -> list[OpenedIncident]:
    """Insert in one batched statement; returns the incidents in the order given (each row holds its number)."""
    if not rows:
        return []
    ids = {number: incident_id for incident_id, number in session.execute(_INSERT_INCIDENTS, list(rows))}
    return [
        OpenedIncident(ids[r["number"]], r["number"], r["service_id"], r["urgency"], r.get("type_id")) for r in rows
    ]


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
    private: bool = False
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
    if flt.affecting:
        affected = select(AffectedService.incident_id).where(AffectedService.service_id.in_(flt.affecting))
        stmt = stmt.where(Incident.service_id.in_(flt.affecting) | Incident.id.in_(affected))
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
    if flt.viewer is not None:
        stmt = stmt.where(visible_clause(flt.viewer, see_all=flt.see_all))
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


def open_counts_by_service(session: Session, viewer: Viewer | None = None) -> dict[int, int]:
    stmt = select(Incident.service_id, func.count()).where(Incident.status != IncidentStatus.RESOLVED, counted())
    if viewer is not None:
        # Counted as listed: private incidents the viewer may not see are not counted (team scope is the caller's).
        stmt = stmt.where(visible_clause(viewer, see_all=True))
    rows = session.execute(stmt.group_by(Incident.service_id)).all()
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
        reached = response_move_of(data)
        if reached is not None:
            moves.append((at, reached))
    return moves


# Kinds that can carry a response move: the response table's and the paging table's.
RESPONSE_KINDS = sorted({*lifecycle.RESPONSE_ALLOWED.values(), *lifecycle.ALLOWED.values()})
_RESPONSE_KINDS = RESPONSE_KINDS


def response_move_of(data: dict[str, Any] | None) -> str | None:
    """The response status a timeline entry's data says was reached, if it records a move of the response."""
    change = ((data or {}).get("changes") or {}).get("response_status")
    return str(change["to"]) if isinstance(change, dict) and change.get("to") else None


# Private incidents (ADR 0022): the one SQL clause every list and count of incidents for a viewer uses.


def _participant_clauses(user_id: int) -> list[ColumnElement[bool]]:
    """The viewer takes part in the incident: created it, owns it, or has a row in a registered source."""
    clauses: list[ColumnElement[bool]] = [Incident.created_by_user_id == user_id, Incident.assigned_user_id == user_id]
    for source in SOURCES.items:
        clauses.append(exists().where(source.incident_id == Incident.id, source.user_id == user_id))
    return clauses


def visible_clause(viewer: Viewer, *, see_all: bool) -> ColumnElement[bool]:
    """Incidents this viewer reads: admins all; a public incident by its service's team (unless ``see_all``); a
    private one only by its participants and the members of its private team, whatever the service's team."""
    if viewer.is_admin:
        return true()
    if see_all:
        public: ColumnElement[bool] = true()
    else:
        teams = sorted(viewer.teams)
        public = Incident.service_id.in_(
            select(Service.id).where(or_(Service.team_id.is_(None), Service.team_id.in_(teams)))
        )
    private_team = Incident.private_team_id.in_(sorted(viewer.teams)) if viewer.teams else false()
    return or_(
        (Incident.private == false()) & public,
        (Incident.private == true()) & or_(private_team, *_participant_clauses(viewer.user_id)),
    )


def visible_ids(session: Session, ids: Sequence[int], viewer: Viewer, *, see_all: bool) -> list[int]:
    """Of these incident ids, those the viewer reads (in ascending order)."""
    if not ids:
        return []
    stmt = select(Incident.id).where(Incident.id.in_(sorted(set(ids))), visible_clause(viewer, see_all=see_all))
    return sorted(session.execute(stmt).scalars())


def is_participant(session: Session, incident: Incident, user_id: int) -> bool:
    if user_id in (incident.created_by_user_id, incident.assigned_user_id):
        return True
    clauses = [exists().where(s.incident_id == incident.id, s.user_id == user_id) for s in SOURCES.items]
    return bool(clauses) and bool(session.execute(select(or_(*clauses))).scalar())


def participant_ids(session: Session, incident: Incident) -> set[int]:
    """Everyone taking part in the incident, from every registered source."""
    found = {u for u in (incident.created_by_user_id, incident.assigned_user_id) if u is not None}
    for source in SOURCES.items:
        rows = session.execute(
            select(source.user_id).where(source.incident_id == incident.id, source.user_id.is_not(None)).distinct()
        ).scalars()
        found.update(int(u) for u in rows)
    return found


def added_participants(session: Session, incident_id: int) -> list[IncidentParticipant]:
    stmt = select(IncidentParticipant).where(IncidentParticipant.incident_id == incident_id)
    return list(session.execute(stmt.order_by(IncidentParticipant.id)).scalars())


def get_added_participant(session: Session, incident_id: int, user_id: int) -> IncidentParticipant | None:
    stmt = select(IncidentParticipant).where(
        IncidentParticipant.incident_id == incident_id, IncidentParticipant.user_id == user_id
    )
    return session.execute(stmt).scalar_one_or_none()


def add_participant(session: Session, row: IncidentParticipant) -> IncidentParticipant:
    session.add(row)
    session.flush()
    return row


def remove_participant(session: Session, incident_id: int, user_id: int) -> None:
    session.execute(
        delete(IncidentParticipant).where(
            IncidentParticipant.incident_id == incident_id, IncidentParticipant.user_id == user_id
        )
    )


def affected_services(session: Session, incident_id: int) -> list[AffectedService]:
    stmt = select(AffectedService).where(AffectedService.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(AffectedService.added_at, AffectedService.service_id)))


def affected_service(session: Session, incident_id: int, service_id: int) -> AffectedService | None:
    return session.get(AffectedService, (incident_id, service_id))


def affected_of(session: Session, incident_ids: Sequence[int]) -> list[AffectedService]:
    if not incident_ids:
        return []
    stmt = select(AffectedService).where(AffectedService.incident_id.in_(incident_ids))
    return list(session.scalars(stmt.order_by(AffectedService.added_at, AffectedService.service_id)))


def count_affecting(session: Session, service_id: int) -> int:
    stmt = select(func.count()).select_from(AffectedService).where(AffectedService.service_id == service_id)
    return int(session.scalar(stmt) or 0)


# --- severities and categories (taxonomy) ----------------------------------------------------------------------


def severity(session: Session, name: str) -> SeverityLevel | None:
    return session.scalars(select(SeverityLevel).where(SeverityLevel.name == name)).one_or_none()


def severities(session: Session) -> list[SeverityLevel]:
    return list(session.scalars(select(SeverityLevel).order_by(SeverityLevel.position, SeverityLevel.name)))


def category(session: Session, name: str) -> IncidentCategory | None:
    return session.scalars(select(IncidentCategory).where(IncidentCategory.name == name)).one_or_none()


def categories(session: Session) -> list[IncidentCategory]:
    return list(session.scalars(select(IncidentCategory).order_by(IncidentCategory.name)))


def count_with(session: Session, *, severity: str | None = None, category: str | None = None) -> int:
    stmt = select(func.count()).select_from(Incident)
    if severity is not None:
        stmt = stmt.where(Incident.severity == severity)
    if category is not None:
        stmt = stmt.where(Incident.category == category)
    return int(session.scalar(stmt) or 0)
