"""Every status page query lives here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.db.tables import table_of
from tocsin.statuspages.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Delivery,
    DeliveryStatus,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageIncident,
    PageIncidentLink,
    PageIncidentUpdate,
    Proposal,
    ProposalStatus,
    StatusPage,
    Subscriber,
    SubscribeWindow,
    UpdateStatus,
)

# The rows that belong to one page, looked up by id.
OnPage = TypeVar("OnPage", Component, ComponentGroup, PageIncident, Maintenance, Subscriber, Proposal)


def page_by_id(session: Session, page_id: int) -> StatusPage | None:
    return session.get(StatusPage, page_id)


def subscriber_by_id(session: Session, subscriber_id: int) -> Subscriber | None:
    return session.get(Subscriber, subscriber_id)


def subscribers_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Subscriber]:
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Subscriber).where(Subscriber.id.in_(sorted(set(ids)))))}


def reset_failures(session: Session, subscriber_ids: Sequence[int]) -> None:
    if subscriber_ids:
        session.execute(
            update(Subscriber)
            .where(Subscriber.id.in_(sorted(set(subscriber_ids))), Subscriber.failures != 0)
            .values(failures=0),
            execution_options={"synchronize_session": False},
        )


def deliveries_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Delivery]:
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(sorted(set(ids)))))}


def delivery_by_id(session: Session, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)


def on_page(session: Session, model: type[OnPage], ident: int | None, page_id: int) -> OnPage | None:
    """The row of that id if it belongs to the page (another page's row is as good as none)."""
    row = session.get(model, ident) if ident is not None else None
    return row if row is not None and row.page_id == page_id else None


def pages(session: Session) -> list[StatusPage]:
    return list(session.scalars(select(StatusPage).order_by(StatusPage.name, StatusPage.id)))


def page_by_slug(session: Session, slug: str) -> StatusPage | None:
    return session.scalars(select(StatusPage).where(StatusPage.slug == slug)).one_or_none()


def page_domains(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(StatusPage.custom_domain, StatusPage.slug).where(StatusPage.custom_domain.is_not(None))
    )
    return {d: s for d, s in rows if d}


def components(session: Session, page_id: int) -> list[Component]:
    stmt = select(Component).where(Component.page_id == page_id).order_by(Component.position, Component.id)
    return list(session.scalars(stmt))


def components_of_pages(session: Session, page_ids: Sequence[int]) -> dict[int, list[Component]]:
    """Each page's components, in one query."""
    found: dict[int, list[Component]] = {page_id: [] for page_id in page_ids}
    if not page_ids:
        return found
    stmt = select(Component).where(Component.page_id.in_(list(page_ids))).order_by(Component.position, Component.id)
    for row in session.scalars(stmt):
        found[row.page_id].append(row)
    return found


def components_by_ids(session: Session, ids: Sequence[int]) -> list[Component]:
    if not ids:
        return []
    return list(session.scalars(select(Component).where(Component.id.in_(list(ids))).order_by(Component.position)))


def groups(session: Session, page_id: int) -> list[ComponentGroup]:
    stmt = select(ComponentGroup).where(ComponentGroup.page_id == page_id)
    return list(session.scalars(stmt.order_by(ComponentGroup.position, ComponentGroup.id)))


def history(session: Session, component_ids: Sequence[int], since: datetime) -> dict[int, list[ComponentStatusChange]]:
    """Each component's changes from the last one before ``since`` on, in time order."""
    found: dict[int, list[ComponentStatusChange]] = {i: [] for i in component_ids}
    if not component_ids:
        return found
    before = (
        select(ComponentStatusChange.component_id, func.max(ComponentStatusChange.at).label("at"))
        .where(ComponentStatusChange.component_id.in_(list(component_ids)), ComponentStatusChange.at <= since)
        .group_by(ComponentStatusChange.component_id)
        .subquery()
    )
    starts = {cid: at for cid, at in session.execute(select(before.c.component_id, before.c.at))}
    stmt = (
        select(ComponentStatusChange)
        .where(ComponentStatusChange.component_id.in_(list(component_ids)))
        .order_by(ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.id)
    )
    for row in session.scalars(stmt):
        start = starts.get(row.component_id)
        if start is not None and row.at < start:
            continue
        found[row.component_id].append(row)
    return found


def incidents(session: Session, page_id: int, *, unresolved_only: bool = False, limit: int = 50) -> list[PageIncident]:
    stmt = select(PageIncident).where(PageIncident.page_id == page_id)
    if unresolved_only:
        stmt = stmt.where(PageIncident.status != UpdateStatus.RESOLVED)
    return list(session.scalars(stmt.order_by(PageIncident.created_at.desc(), PageIncident.id.desc()).limit(limit)))


def incidents_between(session: Session, page_id: int, start: datetime, end: datetime) -> list[PageIncident]:
    stmt = select(PageIncident).where(
        PageIncident.page_id == page_id, PageIncident.created_at >= start, PageIncident.created_at < end
    )
    return list(session.scalars(stmt.order_by(PageIncident.created_at.desc(), PageIncident.id.desc())))


def updates_of(session: Session, incident_ids: Sequence[int]) -> dict[int, list[PageIncidentUpdate]]:
    found: dict[int, list[PageIncidentUpdate]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return found
    stmt = select(PageIncidentUpdate).where(PageIncidentUpdate.status_incident_id.in_(list(incident_ids)))
    for row in session.scalars(stmt.order_by(PageIncidentUpdate.display_at.desc(), PageIncidentUpdate.id.desc())):
        found[row.status_incident_id].append(row)
    return found


def links_of(session: Session, status_incident_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {i: [] for i in status_incident_ids}
    if not status_incident_ids:
        return found
    stmt = select(PageIncidentLink).where(PageIncidentLink.status_incident_id.in_(list(status_incident_ids)))
    for row in session.scalars(stmt.order_by(PageIncidentLink.id)):
        found[row.status_incident_id].append(row.incident_id)
    return found


def set_links(session: Session, status_incident_id: int, incident_ids: Sequence[int]) -> None:
    existing = {
        row.incident_id: row
        for row in session.scalars(
            select(PageIncidentLink).where(PageIncidentLink.status_incident_id == status_incident_id)
        )
    }
    for incident_id, row in existing.items():
        if incident_id not in incident_ids:
            session.delete(row)
    for incident_id in incident_ids:
        if incident_id not in existing:
            session.add(PageIncidentLink(status_incident_id=status_incident_id, incident_id=incident_id))
    session.flush()


def status_incidents_linked_to(session: Session, incident_id: int, page_id: int) -> list[PageIncident]:
    stmt = (
        select(PageIncident)
        .join(PageIncidentLink, PageIncidentLink.status_incident_id == PageIncident.id)
        .where(PageIncidentLink.incident_id == incident_id, PageIncident.page_id == page_id)
    )
    return list(session.scalars(stmt.order_by(PageIncident.id)))


def maintenances(session: Session, page_id: int, *, limit: int = 100) -> list[Maintenance]:
    stmt = select(Maintenance).where(Maintenance.page_id == page_id)
    return list(session.scalars(stmt.order_by(Maintenance.scheduled_for.desc(), Maintenance.id.desc()).limit(limit)))


def maintenance_updates_of(session: Session, ids: Sequence[int]) -> dict[int, list[MaintenanceUpdate]]:
    found: dict[int, list[MaintenanceUpdate]] = {i: [] for i in ids}
    if not ids:
        return found
    stmt = select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id.in_(list(ids)))
    for row in session.scalars(stmt.order_by(MaintenanceUpdate.display_at.desc(), MaintenanceUpdate.id.desc())):
        found[row.maintenance_id].append(row)
    return found


def due_to_start(session: Session, now: datetime, limit: int = 50) -> list[Maintenance]:
    stmt = select(Maintenance).where(
        Maintenance.status == MaintenanceStatus.SCHEDULED,
        Maintenance.auto_start.is_(True),
        Maintenance.scheduled_for <= now,
    )
    return list(
        session.scalars(stmt.order_by(Maintenance.scheduled_for).limit(limit).with_for_update(skip_locked=True))
    )


def due_to_complete(session: Session, now: datetime, limit: int = 50) -> list[Maintenance]:
    stmt = select(Maintenance).where(
        Maintenance.status.in_([MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING]),
        Maintenance.auto_complete.is_(True),
        Maintenance.scheduled_until <= now,
    )
    return list(
        session.scalars(stmt.order_by(Maintenance.scheduled_until).limit(limit).with_for_update(skip_locked=True))
    )


def next_maintenance_due(session: Session) -> datetime | None:
    start = session.scalar(
        select(func.min(Maintenance.scheduled_for)).where(
            Maintenance.status == MaintenanceStatus.SCHEDULED, Maintenance.auto_start.is_(True)
        )
    )
    end = session.scalar(
        select(func.min(Maintenance.scheduled_until)).where(
            Maintenance.status.in_([MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING]),
            Maintenance.auto_complete.is_(True),
        )
    )
    found = [t for t in (start, end) if t is not None]
    return min(found) if found else None


def subscribers(session: Session, page_id: int) -> list[Subscriber]:
    stmt = select(Subscriber).where(Subscriber.page_id == page_id)
    return list(session.scalars(stmt.order_by(Subscriber.id)))


def subscriber(session: Session, page_id: int, kind: str, address: str) -> Subscriber | None:
    stmt = select(Subscriber).where(
        Subscriber.page_id == page_id, Subscriber.kind == kind, Subscriber.address == address
    )
    return session.scalars(stmt).one_or_none()


def active_subscribers(session: Session, page_id: int) -> list[Subscriber]:
    stmt = select(Subscriber).where(
        Subscriber.page_id == page_id,
        Subscriber.confirmed_at.is_not(None),
        Subscriber.unsubscribed_at.is_(None),
    )
    return list(session.scalars(stmt.order_by(Subscriber.id)))


def add_deliveries(session: Session, rows: list[dict[str, object]]) -> None:
    if rows:
        session.execute(insert(table_of(Delivery)), rows)


def claim_deliveries(session: Session, now: datetime, until: datetime, limit: int) -> list[Delivery]:
    stmt = (
        select(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.due_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(stmt))
    if rows:
        session.execute(
            update(Delivery).where(Delivery.id.in_([r.id for r in rows])).values(claimed_until=until),
            execution_options={"synchronize_session": False},
        )
        for r in rows:
            r.claimed_until = until
    return rows


def next_delivery_due(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Delivery.due_at)).where(Delivery.status == DeliveryStatus.PENDING))


def deliveries_of(session: Session, subscriber_id: int) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.subscriber_id == subscriber_id).order_by(Delivery.id)))


def proposals(session: Session, page_id: int, *, open_only: bool = True) -> list[Proposal]:
    stmt = select(Proposal).where(Proposal.page_id == page_id)
    if open_only:
        stmt = stmt.where(Proposal.status == ProposalStatus.OPEN)
    return list(session.scalars(stmt.order_by(Proposal.created_at.desc(), Proposal.id.desc())))


def proposal_by_key(session: Session, key: str) -> Proposal | None:
    return session.scalars(select(Proposal).where(Proposal.key == key)).one_or_none()


def pages_with_automation(session: Session) -> list[StatusPage]:
    return list(session.scalars(select(StatusPage).where(StatusPage.automation != "off").order_by(StatusPage.id)))


def last_change(session: Session, page_id: int) -> datetime | None:
    """The newest change of anything shown on the page (its ``updated_at`` in the public API)."""
    found = [
        session.scalar(select(StatusPage.updated_at).where(StatusPage.id == page_id)),
        session.scalar(select(func.max(Component.updated_at)).where(Component.page_id == page_id)),
        session.scalar(select(func.max(PageIncident.updated_at)).where(PageIncident.page_id == page_id)),
        session.scalar(select(func.max(Maintenance.updated_at)).where(Maintenance.page_id == page_id)),
    ]
    times = [t for t in found if t is not None]
    return max(times) if times else None


def published_for(session: Session, incident_id: int) -> list[tuple[StatusPage, PageIncident]]:
    stmt = (
        select(StatusPage, PageIncident)
        .join(PageIncident, PageIncident.page_id == StatusPage.id)
        .join(PageIncidentLink, PageIncidentLink.status_incident_id == PageIncident.id)
        .where(PageIncidentLink.incident_id == incident_id)
        .order_by(StatusPage.name, PageIncident.id)
    )
    return [(p, i) for p, i in session.execute(stmt)]


def proposed_for(session: Session, incident_id: int) -> list[tuple[StatusPage, Proposal]]:
    stmt = (
        select(StatusPage, Proposal)
        .join(Proposal, Proposal.page_id == StatusPage.id)
        .where(Proposal.incident_id == incident_id, Proposal.status == ProposalStatus.OPEN)
        .order_by(StatusPage.name, Proposal.id)
    )
    return [(p, r) for p, r in session.execute(stmt)]


# --- subscription limits ---------------------------------------------------------------------------------------------
def count_hit(session: Session, key_hash: str, slice_start: datetime) -> None:
    """One more request in this slice; concurrent requests on the same row wait for each other (row lock)."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert(SubscribeWindow) if dialect == "postgresql" else sqlite_insert(SubscribeWindow)
    stmt = ins.values(key_hash=key_hash, slice_start=slice_start, hits=1)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["key_hash", "slice_start"], set_={"hits": SubscribeWindow.hits + 1})
    )


def uncount_hit(session: Session, key_hash: str, slice_start: datetime) -> None:
    session.execute(
        update(SubscribeWindow)
        .where(SubscribeWindow.key_hash == key_hash, SubscribeWindow.slice_start == slice_start)
        .values(hits=SubscribeWindow.hits - 1)
    )


def hits_since(session: Session, key_hash: str, since: datetime) -> list[tuple[datetime, int]]:
    """(slice start, hits) of this key's slices that started after ``since``, oldest first."""
    stmt = (
        select(SubscribeWindow.slice_start, SubscribeWindow.hits)
        .where(SubscribeWindow.key_hash == key_hash, SubscribeWindow.slice_start > since)
        .order_by(SubscribeWindow.slice_start)
    )
    return [(start, hits) for start, hits in session.execute(stmt)]


def forget_windows(session: Session, before: datetime) -> None:
    session.execute(delete(SubscribeWindow).where(SubscribeWindow.slice_start <= before))


def status_incidents_of(session: Session, incident_id: int) -> list[PageIncident]:
    """Every status-page incident, on any page, that publishes the response incident ``incident_id``."""
    stmt = (
        select(PageIncident)
        .join(PageIncidentLink, PageIncidentLink.status_incident_id == PageIncident.id)
        .where(PageIncidentLink.incident_id == incident_id)
    )
    return list(session.scalars(stmt.order_by(PageIncident.id)))
