"""Runs workflow steps that are due: claim runs (lease and fence), work each as far as it goes now (see
workflows/runner.py), waits and timers being the runs' due times."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from tocsin.core.clock import Clock
from tocsin.db.claims import Claim
from tocsin.db.session import WORKFLOW_WORK, Database
from tocsin.workflows import actions, runner
from tocsin.workflows.actions import Env


class WorkflowModule:
    name = "workflows"
    # Actions and webhooks can be slow: a lane of its own keeps them from holding up paging.
    lane = "workflows"
    wakes_on = frozenset({WORKFLOW_WORK})

    def __init__(
        self,
        db: Database,
        env: Env,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 32,
        budget: float = 0.1,
    ) -> None:
        self.db = db
        self.env = env
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.batch = batch
        self.budget = budget

    def run_once(self, now: datetime) -> int:
        # The claim and the first stretch of each claimed run share one transaction, up to ``budget`` seconds of
        # work: on SQLite every transaction queues for the one writer, and a run that queued again after each
        # other run of its batch started seconds late under load. The budget bounds how long that transaction
        # keeps paging's writers waiting; the runs past it go on in transactions of their own, as before.
        started = time.monotonic()
        firsts: list[tuple[Claim, runner.Stretch | None]] = []
        with self.db.unit_of_work() as session:
            claims = runner.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
            expired = actions.expire_callbacks(session, now=now)
            for claim in claims:
                first = None
                if time.monotonic() - started < self.budget:
                    first = runner.first_stretch(session, claim, self.env, self.clock.now(), self.lease)
                firsts.append((claim, first))
        for claim, first in firsts:
            runner.drive(self.db, claim, self.env, self.clock, lease=self.lease, first=first)
        return len(claims) + expired

    def next_due(self) -> datetime | None:
        """The next run due, or the next action whose callback time runs out."""
        with self.db.reader() as session:
            times = [t for t in (runner.next_due(session), actions.next_callback_deadline(session)) if t is not None]
        return min(times) if times else None
