"""Tells people when an on-call shift of theirs begins (for users who asked for it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.db.session import Database
from tocsin.oncall import service as oncall


class HandoffModule:
    name = "handoff"

    # Look back this far on every pass: a worker that was down briefly still announces recent handoffs, and the
    # notification's idempotency key keeps a handoff from being announced twice.
    LOOKBACK = timedelta(minutes=10)

    def __init__(self, db: Database, *, every: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.every = every
        self._last: datetime | None = None

    def run_once(self, now: datetime) -> int:
        if self._last is not None and now - self._last < self.every:
            return 0
        self._last = now
        with self.db.unit_of_work() as session:
            oncall.announce_handoffs(session, since=now - self.LOOKBACK, now=now)
        return 0

    def next_due(self) -> datetime | None:
        return None
