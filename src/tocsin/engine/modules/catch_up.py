"""A module that works through a backlog a batch at a time: again at once while a batch came back full, else on
its cadence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence

# One pass over the backlog: (rows written, whether more wait).
Pass = Callable[[Session, int, datetime], tuple[int, bool]]


class CatchUpModule:
    name = "catch_up"
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, one_pass: Pass, *, batch: int, every: timedelta) -> None:
        self.db = db
        self.one_pass = one_pass
        self.batch = batch
        self.every = every
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            written, more = self.one_pass(session, self.batch, now)
        self.cadence.next = now if more else now + self.every
        return written

    def next_due(self) -> datetime | None:
        return self.cadence.next
