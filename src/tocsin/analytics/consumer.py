"""The ``analytics`` incident event consumer (ADR 0009, 0038): rewrites the facts of the incidents an event batch
names. Paging's own entries (each message sent, retried, failed) change no fact and are not asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from tocsin.analytics import facts
from tocsin.events.registry import Consumer, Event
from tocsin.events.rows import event_type
from tocsin.incidents.timeline import TimelineKind as K

CONSUMER_NAME = "analytics"
_UNREAD: Final = {
    K.NOTIFIED,
    K.NOTIFY_UPDATED,
    K.NOTIFY_RETRY,
    K.NOTIFY_FAILED,
    K.NOTIFY_HELD,
    K.NOTIFY_AMBIGUOUS,
    K.NOTIFY_FALLBACK,
    K.NOTIFY_UNANSWERED,
    K.ALERT_GROUPED,
    K.WORKFLOW_STEP,
    K.CLOCK_REMINDER,
    K.STAKEHOLDER_UPDATE_DUE,
}
TYPES: Final = frozenset(event_type(k.value) for k in K if k not in _UNREAD)


def react(session: Session, events: Sequence[Event], now: datetime) -> None:
    facts.refresh(session, {e.incident_id for e in events}, now=now)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=react, types=TYPES)
