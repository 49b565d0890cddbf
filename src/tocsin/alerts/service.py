"""Alert ingestion: from normalised events to alerts and incidents, many submissions per transaction.

PagerDuty's dedup semantics: events with the same integration and dedup key apply to the open alert; once it is
resolved, a new trigger with that key opens a new alert; acknowledge and resolve never create one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.alerts import repository as repo
from tocsin.alerts import routing_service as routing
from tocsin.alerts import silence_service
from tocsin.alerts.models import Alert
from tocsin.alerts.noise_batch import BatchNoise, TraceEntry, alert_view
from tocsin.alerts.placement import Pending, join_group, remember_group, suppression
from tocsin.alerts.rules.ruleset import RuleSet, route
from tocsin.alerts.rules.silences import first_covering
from tocsin.alerts.schemas import AlertStatus, IngestOutcome, NormalizedEvent, Submission, SubmissionResult
from tocsin.core.errors import Conflict, NotFound
from tocsin.core.ids import new_dedup_key
from tocsin.core.pagination import decode_cursor, encode_cursor
from tocsin.escalation import service as escalation
from tocsin.incidents import lifecycle
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.priority import default_priority, incident_severity, urgency_for
from tocsin.incidents.schemas import Actor, NewIncident
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.services import repository as service_repo
from tocsin.services.models import Integration, Service
from tocsin.services.repository import IntegrationFacts, ServiceFacts


def _actor(integration: IntegrationFacts) -> Actor:
    return Actor(label=f"{integration.name} ({integration.type})", source="integration")


def ingest_batch(
    session: Session,
    submissions: Sequence[Submission],
    *,
    now: datetime,
    trace: list[TraceEntry] | None = None,
) -> list[SubmissionResult]:
    """Apply every submission in order within the caller's transaction; one result per submission.

    ``trace``, when given, receives how each event was routed (the route simulator reads it).
    """
    integrations = service_repo.integrations_by_keys(session, {s.integration_key for s in submissions})
    matched = [_integration_of(s, integrations) for s in submissions]
    for sub in submissions:
        for event in sub.events:
            if event.action == "trigger" and not event.dedup_key:
                event.dedup_key = new_dedup_key()
    wanted = [(m[0].id, e.dedup_key or "") for s, m in zip(submissions, matched, strict=True) if m for e in s.events]
    open_alerts = repo.open_alerts_by_key(session, wanted)
    delivered = repo.seen_deliveries(
        session,
        [(m[0].id, s.delivery_id[:255]) for s, m in zip(submissions, matched, strict=True) if m and s.delivery_id],
    )
    delivery_rows: list[dict[str, Any]] = []
    noise = BatchNoise(session=session, rules=routing.ruleset(session, now), now=now, trace=trace)
    if noise.rules.flapping is not None:
        noise.load_changes(wanted)
    pending: list[Pending] = []
    event_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    results: list[SubmissionResult] = []
    # Alert objects of this batch mapped to their event rows, so that rows of new alerts get ids once stored.
    event_alerts: list[tuple[dict[str, Any], Alert | None]] = []
    # Alerts this batch opens, in order; those not stored on the way (see ``_store_new_alerts``) are stored last.
    new_alerts: list[Alert] = []

    for sub, found in zip(submissions, matched, strict=True):
        if found is None:
            results.append(SubmissionResult(found=False))
            continue
        integration, service = found
        result = SubmissionResult(found=True, integration_type=integration.type)
        if sub.delivery_id:
            delivery = (integration.id, sub.delivery_id[:255])
            if delivery in delivered:
                result.dedup_keys = [e.dedup_key or "" for e in sub.events]
                result.outcomes = [IngestOutcome.REDELIVERED] * len(sub.events)
                results.append(result)
                continue
            delivered.add(delivery)
            delivery_rows.append({"integration_id": delivery[0], "delivery_id": delivery[1], "received_at": now})
        for event in sub.events:
            key = event.dedup_key or ""
            alert = open_alerts.get((integration.id, key))
            traced = len(trace) if trace is not None else 0
            outcome, alert = _apply(session, event, alert, integration, service, pending, new_alerts, now, noise)
            if trace is not None and len(trace) == traced:
                # Acknowledge and resolve events (and ignored ones) are reported as they are.
                _trace(noise, integration, event, outcome, alert=alert, service_id=alert.service_id if alert else None)
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

    _open_incidents_for(session, pending, now, noise.rules)
    _store_new_alerts(session, new_alerts)
    for row, alert in event_alerts:
        row["alert_id"] = alert.id if alert is not None else None
    repo.add_events(session, event_rows)
    repo.add_changes(session, change_rows)
    repo.add_deliveries(session, delivery_rows)
    return results


def _integration_of(
    sub: Submission, integrations: dict[str, tuple[IntegrationFacts, ServiceFacts]]
) -> tuple[IntegrationFacts, ServiceFacts] | None:
    """The integration a submission reaches: its key's, and only if the endpoint it came through is of its type.

    A key sent to another type's endpoint is an unknown key, so a signed source's key opens nothing unsigned.
    """
    found = integrations.get(sub.integration_key)
    if found is None or (sub.integration_type is not None and found[0].type != sub.integration_type):
        return None
    return found


def _apply(
    session: Session,
    event: NormalizedEvent,
    alert: Alert | None,
    integration: IntegrationFacts,
    service: ServiceFacts,
    pending: list[Pending],
    new_alerts: list[Alert],
    now: datetime,
    noise: BatchNoise,
) -> tuple[IngestOutcome, Alert | None]:
    if event.action == "trigger":
        if alert is not None:
            alert.event_count += 1
            alert.last_event_at = now
            _trace(noise, integration, event, "deduplicated", alert=alert)
            return IngestOutcome.DEDUPLICATED, alert
        return _new_trigger(session, event, integration, service, pending, new_alerts, now, noise)
    if alert is None:
        return IngestOutcome.IGNORED, None
    if event.action == "acknowledge":
        if alert.status != "triggered":
            return IngestOutcome.IGNORED, alert
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = now
        alert.last_event_at = now
        incident = _incident_of(session, alert)
        if incident is not None and incident.status == lifecycle.TRIGGERED:
            incidents.change_status(session, incident, lifecycle.ACKNOWLEDGED, actor=_actor(integration), now=now)
        return IngestOutcome.ACKNOWLEDGED, alert
    # resolve
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.last_event_at = now
    noise.count_change((integration.id, alert.dedup_key))
    incident = _incident_of(session, alert)
    if (
        incident is not None
        and lifecycle.is_open(incident.status)
        and _service_of(session, incident.service_id, service).auto_resolve
        and (alert.id is None or repo.other_open_alerts(session, incident.id, [alert.id]) == 0)
    ):
        incidents.change_status(session, incident, lifecycle.RESOLVED, actor=_actor(integration), now=now)
        if noise.rules.silences:
            _tell_if_silenced(session, incident, alert, noise, now)
    return IngestOutcome.RESOLVED, alert


def _tell_if_silenced(session: Session, incident: Incident, alert: Alert, noise: BatchNoise, now: datetime) -> None:
    view = alert_view(alert)
    silence = first_covering(noise.rules.silence_candidates(view), view, alert.service_id, now)
    if silence is not None:
        silence_service.notify_resolved_while_silenced(session, incident, silence.id, now=now)


def _service_of(session: Session, service_id: int, known: ServiceFacts) -> ServiceFacts:
    """The service a rule routes to; if it was deleted since the rules were compiled, the integration's own."""
    if service_id == known.id:
        return known
    found = service_repo.get(session, service_id)
    return known if found is None else ServiceFacts.of(found)


def _trace(
    noise: BatchNoise, integration: IntegrationFacts, event: NormalizedEvent, outcome: str, **fields: Any
) -> TraceEntry | None:
    if noise.trace is None:
        return None
    entry = TraceEntry(integration_id=integration.id, dedup_key=event.dedup_key or "", outcome=outcome, **fields)
    noise.trace.append(entry)
    return entry


def _new_trigger(
    session: Session,
    event: NormalizedEvent,
    integration: IntegrationFacts,
    service: ServiceFacts,
    pending: list[Pending],
    new_alerts: list[Alert],
    now: datetime,
    noise: BatchNoise,
) -> tuple[IngestOutcome, Alert | None]:
    """Route a trigger that opens a new alert, then decide whether it pages: rule, silence, inhibition,
    flapping and grouping each may keep it from opening an incident of its own."""
    rules = noise.rules
    decision = route(rules, event, integration_id=integration.id, service_id=service.id)
    rule_name = decision.rule.name if decision.rule else None
    if decision.drop:
        _trace(noise, integration, event, "dropped", rule=rule_name, service_id=decision.service_id)
        return IngestOutcome.DROPPED, None
    target = _service_of(session, decision.service_id, service)
    alert = _new_alert(event, integration, target, now)
    alert.severity = decision.severity
    new_alerts.append(alert)
    key = (integration.id, alert.dedup_key)
    noise.count_change(key)
    entry = _trace(noise, integration, event, "", rule=rule_name, service_id=target.id, alert=alert)
    # A drill's alert mutes nothing real and joins no group: it opens an incident of its own (ADR 0025).
    if not alert.drill and rules.is_inhibit_source(decision.view):
        alert.inhibits = True
        noise.add_firing(alert, decision.view)

    outcome = suppression(session, alert, decision, rule_name, now, noise, entry)
    if outcome is not None:
        return outcome, alert
    flapping = rules.flapping is not None and rules.flapping.is_flapping(noise.changes(key))
    if entry is not None:
        entry.flapping = flapping
    if not flapping and not alert.drill and target.id in rules.grouping:
        joined = join_group(session, alert, decision, target, pending, now, noise, entry)
        if joined:
            return IngestOutcome.GROUPED, alert
    pending.append(Pending(alert=alert, service=target, decision=decision, flapping=flapping))
    if not alert.drill:
        remember_group(pending[-1], rules, len(pending), now)
    outcome = IngestOutcome.FLAPPING if flapping else IngestOutcome.CREATED
    if entry is not None:
        entry.outcome = outcome
    return outcome, alert


def _incident_of(session: Session, alert: Alert) -> Incident | None:
    if alert.incident_id is None:
        session.flush()
    if alert.incident_id is None:
        return None
    return incident_repo.get(session, alert.incident_id)


def _new_alert(event: NormalizedEvent, integration: IntegrationFacts, service: ServiceFacts, now: datetime) -> Alert:
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
        inhibits=False,
        drill=event.drill,
    )


def _priority(p: Pending, severity: str, urgency: str, rules: RuleSet) -> str:
    if p.decision.priority is not None:
        return p.decision.priority
    if rules.matrix is not None:
        return rules.matrix.priority(rules.matrix.impact(p.service.tier, p.alert.severity), urgency)
    return default_priority(severity, urgency)


def _drill_type(alert: Alert) -> str | None:
    """A drill of an incident type opens an incident of that type (its scenario labels the event with it)."""
    if not alert.drill:
        return None
    named = (alert.labels or {}).get("incident_type")
    return named if isinstance(named, str) and named else None


def _open_incidents_for(session: Session, pending: list[Pending], now: datetime, rules: RuleSet) -> None:
    """Open one incident per new group of alerts, prioritised by the rules, and mark the major ones."""
    if not pending:
        return
    specs = []
    for p in pending:
        severity = incident_severity(p.alert.severity)
        urgency = p.decision.urgency or urgency_for(p.service.urgency, p.alert.severity)
        specs.append(
            NewIncident(
                service_id=p.service.id,
                title=p.decision.title,
                urgency=urgency,
                severity=severity,
                priority=_priority(p, severity, urgency, rules),
                incident_type=p.decision.incident_type or _drill_type(p.alert),
                category=p.decision.category,
                drill=p.alert.drill,
            )
        )
    actor = Actor(label="integration", source="integration")
    # Known before the incidents are stored, so they are inserted right rather than updated after.
    majors = [
        rules.major is not None and rules.major.is_major(s.priority, p.service.tier)
        for s, p in zip(specs, pending, strict=True)
    ]
    opened = incidents.open_incidents(
        session, specs, actor=actor, now=now, alert_counts=[1 + len(p.members) for p in pending], majors=majors
    )
    extra: list[dict[str, Any]] = []
    for p, incident, major in zip(pending, opened, majors, strict=True):
        members = [p.alert, *p.members]
        for alert in members:
            alert.incident_id = incident.id
        if p.members:
            extra.append(
                timeline_row(
                    incident.id, TimelineKind.ALERT_GROUPED, actor, now, f"{len(p.members)} more alert(s) grouped"
                )
            )
        if major:
            extra.append(timeline_row(incident.id, TimelineKind.MAJOR, actor, now, "Marked as a major incident"))
        if p.flapping:
            escalation.stop(session, incident.id, now=now)
            assert rules.flapping is not None
            extra.append(
                timeline_row(
                    incident.id,
                    TimelineKind.FLAPPING,
                    actor,
                    now,
                    f"Alert is flapping (more than {rules.flapping.max_changes} state changes within "
                    f"{int(rules.flapping.window.total_seconds() // 60)} min); paging paused until it is stable",
                    dedup_key=p.alert.dedup_key,
                )
            )
        # The alerts may have been acknowledged or resolved by later events of this same batch.
        acknowledge = all(a.acknowledged_at is not None or a.status == "resolved" for a in members) and any(
            a.acknowledged_at is not None for a in members
        )
        resolve = all(a.status == "resolved" for a in members) and p.service.auto_resolve
        if acknowledge or resolve:
            stored = incident_repo.get(session, incident.id)
            assert stored is not None
            if acknowledge:
                incidents.change_status(session, stored, lifecycle.ACKNOWLEDGED, actor=actor, now=now)
            if resolve:
                incidents.change_status(session, stored, lifecycle.RESOLVED, actor=actor, now=now)
    incident_repo.add_timeline(session, extra)


def _store_new_alerts(session: Session, new_alerts: list[Alert]) -> None:
    """Store the alerts of this batch that are not in the session yet, in one statement, and give them their ids.

    Most new alerts are only written here, as plain rows: the ORM's unit of work would insert them one by one
    to learn their ids. They stay outside the session (nothing reads them back through it in this transaction);
    the few that needed an id earlier (an inhibiting source, an alert grouped into an open incident) were added to
    the session then and are left to it.
    """
    # Pending changes first: an open alert resolved by this batch must be stored as resolved before a new alert
    # with its dedup key is inserted.
    session.flush()
    repo.add_alerts(session, [a for a in new_alerts if a not in session])


def alerts_of_incident(session: Session, incident_id: int) -> list[Alert]:
    return repo.alerts_of_incident(session, incident_id)


def resolve_open_alerts_of(session: Session, incident_id: int, *, now: datetime) -> None:
    repo.resolve_open_alerts_of(session, incident_id, now)


def refuse_service_deletion(session: Session, service: Service) -> None:
    """Alerts are history: a service that received any is archived, never deleted with them (ADR 0012)."""
    count = repo.count_of_service(session, service.id)
    if count:
        raise Conflict(
            f"service {service.name!r} has {count} alert(s) in its history; archive it instead of deleting it"
        )


def refuse_integration_deletion(session: Session, integration: Integration) -> None:
    count = repo.count_of_integration(session, integration.id)
    if count:
        raise Conflict(
            f"integration {integration.name!r} brought in {count} alert(s); archive it instead of deleting it"
        )


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = repo.get(session, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def list_alerts(
    session: Session,
    *,
    service_id: int | None,
    status: AlertStatus | None,
    limit: int,
    cursor: str | None,
    service_ids: Collection[int] | None = None,
    viewer: Viewer | None = None,
) -> tuple[list[Alert], str | None]:
    """Newest first; only those of ``service_ids`` when given (what the caller may see), and with ``viewer`` none of
    a private incident they may not read."""
    before = decode_cursor(cursor) if cursor else None
    rows = repo.search(
        session,
        service_id=service_id,
        status=status,
        before_id=before,
        limit=limit + 1,
        service_ids=service_ids,
        viewer=viewer,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def forget_deliveries(session: Session, *, before: datetime, limit: int = 5000) -> int:
    """Drop remembered delivery ids received before ``before`` (senders stop retrying long before)."""
    return repo.delete_deliveries_before(session, before, limit)
