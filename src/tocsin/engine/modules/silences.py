"""Reminds authors that their silence is about to end, so that a muted problem is not forgotten, and lets a
flapping alert that has become stable page after all."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.alerts import flapping_service, silence_service
from tocsin.db.session import Database


class SilenceReminderModule:
    name = "silence_reminders"

    def __init__(self, db: Database, *, every: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.every = every
        self._last: datetime | None = None
        self._next: datetime | None = None

    def run_once(self, now: datetime) -> int:
        cadence_due = self._last is None or now - self._last >= self.every
        reminder_due = self._next is not None and self._next <= now
        if not (cadence_due or reminder_due):
            return 0
        self._last = now
        with self.db.unit_of_work() as session:
            queued = silence_service.remind_authors(session, now=now)
            queued += flapping_service.resume_stable_flapping(session, now=now)
        with self.db.reader() as session:
            self._next = silence_service.next_reminder(session, now=now)
        return queued

    def next_due(self) -> datetime | None:
        return self._next
