from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.heartbeats.models import HeartbeatMonitor
from tocsin.services.models import Integration

# A monitor outlives a change of its integration's type; only heartbeat integrations are watched.
HEARTBEAT = "heartbeat"


def monitor_of(session: Session, integration_id: int, *, for_update: bool = False) -> HeartbeatMonitor | None:
    stmt = select(HeartbeatMonitor).where(HeartbeatMonitor.integration_id == integration_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def monitors_of(session: Session, integration_ids: list[int]) -> dict[int, HeartbeatMonitor]:
    if not integration_ids:
        return {}
    stmt = select(HeartbeatMonitor).where(HeartbeatMonitor.integration_id.in_(integration_ids))
    return {m.integration_id: m for m in session.execute(stmt).scalars()}


def due_monitors(session: Session, now: datetime, limit: int) -> list[tuple[HeartbeatMonitor, Integration]]:
    """Watched monitors whose deadline has passed, locked; another worker skips the ones this one holds."""
    stmt = (
        select(HeartbeatMonitor, Integration)
        .join(Integration, Integration.id == HeartbeatMonitor.integration_id)
        .where(HeartbeatMonitor.status == "up", HeartbeatMonitor.due_at <= now, Integration.type == HEARTBEAT)
        .order_by(HeartbeatMonitor.due_at)
        .limit(limit)
        .with_for_update(of=HeartbeatMonitor, skip_locked=True)
    )
    return [(row[0], row[1]) for row in session.execute(stmt)]


def next_due(session: Session) -> datetime | None:
    stmt = (
        select(func.min(HeartbeatMonitor.due_at))
        .join(Integration, Integration.id == HeartbeatMonitor.integration_id)
        .where(HeartbeatMonitor.status == "up", Integration.type == HEARTBEAT)
    )
    return session.execute(stmt).scalar_one_or_none()
