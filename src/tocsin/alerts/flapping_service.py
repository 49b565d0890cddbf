"""Flapping alerts once they settle: an incident whose paging a flapping alert paused pages after all when the
alert has kept still for the whole flapping window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.alerts import noise_repository as repo
from tocsin.alerts import routing_service as routing
from tocsin.escalation import service as escalation
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind, timeline_row


def resume_stable_flapping(session: Session, *, now: datetime) -> int:
    """A flapping alert that has kept still for the whole window is stable: its incident pages after all."""
    rules = routing.ruleset(session, now)
    if rules.flapping is None:
        return 0
    resumed = 0
    since = now - rules.flapping.window
    for incident, alert in repo.paused_flapping(session):
        key = (alert.integration_id, alert.dedup_key)
        if alert.status == "resolved" or alert.created_at > since:
            continue
        if repo.state_changes_since(session, [key], since).get(key, 0):
            continue
        incident_repo.add_timeline(
            session,
            [
                timeline_row(
                    incident.id,
                    TimelineKind.FLAPPING_STABLE,
                    Actor(label="flapping", source="engine"),
                    now,
                    "Alert is stable again; paging resumes",
                )
            ],
        )
        escalation.restart(session, incident, now=now)
        resumed += 1
    return resumed
