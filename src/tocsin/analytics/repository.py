"""Every query of the analytics: one statement per figure family, durations computed by the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, case, func, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.analytics.models import FACT_DURATIONS, TIMED_STATUSES, AnalyticsSettings, DigestRun, IncidentFacts
from tocsin.analytics.sql import between, epoch
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.lifecycle import ResponseStatus
from tocsin.incidents.models import Incident, TimelineEntry, counted
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify.models import Notification
from tocsin.oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.services.models import Service

# Ended without a response of their own: folded into another incident, or called off.
EXCLUDED_RESPONSES = (ResponseStatus.MERGED, ResponseStatus.CANCELED)
# Timeline kinds the per-incident counts read; kept to few so the scan stays narrow.
COUNTED_KINDS = (TimelineKind.ESCALATED, TimelineKind.REOPENED, TimelineKind.STAKEHOLDER_UPDATE, TimelineKind.RESOLVED)


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One counted incident of a period with its durations in seconds (None when the later moment is unset)."""

    id: int
    number: int
    title: str
    created: float
    service_id: int
    team_id: int | None
    type_id: int | None
    severity: str
    priority: str
    category: str
    assigned_user_id: int | None
    ack: float | None
    mitigate: float | None
    resolve: float | None
    detect: float | None
    downtime: float | None
    cost: float | None
    # The incident's facts (analytics.facts): ``known`` when a trusted one was read or computed.
    known: bool
    escalations: int
    reopened: int
    first_update: float | None
    auto_resolved: bool | None
    phase_model: str
    seconds: tuple[float | None, ...]
    open_status: str | None
    open_since: float | None


# The facts' seconds in each timed response status, and their durations, in models' orders.
STATUS_COLUMNS: Final = tuple(getattr(IncidentFacts, f"in_{status}") for status in TIMED_STATUSES)
_FACT_DURATIONS: Final = tuple(getattr(IncidentFacts, name) for name in FACT_DURATIONS)
# The ids of incidents given to one IN (...) list; far below every dialect's limit on bound parameters.
_CHUNK: Final = 500


def duration_columns() -> list[ColumnElement[float]]:
    """An incident's creation (seconds since the epoch) and its durations in seconds, as the database computes
    them: acknowledge, mitigate, resolve, detect, downtime."""
    return [
        epoch(Incident.created_at),
        between(Incident.created_at, Incident.acknowledged_at),
        between(Incident.created_at, Incident.mitigated_at),
        between(Incident.created_at, Incident.resolved_at),
        between(
            func.coalesce(Incident.impact_started_at, _first_alert()),
            func.coalesce(Incident.detected_at, Incident.created_at),
        ),
        between(
            func.coalesce(Incident.impact_started_at, Incident.created_at),
            func.coalesce(Incident.impact_ended_at, Incident.resolved_at),
        ),
    ]


def durations(session: Session, scope: Sequence[ColumnElement[bool]]) -> dict[int, tuple[float | None, ...]]:
    """Per incident in scope: creation and durations (duration_columns), computed from the incident."""
    stmt = select(Incident.id, *duration_columns()).join(Service, Service.id == Incident.service_id).where(*scope)
    return {int(r[0]): tuple(r[1:]) for r in session.connection().execute(stmt)}


def stamps(session: Session, incident_ids: Sequence[int]) -> dict[int, datetime]:
    """Each existing incident's ``updated_at``: the stamp its facts are written with."""
    ids = sorted(set(incident_ids))
    found: dict[int, datetime] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        found.update(session.execute(select(Incident.id, Incident.updated_at).where(Incident.id.in_(chunk))).all())
    return found


def incidents_without_facts(session: Session, limit: int) -> list[int]:
    """Up to ``limit`` incidents that have no facts yet, oldest first."""
    stmt = (
        select(Incident.id)
        .outerjoin(IncidentFacts, IncidentFacts.incident_id == Incident.id)
        .where(IncidentFacts.incident_id.is_(None))
        .order_by(Incident.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def upsert_facts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace, in incident order: the consumer and the backfill (on any number of engines) may write the
    same incident at once. A row computed from an older incident never replaces one from a newer."""
    if not rows:
        return
    insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(IncidentFacts)
    table = IncidentFacts.__table__
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.incident_id],
            set_={name: insert.excluded[name] for name in rows[0] if name != "incident_id"},
            where=table.c.stamp <= insert.excluded.stamp,
        ),
        sorted(rows, key=lambda r: int(r["incident_id"])),
    )


def counted_incidents() -> ColumnElement[bool]:
    """Drills, merged and canceled incidents never count in a metric."""
    return counted() & Incident.response_status.not_in(EXCLUDED_RESPONSES)


def incident_rows(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    visible: ColumnElement[bool] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    include_all: bool = False,
) -> list[IncidentRow]:
    """Counted incidents created in [since, until) with their durations and trusted facts, oldest first."""
    # A trusted fact holds the durations already: the database computes them only for incidents without one
    # (COALESCE stops at its first value; a NULL duration of a fact is computed again, and is NULL again).
    computed = duration_columns()
    stmt = (
        select(
            Incident.id,
            Incident.number,
            Incident.title,
            func.coalesce(IncidentFacts.created, computed[0]),
            Incident.service_id,
            Service.team_id,
            Incident.type_id,
            Incident.severity,
            Incident.priority,
            Incident.category,
            Incident.assigned_user_id,
            *(func.coalesce(f, c) for f, c in zip(_FACT_DURATIONS[1:], computed[1:], strict=True)),
            Incident.downtime_cost,
            IncidentFacts.incident_id,
            IncidentFacts.escalations,
            IncidentFacts.reopened,
            IncidentFacts.first_update,
            IncidentFacts.auto_resolved,
            IncidentFacts.phase_model,
            *STATUS_COLUMNS,
            IncidentFacts.open_status,
            IncidentFacts.open_since,
        )
        .join(Service, Service.id == Incident.service_id)
        .outerjoin(
            IncidentFacts,
            (IncidentFacts.incident_id == Incident.id) & (IncidentFacts.stamp == Incident.updated_at),
        )
        .where(
            Incident.created_at >= since,
            Incident.created_at < until,
            true() if include_all else counted_incidents(),
            visible if visible is not None else true(),
            *where,
        )
        .order_by(Incident.created_at, Incident.id)
    )
    # Core execution: plain tuples of numbers and names, without the ORM's per-row work.
    return [_incident_row(tuple(row)) for row in session.connection().execute(stmt)]


def period_scope(
    since: datetime,
    until: datetime,
    *,
    visible: ColumnElement[bool] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[ColumnElement[bool]]:
    """The counted incidents created in [since, until) that the viewer sees and the filters keep."""
    return [
        Incident.created_at >= since,
        Incident.created_at < until,
        counted_incidents(),
        visible if visible is not None else true(),
        *where,
    ]


def response_moves(session: Session, scope: Sequence[ColumnElement[bool]]) -> list[Row[Any]]:
    """(incident id, phase model, created at, entry time, entry data) of the timeline entries that may move the
    response of the incidents in scope, by incident and oldest first; an incident without any appears once, with
    no entry."""
    stmt = (
        select(Incident.id, Incident.phase_model, Incident.created_at, TimelineEntry.at, TimelineEntry.data)
        .join(Service, Service.id == Incident.service_id)
        .outerjoin(
            TimelineEntry,
            (TimelineEntry.incident_id == Incident.id) & TimelineEntry.kind.in_(incident_repo.RESPONSE_KINDS),
        )
        .where(*scope)
        .order_by(Incident.id, TimelineEntry.id)
    )
    return list(session.execute(stmt).all())


def _incident_row(v: tuple[Any, ...]) -> IncidentRow:
    fact = [
        v[17] is not None,
        v[18] or 0,
        v[19] or 0,
        v[20],
        None if v[21] is None else bool(v[21]),
        v[22] or "default",
        v[23:29],
        v[29],
        v[30],
    ]
    return IncidentRow(*v[:17], *fact)


def _first_alert() -> Any:
    return select(func.min(Alert.created_at)).where(Alert.incident_id == Incident.id).scalar_subquery()


def timeline_counts(session: Session, scope: Sequence[ColumnElement[bool]]) -> list[Row[Any]]:
    """(incident id, escalations, reopenings, seconds to the first stakeholder update, resolved by nobody) of
    the incidents in scope that have any of them."""
    stmt = (
        select(
            TimelineEntry.incident_id,
            func.sum(case((TimelineEntry.kind == TimelineKind.ESCALATED, 1), else_=0)),
            func.sum(case((TimelineEntry.kind == TimelineKind.REOPENED, 1), else_=0)),
            func.min(
                case(
                    (
                        TimelineEntry.kind == TimelineKind.STAKEHOLDER_UPDATE,
                        between(Incident.created_at, TimelineEntry.at),
                    ),
                    else_=None,
                )
            ),
            # The last resolution decides: resolved by no person (an alert clearing, the engine) is automatic.
            func.max(
                case(
                    (
                        TimelineEntry.kind == TimelineKind.RESOLVED,
                        TimelineEntry.id * 2 + case((TimelineEntry.actor_user_id.is_(None), 1), else_=0),
                    ),
                    else_=None,
                )
            ),
        )
        .join(Incident, Incident.id == TimelineEntry.incident_id)
        .join(Service, Service.id == Incident.service_id)
        .where(*scope, TimelineEntry.kind.in_(COUNTED_KINDS))
        .group_by(TimelineEntry.incident_id)
    )
    return list(session.connection().execute(stmt))


@dataclass(frozen=True, slots=True)
class PageRow:
    user_id: int
    incident_id: int | None
    at: float
    pages: int


def first_pages(session: Session, user_ids: Iterable[int], since: datetime, until: datetime) -> list[PageRow]:
    """Per person and incident: when the first page reached them (sent, else queued) and how many pages."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    stmt = (
        select(
            Notification.user_id,
            Notification.incident_id,
            func.min(epoch(func.coalesce(Notification.sent_at, Notification.created_at))),
            func.count(),
        )
        .where(
            Notification.user_id.in_(ids),
            Notification.created_at >= since,
            Notification.created_at < until,
            Notification.kind == "page",
            Notification.status.in_(("sent", "bundled", "ambiguous")),
        )
        .group_by(Notification.user_id, Notification.incident_id)
    )
    return [PageRow(*row) for row in session.connection().execute(stmt)]


def handled_counts(session: Session, user_ids: Iterable[int], since: datetime, until: datetime) -> dict[int, int]:
    """Counted incidents created in the period that each person owns (acknowledging one unowned takes it)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    stmt = (
        select(Incident.assigned_user_id, func.count())
        .where(
            Incident.assigned_user_id.in_(ids),
            Incident.created_at >= since,
            Incident.created_at < until,
            counted_incidents(),
        )
        .group_by(Incident.assigned_user_id)
    )
    return {int(uid): int(n) for uid, n in session.execute(stmt) if uid is not None}


def settings(session: Session) -> AnalyticsSettings | None:
    return session.get(AnalyticsSettings, 1)


def digest_run(session: Session, week: str) -> DigestRun | None:
    return session.execute(select(DigestRun).where(DigestRun.week == week)).scalar_one_or_none()


def last_digest_run(session: Session) -> DigestRun | None:
    return session.execute(select(DigestRun).order_by(DigestRun.sent_at.desc()).limit(1)).scalar_one_or_none()


def schedules_naming(session: Session, user_ids: Iterable[int], since: datetime, until: datetime) -> set[int]:
    """Live schedules whose layers or overrides in the period name one of these people: the only ones whose
    shifts a person's hours on call need."""
    wanted = set(user_ids)
    found = set()
    layers = select(ScheduleLayer.schedule_id, ScheduleLayer.user_ids).join(
        Schedule, Schedule.id == ScheduleLayer.schedule_id
    )
    for schedule_id, users in session.execute(layers.where(Schedule.archived_at.is_(None))):
        if wanted.intersection(int(u) for u in users or ()):
            found.add(int(schedule_id))
    overrides = (
        select(ScheduleOverride.schedule_id)
        .join(Schedule, Schedule.id == ScheduleOverride.schedule_id)
        .where(
            Schedule.archived_at.is_(None),
            ScheduleOverride.user_id.in_(sorted(wanted)),
            ScheduleOverride.end > since,
            ScheduleOverride.start < until,
        )
        .distinct()
    )
    found.update(int(sid) for sid in session.execute(overrides).scalars())
    return found
