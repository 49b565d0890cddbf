from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, delete, func, insert, inspect, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.alerts.models import Alert, AlertEvent, ChangeEvent, InboundDelivery
from tocsin.alerts.schemas import AlertStatus
from tocsin.db.tables import table_of
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.models import Incident

_CHUNK = 400

_ALERTS = table_of(Alert)
# Statements of the ingest path, built once: building and caching a statement costs more than running it.
_OPEN_ALERT_IDS = select(_ALERTS.c.id).where(
    tuple_(_ALERTS.c.integration_id, _ALERTS.c.dedup_key).in_(bindparam("pairs", expanding=True)),
    _ALERTS.c.status != "resolved",
)
_ALERTS_BY_ID = select(Alert).where(Alert.id.in_(bindparam("ids", expanding=True)))


def open_alerts_by_key(session: Session, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Alert]:
    wanted = list(set(pairs))
    ids: list[int] = []
    for start in range(0, len(wanted), _CHUNK):
        ids.extend(session.execute(_OPEN_ALERT_IDS, {"pairs": wanted[start : start + _CHUNK]}).scalars())
    # Most events of a busy batch open new alerts: the ids alone say so, and entities are loaded only when found.
    found: dict[tuple[int, str], Alert] = {}
    for start in range(0, len(ids), _CHUNK):
        for alert in session.execute(_ALERTS_BY_ID, {"ids": ids[start : start + _CHUNK]}).scalars():
            found[(alert.integration_id, alert.dedup_key)] = alert
    return found


# (attribute, column) of every stored field of an alert but its id.
_ALERT_FIELDS = [(prop.key, prop.columns[0].key) for prop in inspect(Alert).column_attrs if prop.key != "id"]
# The ORM leaves an unset suppressed_by out of its INSERT (SQL NULL); a plain JSON parameter would store JSON null.
_SUPPRESSED_BY = "suppressed_by_or_null"
_NULLABLE_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_INSERT_ALERTS = (
    insert(_ALERTS)
    .values({_ALERTS.c.suppressed_by: bindparam(_SUPPRESSED_BY, type_=_NULLABLE_JSON)})
    .returning(_ALERTS.c.id, _ALERTS.c.integration_id, _ALERTS.c.dedup_key)
)


def add_alerts(session: Session, alerts: Sequence[Alert]) -> None:
    """Insert new alerts (not in the session) as plain rows, in batched statements, and set their ids.

    The rows of a batched INSERT ... RETURNING come back in no set order on SQLite, so each is matched by its
    (integration, dedup key); a key repeats only after its earlier alert resolved, and then starts a new
    statement, so that within one statement the key is unique and the alerts are stored in the order given.
    """
    start = 0
    while start < len(alerts):
        keys: dict[tuple[int, str], Alert] = {}
        end = start
        while end < len(alerts) and (alerts[end].integration_id, alerts[end].dedup_key) not in keys:
            keys[(alerts[end].integration_id, alerts[end].dedup_key)] = alerts[end]
            end += 1
        rows = []
        for alert in alerts[start:end]:
            row = {column: getattr(alert, attr) for attr, column in _ALERT_FIELDS}
            row[_SUPPRESSED_BY] = row.pop("suppressed_by")
            rows.append(row)
        for alert_id, integration_id, dedup_key in session.execute(_INSERT_ALERTS, rows):
            keys[(integration_id, dedup_key)].id = alert_id
        start = end


def other_open_alerts(session: Session, incident_id: int, excluding: Sequence[int]) -> int:
    stmt = select(func.count()).where(
        Alert.incident_id == incident_id, Alert.status != "resolved", Alert.id.not_in(list(excluding))
    )
    return int(session.execute(stmt).scalar_one())


def resolve_open_alerts_of(session: Session, incident_id: int, now: datetime) -> None:
    session.execute(
        update(Alert)
        .where(Alert.incident_id == incident_id, Alert.status != "resolved")
        .values(status="resolved", resolved_at=now)
        .execution_options(synchronize_session="fetch")
    )


_ADD_EVENTS = insert(table_of(AlertEvent))
_ADD_CHANGES = insert(table_of(ChangeEvent))


def add_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(_ADD_EVENTS, list(rows))


def add_changes(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(_ADD_CHANGES, list(rows))


def alerts_of_incident(session: Session, incident_id: int) -> list[Alert]:
    return list(session.execute(select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id)).scalars())


def search(
    session: Session,
    *,
    service_id: int | None,
    status: AlertStatus | None,
    before_id: int | None,
    limit: int,
    service_ids: Collection[int] | None = None,
    viewer: Viewer | None = None,
) -> list[Alert]:
    stmt = select(Alert)
    if viewer is not None and not viewer.is_admin:
        # Alerts of private incidents the viewer may not read are not listed (ADR 0022); team scope is above.
        readable = select(Incident.id).where(incident_repo.visible_clause(viewer, see_all=True))
        stmt = stmt.where(or_(Alert.incident_id.is_(None), Alert.incident_id.in_(readable)))
    if service_ids is not None:
        stmt = stmt.where(Alert.service_id.in_(list(service_ids)))
    if service_id is not None:
        stmt = stmt.where(Alert.service_id == service_id)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if before_id is not None:
        stmt = stmt.where(Alert.id < before_id)
    return list(session.execute(stmt.order_by(Alert.id.desc()).limit(limit)).scalars())


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def changes_of_service(session: Session, service_id: int, limit: int = 100) -> list[ChangeEvent]:
    stmt = (
        select(ChangeEvent)
        .where(ChangeEvent.service_id == service_id)
        .order_by(ChangeEvent.occurred_at.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def count_of_service(session: Session, service_id: int) -> int:
    return int(
        session.execute(select(func.count()).select_from(Alert).where(Alert.service_id == service_id)).scalar_one()
    )


def count_of_integration(session: Session, integration_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(Alert).where(Alert.integration_id == integration_id)
        ).scalar_one()
    )


def event_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AlertEvent)).scalar_one())


_DELIVERIES = table_of(InboundDelivery)
_SEEN_DELIVERIES = select(_DELIVERIES.c.integration_id, _DELIVERIES.c.delivery_id).where(
    tuple_(_DELIVERIES.c.integration_id, _DELIVERIES.c.delivery_id).in_(bindparam("pairs", expanding=True))
)
_ADD_DELIVERIES = insert(_DELIVERIES)


def seen_deliveries(session: Session, pairs: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    wanted = list(set(pairs))
    found: set[tuple[int, str]] = set()
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(_SEEN_DELIVERIES, {"pairs": wanted[start : start + _CHUNK]})
        found.update((row[0], row[1]) for row in rows)
    return found


def add_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(_ADD_DELIVERIES, list(rows))


def delete_deliveries_before(session: Session, before: datetime, limit: int) -> int:
    ids = list(
        session.execute(
            select(InboundDelivery.id)
            .where(InboundDelivery.received_at < before)
            .order_by(InboundDelivery.id)
            .limit(limit)
        ).scalars()
    )
    if ids:
        session.execute(delete(InboundDelivery).where(InboundDelivery.id.in_(ids)))
    return len(ids)
