"""Opens an incident for every heartbeat monitor whose period and grace have passed without a ping.

It runs before the escalation module in a pass, so that the incident it opens is escalated in the same pass, and
tells the runner the earliest deadline so that the worker wakes exactly then.
"""

from __future__ import annotations

from datetime import datetime

from tocsin.db.session import Database
from tocsin.heartbeats import service as heartbeats


class HeartbeatModule:
    name = "heartbeat"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database) -> None:
        self.db = db

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            return heartbeats.expire_due(session, now=now)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return heartbeats.next_due(session)
