from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertEvent, ChangeEvent, InboundDelivery
from tocsin.db.tables import table_of

_CHUNK = 400


def open_alerts_by_key(session: Session, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Alert]:
    wanted = list(set(pairs))
    found: dict[tuple[int, str], Alert] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(Alert).where(tuple_(Alert.integration_id, Alert.dedup_key).in_(chunk), Alert.status != "resolved")
        for alert in session.execute(stmt).scalars():
            found[(alert.integration_id, alert.dedup_key)] = alert
    return found


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


def add_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table_of(AlertEvent)), list(rows))


def add_changes(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table_of(ChangeEvent)), list(rows))


def alerts_of_incident(session: Session, incident_id: int) -> list[Alert]:
    return list(session.execute(select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id)).scalars())


def search(
    session: Session, *, service_id: int | None, status: str | None, before_id: int | None, limit: int
) -> list[Alert]:
    stmt = select(Alert)
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


def event_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AlertEvent)).scalar_one())


def seen_deliveries(session: Session, pairs: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    wanted = list(set(pairs))
    found: set[tuple[int, str]] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(InboundDelivery.integration_id, InboundDelivery.delivery_id).where(
            tuple_(InboundDelivery.integration_id, InboundDelivery.delivery_id).in_(chunk)
        )
        found.update((row[0], row[1]) for row in session.execute(stmt))
    return found


def add_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(InboundDelivery), list(rows))


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
