"""Regulatory clock reminders (ADR 0032): on each pass, the reminder points that have come due are written (a
unique row each) and sent to the regime's compliance contacts as notices keyed by that row; the module then sleeps
until the next point. A second pass or a second worker writes and sends nothing more."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.compliance import service as compliance
from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence


class ClockReminderModule:
    name = "clocks"
    # A classification made through the API is picked up on the next full pass (its first point is hours away).
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, *, every: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            reminded, ahead = compliance.remind_due(session, now=now)
        self.cadence.next = ahead
        return reminded

    def next_due(self) -> datetime | None:
        return self.cadence.next
