"""Reminds authors that their silence is about to end, so that a muted problem is not forgotten, and lets a
flapping alert that has become stable page after all."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.alerts import flapping_service, silence_service
from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence


class SilenceReminderModule:
    name = "silence_reminders"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, *, every: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            queued = silence_service.remind_authors(session, now=now)
            queued += flapping_service.resume_stable_flapping(session, now=now)
        with self.db.reader() as session:
            self.cadence.next = silence_service.next_reminder(session, now=now)
        return queued

    def next_due(self) -> datetime | None:
        return self.cadence.next
