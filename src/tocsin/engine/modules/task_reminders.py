"""Reminds the assignees of overdue incident tasks, once per due time."""

from __future__ import annotations

from datetime import datetime

from tocsin.db.session import Database
from tocsin.response import service as response


class TaskReminderModule:
    name = "task_reminders"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database) -> None:
        self.db = db

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            return response.remind_overdue(session, now=now)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return response.next_reminder(session)
