"""Who consumes incident events: a name, the event types wanted, and a handler.

A handler runs inside the transaction that moves the consumer's cursor past the events it is given, after the
cursor's fence was checked; it either writes durable rows of its own (the webhook deliveries, later the
workflow runs), which then commit exactly once with the cursor, or calls out and relies on the idempotency
key: a handler that fails or a worker that dies before the commit gets the same events again, with the same keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    seq: int
    incident_id: int
    type: str
    at: datetime
    source: str
    actor_user_id: int | None
    actor: str
    message: str
    changes: dict[str, Any]
    # The same on every delivery of this event to this consumer: what a receiver deduplicates on.
    key: str


Handler = Callable[[Session, Sequence[Event], datetime], None]


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    handler: Handler
    # None: every type.
    types: frozenset[str] | None = None
    batch: int = field(default=200)


def idempotency_key(consumer: str, event_id: int) -> str:
    return f"{consumer}.{event_id}"


class ConsumerRegistry:
    def __init__(self, consumers: Sequence[Consumer] = ()) -> None:
        self._by_name: dict[str, Consumer] = {}
        for consumer in consumers:
            self.register(consumer)

    def register(self, consumer: Consumer) -> None:
        if consumer.name in self._by_name:
            raise ValueError(f"event consumer {consumer.name!r} is registered twice")
        if not consumer.name or len(consumer.name) > 64:
            raise ValueError("an event consumer needs a name of 1 to 64 characters")
        self._by_name[consumer.name] = consumer

    def get(self, name: str) -> Consumer | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Consumer]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)
