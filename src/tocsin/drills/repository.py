"""Every drill query lives here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.drills.models import DrillRun, DrillScenario
from tocsin.incidents.models import TimelineEntry
from tocsin.notify.models import ContactMethod, Notification
from tocsin.services.models import Integration


def scenarios(session: Session) -> list[DrillScenario]:
    return list(session.scalars(select(DrillScenario).order_by(DrillScenario.name)))


def scenario(session: Session, ref: int | str) -> DrillScenario | None:
    if isinstance(ref, int):
        return session.get(DrillScenario, ref)
    return session.scalars(select(DrillScenario).where(DrillScenario.name == ref)).one_or_none()


def add(session: Session, row: DrillScenario | DrillRun) -> None:
    session.add(row)
    session.flush()


def delete(session: Session, row: DrillScenario) -> None:
    session.delete(row)
    session.flush()


def runs(session: Session, limit: int = 100) -> list[DrillRun]:
    return list(session.scalars(select(DrillRun).order_by(DrillRun.id.desc()).limit(limit)))


def run(session: Session, run_id: int, *, for_update: bool = False) -> DrillRun | None:
    stmt = select(DrillRun).where(DrillRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def open_run_of_incident(session: Session, incident_id: int) -> DrillRun | None:
    stmt = select(DrillRun).where(DrillRun.incident_id == incident_id, DrillRun.ended_at.is_(None))
    return session.scalars(stmt.with_for_update()).first()


def run_of_incident(session: Session, incident_id: int) -> DrillRun | None:
    stmt = select(DrillRun).where(DrillRun.incident_id == incident_id).order_by(DrillRun.id.desc())
    return session.scalars(stmt).first()


def entry_integration(session: Session, service_id: int) -> Integration | None:
    """The integration a drill's event comes in through: the service's oldest one still taking events."""
    stmt = (
        select(Integration)
        .where(Integration.service_id == service_id, Integration.archived_at.is_(None))
        .order_by(Integration.id)
    )
    return session.scalars(stmt).first()


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id).order_by(TimelineEntry.id)
    return list(session.scalars(stmt))


def pages(session: Session, incident_id: int) -> list[tuple[Notification, str]]:
    """The incident's pages with the type of contact method each went to, oldest first."""
    stmt = (
        select(Notification, ContactMethod.type)
        .join(ContactMethod, ContactMethod.id == Notification.contact_method_id)
        .where(Notification.incident_id == incident_id, Notification.kind == "page")
        .order_by(Notification.created_at, Notification.id)
    )
    return [(n, t) for n, t in session.execute(stmt).all()]
