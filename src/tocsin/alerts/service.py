"""Alert ingestion: from normalised events to alerts and incidents, many submissions per transaction.

PagerDuty's dedup semantics: events with the same integration and dedup key apply to the open alert; once it is
resolved, a new trigger with that key opens a new alert; acknowledge and resolve never create one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts import repository as repo
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import NormalizedEvent, Submission, SubmissionResult
from tocsin.core.errors import NotFound
from tocsin.core.ids import new_dedup_key
from tocsin.core.pagination import decode_cursor, encode_cursor
from tocsin.incidents import lifecycle
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.priority import default_priority, incident_severity, urgency_for
from tocsin.incidents.schemas import Actor, NewIncident
from tocsin.services import repository as service_repo
from tocsin.services.models import Integration, Service

OUTCOMES = ("created", "deduplicated", "acknowledged", "resolved", "ignored", "redelivered")


@dataclass(slots=True)
class _Pending:
    """A trigger that opens a new alert; its incident is created in bulk once the batch is walked."""

    alert: Alert
    service: Service


def _actor(integration: Integration) -> Actor:
    return Actor(label=f"{integration.name} ({integration.type})", source="integration")


def ingest_batch(session: Session, submissions: Sequence[Submission], *, now: datetime) -> list[SubmissionResult]:
    """Apply every submission in order within the caller's transaction; one result per submission."""
    integrations = service_repo.integrations_by_keys(session, {s.integration_key for s in submissions})
    for sub in submissions:
        for event in sub.events:
            if event.action == "trigger" and not event.dedup_key:
                event.dedup_key = new_dedup_key()
    wanted = [
        (integrations[s.integration_key][0].id, e.dedup_key or "")
        for s in submissions
        if s.integration_key in integrations
        for e in s.events
    ]
    open_alerts = repo.open_alerts_by_key(session, wanted)
    delivered = repo.seen_deliveries(
        session,
        [
            (integrations[s.integration_key][0].id, s.delivery_id[:255])
            for s in submissions
            if s.delivery_id and s.integration_key in integrations
        ],
    )
    delivery_rows: list[dict[str, Any]] = []
    pending: list[_Pending] = []
    event_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    results: list[SubmissionResult] = []
    # Alert objects of this batch mapped to their event rows, so that rows of new alerts get ids after flush.
    event_alerts: list[tuple[dict[str, Any], Alert | None]] = []

    for sub in submissions:
        found = integrations.get(sub.integration_key)
        if found is None:
            results.append(SubmissionResult(found=False))
            continue
        integration, service = found
        result = SubmissionResult(found=True, integration_type=integration.type)
        if sub.delivery_id:
            delivery = (integration.id, sub.delivery_id[:255])
            if delivery in delivered:
                result.dedup_keys = [e.dedup_key or "" for e in sub.events]
                result.outcomes = ["redelivered"] * len(sub.events)
                results.append(result)
                continue
            delivered.add(delivery)
            delivery_rows.append({"integration_id": delivery[0], "delivery_id": delivery[1], "received_at": now})
        for event in sub.events:
            key = event.dedup_key or ""
            alert = open_alerts.get((integration.id, key))
            outcome, alert = _apply(session, event, alert, integration, service, pending, now)
            if alert is not None and alert.status != "resolved":
                open_alerts[(integration.id, key)] = alert
            else:
                open_alerts.pop((integration.id, key), None)
            row = {
                "integration_id": integration.id,
                "alert_id": None,
                "action": event.action,
                "dedup_key": key,
                "outcome": outcome,
                "received_at": now,
                "payload": event.payload(),
            }
            event_rows.append(row)
            event_alerts.append((row, alert))
            result.dedup_keys.append(key)
            result.outcomes.append(outcome)
        for change in sub.changes:
            change_rows.append(
                {
                    "service_id": service.id,
                    "integration_id": integration.id,
                    "summary": change.summary[:1024],
                    "source": change.source[:255],
                    "occurred_at": change.timestamp or now,
                    "received_at": now,
                    "details": change.details,
                    "links": {"links": change.links},
                    "description": "",
                }
            )
        results.append(result)

    _open_incidents_for(session, pending, now)
    for row, alert in event_alerts:
        row["alert_id"] = alert.id if alert is not None else None
    repo.add_events(session, event_rows)
    repo.add_changes(session, change_rows)
    repo.add_deliveries(session, delivery_rows)
    return results


def _apply(
    session: Session,
    event: NormalizedEvent,
    alert: Alert | None,
    integration: Integration,
    service: Service,
    pending: list[_Pending],
    now: datetime,
) -> tuple[str, Alert | None]:
    if event.action == "trigger":
        if alert is not None:
            alert.event_count += 1
            alert.last_event_at = now
            return "deduplicated", alert
        alert = _new_alert(event, integration, service, now)
        pending.append(_Pending(alert=alert, service=service))
        return "created", alert
    if alert is None:
        return "ignored", None
    if event.action == "acknowledge":
        if alert.status != "triggered":
            return "ignored", alert
        alert.status = "acknowledged"
        alert.acknowledged_at = now
        alert.last_event_at = now
        incident = _incident_of(session, alert)
        if incident is not None and incident.status == lifecycle.TRIGGERED:
            incidents.change_status(session, incident, lifecycle.ACKNOWLEDGED, actor=_actor(integration), now=now)
        return "acknowledged", alert
    # resolve
    alert.status = "resolved"
    alert.resolved_at = now
    alert.last_event_at = now
    incident = _incident_of(session, alert)
    if (
        incident is not None
        and lifecycle.is_open(incident.status)
        and service.auto_resolve
        and (alert.id is None or repo.other_open_alerts(session, incident.id, [alert.id]) == 0)
    ):
        incidents.change_status(session, incident, lifecycle.RESOLVED, actor=_actor(integration), now=now)
    return "resolved", alert


def _incident_of(session: Session, alert: Alert) -> Incident | None:
    if alert.incident_id is None:
        session.flush()
    if alert.incident_id is None:
        return None
    return incident_repo.get(session, alert.incident_id)


def _new_alert(event: NormalizedEvent, integration: Integration, service: Service, now: datetime) -> Alert:
    links: dict[str, Any] = {"links": event.links, "images": event.images}
    if event.client or event.client_url:
        links["client"] = {"name": event.client, "url": event.client_url}
    return Alert(
        integration_id=integration.id,
        service_id=service.id,
        dedup_key=event.dedup_key or "",
        status="triggered",
        summary=(event.summary or "(no summary)")[:1024],
        severity=event.severity,
        source=(event.source or "")[:255],
        component=event.component,
        group=event.group,
        class_=event.class_,
        labels=event.labels,
        details=event.details,
        links=links,
        event_count=1,
        created_at=now,
        last_event_at=now,
    )


def _open_incidents_for(session: Session, pending: list[_Pending], now: datetime) -> None:
    """Each new alert opens its own incident (grouping rules can later attach alerts to existing ones)."""
    live = pending
    if not live:
        return
    specs = []
    for p in live:
        severity = incident_severity(p.alert.severity)
        urgency = urgency_for(p.service.urgency, p.alert.severity)
        specs.append(
            NewIncident(
                service_id=p.service.id,
                title=p.alert.summary,
                urgency=urgency,
                severity=severity,
                priority=default_priority(severity, urgency),
            )
        )
    actor = Actor(label="integration", source="integration")
    opened = incidents.open_incidents(session, specs, actor=actor, now=now)
    for p, incident in zip(live, opened, strict=True):
        p.alert.incident_id = incident.id
        incident.alert_count = 1
        # The alert may have been acknowledged or resolved by later events of this same batch.
        if p.alert.acknowledged_at is not None:
            incidents.change_status(session, incident, lifecycle.ACKNOWLEDGED, actor=actor, now=now)
        if p.alert.status == "resolved" and p.service.auto_resolve:
            incidents.change_status(session, incident, lifecycle.RESOLVED, actor=actor, now=now)
    session.add_all([p.alert for p in live])
    session.flush()


def alerts_of_incident(session: Session, incident_id: int) -> list[Alert]:
    return repo.alerts_of_incident(session, incident_id)


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = repo.get(session, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def list_alerts(
    session: Session, *, service_id: int | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Alert], str | None]:
    before = decode_cursor(cursor) if cursor else None
    rows = repo.search(session, service_id=service_id, status=status, before_id=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def forget_deliveries(session: Session, *, before: datetime, limit: int = 5000) -> int:
    """Drop remembered delivery ids received before ``before`` (senders stop retrying long before)."""
    return repo.delete_deliveries_before(session, before, limit)
