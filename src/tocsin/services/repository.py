from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from tocsin.db.tables import table_of
from tocsin.services.models import Integration, Service, TierCost


@dataclass(frozen=True, slots=True)
class IntegrationFacts:
    """What ingestion reads of an integration, as plain values."""

    id: int
    service_id: int
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What ingestion reads of a service, as plain values."""

    id: int
    urgency: str
    auto_resolve: bool
    tier: int | None

    @staticmethod
    def of(service: Service) -> ServiceFacts:
        return ServiceFacts(
            id=service.id, urgency=service.urgency, auto_resolve=service.auto_resolve, tier=service.tier
        )


def get(session: Session, service_id: int) -> Service | None:
    return session.get(Service, service_id)


def by_name(session: Session, name: str) -> Service | None:
    return session.execute(select(Service).where(Service.name == name)).scalar_one_or_none()


def all_services(session: Session, *, include_archived: bool = True) -> list[Service]:
    stmt = select(Service).order_by(Service.name)
    if not include_archived:
        stmt = stmt.where(Service.archived_at.is_(None))
    return list(session.execute(stmt).scalars())


_INTEGRATIONS = table_of(Integration)
_SERVICES = table_of(Service)
# Plain rows of a statement built once: each ingest batch runs it, and ORM entities would cost several times more.
_INTEGRATIONS_BY_KEYS = (
    select(
        _INTEGRATIONS.c.key,
        _INTEGRATIONS.c.id,
        _INTEGRATIONS.c.name,
        _INTEGRATIONS.c.type,
        _SERVICES.c.id,
        _SERVICES.c.urgency,
        _SERVICES.c.auto_resolve,
        _SERVICES.c.tier,
    )
    .join(_SERVICES, _SERVICES.c.id == _INTEGRATIONS.c.service_id)
    .where(
        _INTEGRATIONS.c.key.in_(bindparam("keys", expanding=True)),
        # Archived integrations and services answer as unknown keys, at no extra query.
        _INTEGRATIONS.c.archived_at.is_(None),
        _SERVICES.c.archived_at.is_(None),
    )
)


def integrations_by_keys(session: Session, keys: Iterable[str]) -> dict[str, tuple[IntegrationFacts, ServiceFacts]]:
    found: dict[str, tuple[IntegrationFacts, ServiceFacts]] = {}
    for key, iid, name, type_, sid, urgency, auto_resolve, tier in session.execute(
        _INTEGRATIONS_BY_KEYS, {"keys": list(keys)}
    ):
        found[key] = (
            IntegrationFacts(id=iid, service_id=sid, name=name, type=type_),
            ServiceFacts(id=sid, urgency=urgency, auto_resolve=auto_resolve, tier=tier),
        )
    return found


def integration(session: Session, integration_id: int) -> Integration | None:
    return session.get(Integration, integration_id)


def integration_by_key(session: Session, key: str) -> Integration | None:
    return session.execute(select(Integration).where(Integration.key == key)).scalar_one_or_none()


def live_integration_by_key(session: Session, key: str) -> Integration | None:
    """The integration with this key if neither it nor its service is archived: the one events may reach."""
    return session.execute(
        select(Integration)
        .join(Service, Service.id == Integration.service_id)
        .where(Integration.key == key, Integration.archived_at.is_(None), Service.archived_at.is_(None))
    ).scalar_one_or_none()


def tie_sns_topic(session: Session, integration_id: int, topic_arn: str) -> None:
    """Record the topic unless one already is (another request may have got there first)."""
    session.execute(
        update(Integration)
        .where(Integration.id == integration_id, Integration.sns_topic_arn.is_(None))
        .values(sns_topic_arn=topic_arn)
        .execution_options(synchronize_session=False)
    )


def integrations_of(
    session: Session, service_id: int | None = None, *, include_archived: bool = True
) -> list[Integration]:
    stmt = select(Integration).order_by(Integration.service_id, Integration.name)
    if service_id is not None:
        stmt = stmt.where(Integration.service_id == service_id)
    if not include_archived:
        stmt = stmt.where(Integration.archived_at.is_(None))
    return list(session.execute(stmt).scalars())


_NAMES = select(_SERVICES.c.id, _SERVICES.c.name).where(_SERVICES.c.id.in_(bindparam("ids", expanding=True)))


def names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row[0]: row[1] for row in session.execute(_NAMES, {"ids": wanted})}


def tier_costs(session: Session) -> list[TierCost]:
    return list(session.scalars(select(TierCost).order_by(TierCost.tier)))


def put_tier_cost(session: Session, tier: int, cost: float | None, *, now: datetime) -> None:
    row = session.get(TierCost, tier)
    if cost is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(TierCost(tier=tier, cost_per_minute=cost, updated_at=now))
    else:
        row.cost_per_minute, row.updated_at = cost, now
    session.flush()
