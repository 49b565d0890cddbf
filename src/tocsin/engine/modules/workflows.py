"""Runs workflow steps that are due: claim runs (lease and fence), work each as far as it goes now (see
workflows/runner.py), waits and timers being the runs' due times."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.core.clock import Clock
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
    ) -> None:
        self.db = db
        self.env = env
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            claims = runner.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
            expired = actions.expire_callbacks(session, now=now)
        for claim in claims:
            runner.drive(self.db, claim, self.env, self.clock, lease=self.lease)
        return len(claims) + expired

    def next_due(self) -> datetime | None:
        """The next run due, or the next action whose callback time runs out."""
        with self.db.reader() as session:
            times = [t for t in (runner.next_due(session), actions.next_callback_deadline(session)) if t is not None]
        return min(times) if times else None
