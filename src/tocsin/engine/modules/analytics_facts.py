"""Writes the analytics facts of incidents that have none (analytics.facts): those that existed before the
``analytics`` consumer started, which it is never handed. A batch at a time while any wait, then once an hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.analytics import facts
from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence


class AnalyticsFactsModule:
    name = "analytics_facts"
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, *, batch: int = 1000, every: timedelta = timedelta(hours=1)) -> None:
        self.db = db
        self.batch = batch
        self.every = every
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            written, more = facts.backfill(session, batch=self.batch, now=now)
        self.cadence.next = now if more else now + self.every
        return written

    def next_due(self) -> datetime | None:
        return self.cadence.next
