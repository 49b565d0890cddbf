"""Repairs what a crash can leave behind: escalations without a timer, sends interrupted mid-flight."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence
from tocsin.escalation import service as escalation
from tocsin.notify import service as notify


class AuditorModule:
    name = "auditor"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database, *, every: timedelta = timedelta(seconds=10)) -> None:
        self.db = db
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            notify.mark_ambiguous(session, now=now)
            escalation.rearm_lost(session, now=now)
        # Repairs are not "work handled": the runner must not spin on them.
        return 0

    def next_due(self) -> datetime | None:
        return None
