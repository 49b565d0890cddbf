"""Queries for stakeholder groups, updates and deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.stakeholders.models import StakeholderDelivery, StakeholderGroup, StakeholderUpdate


def groups(session: Session) -> list[StakeholderGroup]:
    return list(session.scalars(select(StakeholderGroup).order_by(StakeholderGroup.name)))


def group(session: Session, ref: int | str) -> StakeholderGroup | None:
    if isinstance(ref, int):
        return session.get(StakeholderGroup, ref)
    return session.scalars(select(StakeholderGroup).where(StakeholderGroup.name == ref)).one_or_none()


def updates_of(session: Session, incident_id: int) -> list[StakeholderUpdate]:
    stmt = select(StakeholderUpdate).where(StakeholderUpdate.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(StakeholderUpdate.id)))


def last_update_at(session: Session, incident_ids: list[int]) -> dict[int, datetime]:
    if not incident_ids:
        return {}
    stmt = (
        select(StakeholderUpdate.incident_id, func.max(StakeholderUpdate.created_at))
        .where(StakeholderUpdate.incident_id.in_(incident_ids))
        .group_by(StakeholderUpdate.incident_id)
    )
    return {row[0]: row[1] for row in session.execute(stmt)}


def open_incidents(
    session: Session, *, type_ids: Sequence[int], severities: Sequence[str], limit: int = 1000
) -> list[Incident]:
    """Open incidents of one of these types or severities (those a cadence applies to)."""
    stmt = (
        select(Incident)
        .where(
            Incident.status != IncidentStatus.RESOLVED,
            or_(Incident.type_id.in_(type_ids), Incident.severity.in_(severities)),
        )
        .order_by(Incident.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def delivery(session: Session, delivery_id: int) -> StakeholderDelivery | None:
    return session.get(StakeholderDelivery, delivery_id)


def claim_deliveries(session: Session, limit: int) -> list[StakeholderDelivery]:
    stmt = (
        select(StakeholderDelivery)
        .where(StakeholderDelivery.status == "pending")
        .order_by(StakeholderDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def deliveries_of(session: Session, update_id: int) -> list[StakeholderDelivery]:
    stmt = select(StakeholderDelivery).where(StakeholderDelivery.update_id == update_id)
    return list(session.scalars(stmt.order_by(StakeholderDelivery.id)))


def pending_count(session: Session) -> int:
    stmt = select(func.count()).select_from(StakeholderDelivery).where(StakeholderDelivery.status == "pending")
    return int(session.scalar(stmt) or 0)
