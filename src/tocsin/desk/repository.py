"""Every service desk query lives here."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tocsin.desk.flow import RequestStatus
from tocsin.desk.models import DeskSettings, Report, RequestTimelineEntry, ServiceRequest
from tocsin.incidents import repository as incident_repo

REQUEST_COUNTER = "service_request_number"


def next_number(session: Session) -> int:
    return incident_repo.allocate_numbers(session, REQUEST_COUNTER, 1)[0]


def settings_of(session: Session, service_id: int, *, for_update: bool = False) -> DeskSettings | None:
    stmt = select(DeskSettings).where(DeskSettings.service_id == service_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def settings_by_token_hash(session: Session, token_hash: str) -> DeskSettings | None:
    stmt = select(DeskSettings).where(DeskSettings.public_token_hash == token_hash)
    return session.scalars(stmt).one_or_none()


def add(session: Session, row: Any) -> None:
    session.add(row)
    session.flush()


def request_by_number(session: Session, number: int, *, for_update: bool = False) -> ServiceRequest | None:
    stmt = select(ServiceRequest).where(ServiceRequest.number == number)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def requests(
    session: Session,
    *,
    statuses: Collection[RequestStatus] = (),
    service_ids: Collection[int] | None = None,
    requester_user_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[ServiceRequest]:
    """Newest first. ``service_ids`` None: every service; the requester's own are included whatever the service."""
    stmt = select(ServiceRequest)
    if statuses:
        stmt = stmt.where(ServiceRequest.status.in_(list(statuses)))
    if service_ids is not None:
        visible: ColumnElement[bool] = ServiceRequest.service_id.in_(list(service_ids))
        if requester_user_id is not None:
            visible = visible | (ServiceRequest.requester_user_id == requester_user_id)
        stmt = stmt.where(visible)
    if before_id is not None:
        stmt = stmt.where(ServiceRequest.id < before_id)
    return list(session.scalars(stmt.order_by(ServiceRequest.id.desc()).limit(limit)))


def timeline(session: Session, request_id: int) -> list[RequestTimelineEntry]:
    stmt = select(RequestTimelineEntry).where(RequestTimelineEntry.request_id == request_id)
    return list(session.scalars(stmt.order_by(RequestTimelineEntry.id)))


def linked_to_incident(session: Session, incident_id: int) -> list[ServiceRequest]:
    """Requests that became this incident or came from it."""
    stmt = select(ServiceRequest).where(
        (ServiceRequest.incident_id == incident_id) | (ServiceRequest.from_incident_id == incident_id)
    )
    return list(session.scalars(stmt.order_by(ServiceRequest.id)))


def report_of_incident(session: Session, incident_id: int) -> Report | None:
    stmt = select(Report).where(Report.incident_id == incident_id).order_by(Report.id).limit(1)
    return session.scalars(stmt).one_or_none()


def count_of_service(session: Session, service_id: int) -> int:
    requests = session.scalar(select(func.count()).where(ServiceRequest.service_id == service_id)) or 0
    reports = session.scalar(select(func.count()).where(Report.service_id == service_id)) or 0
    return requests + reports
