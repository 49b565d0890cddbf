"""Merging and splitting incidents by hand: alerts move between incidents, and both timelines say so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.alerts import repository as repo
from tocsin.core.errors import InvalidInput
from tocsin.incidents import lifecycle
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor, NewIncident
from tocsin.incidents.timeline import TimelineKind, timeline_row


def merge(session: Session, source_ref: int | str, into_ref: int | str, *, actor: Actor, now: datetime) -> Incident:
    """Move every alert of ``source`` into ``into`` and resolve ``source``; returns ``into``."""
    source = incidents.get(session, source_ref)
    target = incidents.get(session, into_ref)
    if source.id == target.id:
        raise InvalidInput("an incident cannot be merged into itself")
    if not lifecycle.is_open(target.status):
        raise InvalidInput(f"incident #{target.number} is resolved; merge into an open incident")
    alerts = repo.alerts_of_incident(session, source.id)
    for alert in alerts:
        alert.incident_id = target.id
    target.alert_count += len(alerts)
    source.alert_count = 0
    target.updated_at = now
    incident_repo.add_timeline(
        session,
        [
            timeline_row(
                target.id,
                TimelineKind.MERGED,
                actor,
                now,
                f"Incident #{source.number} merged into this one ({len(alerts)} alert(s))",
                incident=source.number,
                alert_ids=[a.id for a in alerts],
            ),
            timeline_row(
                source.id,
                TimelineKind.MERGED,
                actor,
                now,
                f"Merged into incident #{target.number}",
                into=target.number,
                alert_ids=[a.id for a in alerts],
            ),
        ],
    )
    if lifecycle.is_open(source.status):
        incidents.change_status(
            session, source, lifecycle.RESOLVED, actor=actor, now=now, message=f"merged into #{target.number}"
        )
    return target


def split(session: Session, ref: int | str, alert_ids: Sequence[int], *, actor: Actor, now: datetime) -> Incident:
    """Move the given alerts of an incident into a new incident of the same service; returns the new one."""
    source = incidents.get(session, ref)
    if not alert_ids:
        raise InvalidInput("name at least one alert to split off")
    alerts = {a.id: a for a in repo.alerts_of_incident(session, source.id)}
    missing = [i for i in alert_ids if i not in alerts]
    if missing:
        raise InvalidInput(f"alert(s) {', '.join(map(str, missing))} are not in incident #{source.number}")
    if len(set(alert_ids)) == len(alerts):
        raise InvalidInput("splitting off every alert would leave the incident empty")
    moving = [alerts[i] for i in dict.fromkeys(alert_ids)]
    first = moving[0]
    (opened,) = incidents.open_incidents(
        session,
        [
            NewIncident(
                service_id=source.service_id,
                title=first.summary,
                urgency=source.urgency,
                severity=source.severity,
                priority=source.priority,
            )
        ],
        actor=actor,
        now=now,
    )
    created = incident_repo.get(session, opened.id)
    assert created is not None
    for alert in moving:
        alert.incident_id = created.id
    created.alert_count = len(moving)
    source.alert_count = max(0, source.alert_count - len(moving))
    source.updated_at = now
    ids = [a.id for a in moving]
    incident_repo.add_timeline(
        session,
        [
            timeline_row(
                source.id,
                TimelineKind.SPLIT,
                actor,
                now,
                f"{len(moving)} alert(s) split off into #{created.number}",
                into=created.number,
                alert_ids=ids,
            ),
            timeline_row(
                created.id,
                TimelineKind.SPLIT,
                actor,
                now,
                f"Split off from incident #{source.number}",
                incident=source.number,
                alert_ids=ids,
            ),
        ],
    )
    if all(a.status == "resolved" for a in moving):
        incidents.change_status(session, created, lifecycle.RESOLVED, actor=actor, now=now, message="split off")
    return created
