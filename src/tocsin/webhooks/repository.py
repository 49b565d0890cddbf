"""Every query on webhook subscriptions, their deliveries and the delivery log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, insert, select, update
from sqlalchemy.orm import Session

from tocsin.db.claims import Claim, DueRows
from tocsin.db.tables import table_of
from tocsin.incidents.models import Incident
from tocsin.services.models import Service
from tocsin.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

_DELIVERIES = table_of(WebhookDelivery)
_EARLIER = _DELIVERIES.alias("earlier")
# A delivery waits while an earlier one of the same incident to the same subscription is still pending: a
# receiver sees an incident's events in the order they happened, even across retries.
_READY = and_(
    _DELIVERIES.c.status == "pending",
    ~exists().where(
        _EARLIER.c.subscription_id == _DELIVERIES.c.subscription_id,
        _EARLIER.c.incident_id == _DELIVERIES.c.incident_id,
        _EARLIER.c.status == "pending",
        _EARLIER.c.id < _DELIVERIES.c.id,
    ),
)
DELIVERY_CLAIMS = DueRows(_DELIVERIES, due_column=_DELIVERIES.c.next_attempt_at, ready=_READY)
_INSERT_DELIVERIES = insert(_DELIVERIES)


def add_subscription(session: Session, subscription: WebhookSubscription) -> WebhookSubscription:
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, subscription_id)


def list_subscriptions(session: Session, *, enabled_only: bool = False) -> list[WebhookSubscription]:
    stmt = select(WebhookSubscription).order_by(WebhookSubscription.id)
    if enabled_only:
        stmt = stmt.where(WebhookSubscription.enabled.is_(True))
    return list(session.execute(stmt).scalars())


def delete_subscription(session: Session, subscription: WebhookSubscription) -> None:
    session.delete(subscription)
    session.flush()


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What a webhook body and the subscriptions' scopes need of an incident."""

    id: int
    number: int
    title: str
    status: str
    urgency: str
    severity: str
    priority: str
    service_id: int
    service_name: str
    team_id: int | None
    # A drill's incident (ADR 0025): receivers that count incidents leave it out.
    drill: bool
    private: bool = False


def incident_facts(session: Session, incident_ids: Iterable[int]) -> dict[int, IncidentFacts]:
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(
            Incident.id,
            Incident.number,
            Incident.title,
            Incident.status,
            Incident.urgency,
            Incident.severity,
            Incident.priority,
            Incident.service_id,
            Service.name.label("service_name"),
            Service.team_id,
            Incident.private,
            Incident.drill,
        )
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.id.in_(ids))
    )
    return {row.id: IncidentFacts(**row._asdict()) for row in rows}


def add_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(_INSERT_DELIVERIES, list(rows))


def add_delivery(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    session.add(delivery)
    session.flush()
    return delivery


def claim(session: Session, *, now: datetime, owner: str, limit: int, lease_until: datetime) -> list[Claim]:
    return DELIVERY_CLAIMS.claim(session, now=now, owner=owner, lease=lease_until - now, limit=limit)


def release_claims_of(session: Session, owner: str) -> int:
    return DELIVERY_CLAIMS.release_owned(session, owner=owner)


def next_due(session: Session) -> datetime | None:
    return DELIVERY_CLAIMS.next_due(session)


def lock_claimed(session: Session, c: Claim) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == c.id, WebhookDelivery.fence == c.fence).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def get_delivery(session: Session, delivery_id: int) -> WebhookDelivery | None:
    return session.get(WebhookDelivery, delivery_id)


def add_attempt(session: Session, attempt: WebhookAttempt) -> None:
    session.add(attempt)


def deliveries_of(
    session: Session, subscription_id: int, *, before_id: int | None, limit: int
) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if before_id is not None:
        stmt = stmt.where(WebhookDelivery.id < before_id)
    return list(session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)).scalars())


def attempts_of(session: Session, delivery_ids: Iterable[int]) -> dict[int, list[WebhookAttempt]]:
    ids = sorted(set(delivery_ids))
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.id)
        for attempt in session.execute(stmt).scalars():
            found[attempt.delivery_id].append(attempt)
    return found


def drop_pending(session: Session, subscription_id: int, reason: str) -> int:
    result = session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.subscription_id == subscription_id, _DELIVERIES.c.status == "pending")
        .values(status="dropped", next_attempt_at=None, last_error=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def prune_settled(session: Session, *, before: datetime, limit: int) -> int:
    """Forget settled deliveries (and their log) created before ``before``."""
    ids = list(
        session.execute(
            select(_DELIVERIES.c.id)
            .where(_DELIVERIES.c.status != "pending", _DELIVERIES.c.created_at < before)
            .order_by(_DELIVERIES.c.id)
            .limit(limit)
        ).scalars()
    )
    if not ids:
        return 0
    session.execute(delete(table_of(WebhookAttempt)).where(table_of(WebhookAttempt).c.delivery_id.in_(ids)))
    session.execute(delete(_DELIVERIES).where(_DELIVERIES.c.id.in_(ids)))
    return len(ids)
