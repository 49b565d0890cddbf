"""Every query on tracker connections, remote issues and inbound deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.db.claims import Claim, DueRows
from tocsin.db.tables import table_of
from tocsin.trackers.models import RemoteIssue, TrackerConnection, TrackerDelivery

_ISSUES = table_of(RemoteIssue)
ISSUE_CLAIMS = DueRows(_ISSUES, due_column=_ISSUES.c.next_attempt_at, ready=_ISSUES.c.status == "pending")


def add(session: Session, row: TrackerConnection | RemoteIssue) -> None:
    session.add(row)
    session.flush()


def get_connection(session: Session, connection_id: int) -> TrackerConnection | None:
    return session.get(TrackerConnection, connection_id)


def connection_named(session: Session, name: str) -> TrackerConnection | None:
    return session.execute(select(TrackerConnection).where(TrackerConnection.name == name)).scalar_one_or_none()


def list_connections(session: Session) -> list[TrackerConnection]:
    return list(session.execute(select(TrackerConnection).order_by(TrackerConnection.id)).scalars())


def delete(session: Session, row: TrackerConnection) -> None:
    session.delete(row)
    session.flush()


def issue_by_key(session: Session, idempotency_key: str) -> RemoteIssue | None:
    stmt = select(RemoteIssue).where(RemoteIssue.idempotency_key == idempotency_key)
    return session.execute(stmt).scalar_one_or_none()


def issues_of(session: Session, local_ref: str) -> list[RemoteIssue]:
    stmt = select(RemoteIssue).where(RemoteIssue.local_ref == local_ref).order_by(RemoteIssue.id.desc())
    return list(session.execute(stmt).scalars())


def issue_by_remote(session: Session, connection_id: int, remote_key: str) -> RemoteIssue | None:
    stmt = select(RemoteIssue).where(RemoteIssue.connection_id == connection_id, RemoteIssue.remote_key == remote_key)
    return session.execute(stmt).scalars().first()


def list_issues(
    session: Session, *, connection_id: int | None, status: str | None, before_id: int | None, limit: int
) -> list[RemoteIssue]:
    stmt = select(RemoteIssue)
    if connection_id is not None:
        stmt = stmt.where(RemoteIssue.connection_id == connection_id)
    if status is not None:
        stmt = stmt.where(RemoteIssue.status == status)
    if before_id is not None:
        stmt = stmt.where(RemoteIssue.id < before_id)
    return list(session.execute(stmt.order_by(RemoteIssue.id.desc()).limit(limit)).scalars())


def claim(session: Session, *, now: datetime, owner: str, lease_until: datetime, limit: int) -> list[Claim]:
    return ISSUE_CLAIMS.claim(session, now=now, owner=owner, lease=lease_until - now, limit=limit)


def release_claims_of(session: Session, owner: str) -> int:
    return ISSUE_CLAIMS.release_owned(session, owner=owner)


def next_due(session: Session) -> datetime | None:
    return ISSUE_CLAIMS.next_due(session)


def lock_claimed(session: Session, c: Claim) -> RemoteIssue | None:
    stmt = select(RemoteIssue).where(RemoteIssue.id == c.id, RemoteIssue.fence == c.fence).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def note_delivery(session: Session, connection_id: int, delivery_id: str, now: datetime) -> bool:
    """Record an inbound delivery id; False when it was seen before (a replay). Two concurrent copies agree: the
    first insert wins."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert(TrackerDelivery) if dialect == "postgresql" else sqlite_insert(TrackerDelivery)
    stmt = (
        ins.values(connection_id=connection_id, delivery_id=delivery_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
        .returning(TrackerDelivery.id)
    )
    return session.execute(stmt).first() is not None
