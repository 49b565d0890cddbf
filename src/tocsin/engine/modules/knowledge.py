"""The search index's polled sources (ADR 0030): runbooks and whatever the domains above register without an
incident-bound loader. Incident-bound documents are kept by the incident events consumer instead."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence
from tocsin.knowledge import indexer


class KnowledgeIndexModule:
    name = "knowledge"
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, *, batch: int = 500, every: timedelta = timedelta(seconds=10)) -> None:
        self.db = db
        self.batch = batch
        self.every = every
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            written, more = indexer.poll(session, batch=self.batch)
        self.cadence.next = now if more else now + self.every
        return written

    def next_due(self) -> datetime | None:
        return self.cadence.next
