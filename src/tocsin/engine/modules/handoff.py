"""Tells people when an on-call shift of theirs begins (for users who asked for it).

The module runs on its cadence (``every``) and, in between, exactly at the next handoff it knows of, so the
message goes out when the shift starts rather than up to one cadence later. Each pass looks back
``LOOKBACK``: a worker that was down briefly still announces recent handoffs, and the notification's
idempotency key (schedule, user, shift start) keeps a handoff from being announced twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence
from tocsin.oncall import service as oncall


class HandoffModule:
    name = "handoff"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    LOOKBACK = timedelta(minutes=10)
    # How far ahead to look for the next handoff to wake up for; beyond it the cadence takes over.
    HORIZON = timedelta(days=1)

    def __init__(self, db: Database, *, every: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            queued = oncall.announce_handoffs(session, since=now - self.LOOKBACK, now=now)
        with self.db.reader() as session:
            self.cadence.next = oncall.next_handoff_after(session, now, until=now + self.HORIZON)
        return queued

    def next_due(self) -> datetime | None:
        return self.cadence.next
