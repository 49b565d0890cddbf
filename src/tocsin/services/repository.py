from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.services.models import Integration, Service


def get(session: Session, service_id: int) -> Service | None:
    return session.get(Service, service_id)


def by_name(session: Session, name: str) -> Service | None:
    return session.execute(select(Service).where(Service.name == name)).scalar_one_or_none()


def all_services(session: Session) -> list[Service]:
    return list(session.execute(select(Service).order_by(Service.name)).scalars())


def integrations_by_keys(session: Session, keys: Iterable[str]) -> dict[str, tuple[Integration, Service]]:
    rows = session.execute(
        select(Integration, Service)
        .join(Service, Service.id == Integration.service_id)
        .where(Integration.key.in_(list(keys)))
    ).all()
    return {i.key: (i, s) for i, s in rows}


def integration(session: Session, integration_id: int) -> Integration | None:
    return session.get(Integration, integration_id)


def integration_by_key(session: Session, key: str) -> Integration | None:
    return session.execute(select(Integration).where(Integration.key == key)).scalar_one_or_none()


def integrations_of(session: Session, service_id: int | None = None) -> list[Integration]:
    stmt = select(Integration).order_by(Integration.service_id, Integration.name)
    if service_id is not None:
        stmt = stmt.where(Integration.service_id == service_id)
    return list(session.execute(stmt).scalars())


def open_incident_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Incident.service_id, func.count()).where(Incident.status != "resolved").group_by(Incident.service_id)
    ).all()
    return {sid: n for sid, n in rows}


def names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return dict(session.execute(select(Service.id, Service.name).where(Service.id.in_(wanted))).all())
