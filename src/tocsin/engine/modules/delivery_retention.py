"""Forgets what is only kept for a while: inbound delivery ids (SNS MessageId, email Message-ID) once no sender
would retry them any more, and incident events and webhook deliveries past their retention.

The ids only have to outlive the senders' retries (SNS: an hour at most with a custom policy; mail relays: a few
days), so a week is kept. Incident events are kept ``events_keep`` (TOCSIN_EVENTS_KEEP_DAYS) and only deleted once
every registered consumer has passed them; settled webhook deliveries and their log are kept as long. The module
runs on a cadence and deletes in bounded chunks, so that a large backlog never holds a long transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.alerts import service as alerts
from tocsin.db.session import Database
from tocsin.events import service as events
from tocsin.events.registry import ConsumerRegistry
from tocsin.webhooks import sending as webhooks


class DeliveryRetentionModule:
    name = "delivery_retention"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    KEEP = timedelta(days=7)
    CHUNK = 5000

    def __init__(
        self,
        db: Database,
        *,
        every: timedelta = timedelta(hours=1),
        consumers: ConsumerRegistry | None = None,
        events_keep: timedelta = timedelta(days=30),
    ) -> None:
        self.db = db
        self.every = every
        # The consumers whose cursors hold events back; None: events are not pruned here.
        self.consumers = consumers
        self.events_keep = events_keep
        self._next: datetime | None = None

    def run_once(self, now: datetime) -> int:
        if self._next is not None and now < self._next:
            return 0
        with self.db.unit_of_work() as session:
            deleted = alerts.forget_deliveries(session, before=now - self.KEEP, limit=self.CHUNK)
        chunks = [deleted]
        if self.consumers is not None:
            with self.db.unit_of_work() as session:
                chunks.append(events.prune(session, self.consumers, before=now - self.events_keep, limit=self.CHUNK))
            with self.db.unit_of_work() as session:
                chunks.append(webhooks.prune(session, before=now - self.events_keep, limit=self.CHUNK))
        # A full chunk means more are waiting: come back at once, else after the cadence.
        self._next = now if max(chunks) >= self.CHUNK else now + self.every
        return sum(chunks)

    def next_due(self) -> datetime | None:
        return self._next
