"""The ``statuspages`` incident event consumer: a major incident opened on a service some component stands for
proposes (or, on an automatic page, publishes) the component status and a first update; its resolution proposes
the closing update. Proposals are keyed per incident, move and page, so an event handed over twice proposes once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import NotFound
from tocsin.events.registry import Consumer, Event
from tocsin.incidents import service as incidents
from tocsin.statuspages import repository as repo
from tocsin.statuspages import service

CONSUMER_NAME = "statuspages"
OPENING = frozenset({"incident.triggered", "incident.major"})
CLOSING = frozenset({"incident.resolved"})


def react(session: Session, events: Sequence[Event], now: datetime) -> None:
    # With no page automated (the usual case), a batch of opened and resolved incidents costs one query.
    if not repo.pages_with_automation(session):
        return
    for event in events:
        try:
            incident = incidents.get(session, event.incident_id)
        except NotFound:
            continue
        if event.type in OPENING and incident.major:
            service.propose(session, incident, "open", now=now)
        elif event.type in CLOSING:
            service.propose(session, incident, "resolve", now=now)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=react, types=OPENING | CLOSING)
