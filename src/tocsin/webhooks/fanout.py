"""The ``webhooks`` event consumer: each incident event becomes one delivery row per subscription that wants it,
written in the transaction that moves the consumer's cursor (so exactly once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.db.session import WEBHOOK_WORK, note_new_work
from tocsin.events.registry import Consumer, Event
from tocsin.webhooks import repository as repo
from tocsin.webhooks.rules import wants
from tocsin.webhooks.service import body_of

CONSUMER_NAME = "webhooks"


def message_id(event: Event, subscription_id: int) -> str:
    """The webhook-id: the event's key for this consumer, per subscription."""
    return f"{event.key}.{subscription_id}"


def _data(event: Event, incident: repo.IncidentFacts) -> dict[str, Any]:
    if incident.private:
        return _redacted(event, incident)
    return {
        "event": {
            "id": event.id,
            "at": event.at.isoformat(),
            "actor": event.actor,
            "actor_user_id": event.actor_user_id,
            "source": event.source,
            "message": event.message,
            "changes": event.changes,
        },
        # The incident as it is when the event is handed on (usually within a second of the change).
        "incident": asdict(incident),
    }


def _redacted(event: Event, incident: repo.IncidentFacts) -> dict[str, Any]:
    """A private incident's event (ADR 0022): what happened and to which number, never its title, the people's
    words (notes, reasons, messages) or the fields changed beyond its status. Subscriptions are read by systems
    and channels outside the incident's participants, so every one of them gets this body."""
    facts = asdict(incident)
    facts["title"] = f"Private incident #{incident.number}"
    status = event.changes.get("status") if isinstance(event.changes, dict) else None
    return {
        "event": {
            "id": event.id,
            "at": event.at.isoformat(),
            "actor": "",
            "actor_user_id": None,
            "source": event.source,
            "message": "",
            "changes": {"status": status} if status is not None else {},
        },
        "incident": facts,
    }


def fan_out(session: Session, events: Sequence[Event], now: datetime) -> None:
    subscriptions = repo.list_subscriptions(session, enabled_only=True)
    if not subscriptions:
        return
    incidents = repo.incident_facts(session, (e.incident_id for e in events))
    rows: list[dict[str, Any]] = []
    for event in events:
        incident = incidents.get(event.incident_id)
        if incident is None:
            continue  # deleted since
        for sub in subscriptions:
            if not wants(
                event_types=sub.event_types,
                service_id=sub.service_id,
                team_id=sub.team_id,
                event_type=event.type,
                incident_service_id=incident.service_id,
                incident_team_id=incident.team_id,
            ):
                continue
            rows.append(
                {
                    "subscription_id": sub.id,
                    "event_id": event.id,
                    "incident_id": event.incident_id,
                    "event_type": event.type,
                    "message_id": message_id(event, sub.id),
                    "body": body_of(event.type, event.at, _data(event, incident)),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "fence": 0,
                    "created_at": now,
                }
            )
    if rows:
        repo.add_deliveries(session, rows)
        note_new_work(session, WEBHOOK_WORK)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=fan_out)
