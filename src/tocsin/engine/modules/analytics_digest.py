"""Sends the weekly on-call digest when its weekday and hour come (analytics.digest)."""

from __future__ import annotations

from datetime import datetime

from tocsin.analytics import digest
from tocsin.core.clock import Clock
from tocsin.db.session import Database


class AnalyticsDigestModule:
    name = "analytics_digest"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            return digest.send(session, now=now)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return digest.next_due(session, self.clock.now())
