"""The ``learning`` incident event consumer (ADR 0009): an incident opened is checked against the known errors
(their workaround goes on its timeline) and the earlier incidents it may recur; an incident resolved gets the
postmortem a rule asks for. Each step is idempotent (a recurrence is a unique row, a postmortem one per incident),
so an event handed over twice changes nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import NotFound
from tocsin.events.registry import Consumer, Event
from tocsin.incidents import service as incidents
from tocsin.learning import problems, recurrence, service

CONSUMER_NAME = "learning"
OPENED = "incident.triggered"
RESOLVED = "incident.resolved"


def react(session: Session, events: Sequence[Event], now: datetime) -> None:
    for event in events:
        try:
            incident = incidents.get(session, event.incident_id)
        except NotFound:
            continue
        if event.type == OPENED:
            # A re-trigger of the same incident is a status change, not a new incident: only its first opening.
            if event.changes.get("status"):
                continue
            problems.on_opened(session, incident, now=now)
            recurrence.on_opened(session, incident, now=now)
        elif event.type == RESOLVED:
            service.on_resolved(session, incident, now=now)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=react, types=frozenset({OPENED, RESOLVED}))
