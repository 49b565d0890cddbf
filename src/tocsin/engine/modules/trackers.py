"""Creates and updates remote tracker issues: claim a batch, prepare each with its fence checked, call the tracker,
record the outcome (retries with backoff, Retry-After honoured, never a second issue for one local object)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.core.clock import Clock
from tocsin.db.session import Database
from tocsin.trackers import sync
from tocsin.trackers.http import Http


class TrackerModule:
    name = "trackers"
    # Trackers answer slowly (10 s timeouts), like webhook receivers: their lane keeps them from holding up pages.
    lane = "webhooks"
    wakes_on: frozenset[str] = frozenset()

    def __init__(
        self,
        db: Database,
        http: Http,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 8,
    ) -> None:
        self.db = db
        self.http = http
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            claims = sync.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
        for claim in claims:
            with self.db.unit_of_work() as session:
                work = sync.prepare(session, claim, now=self.clock.now(), lease=self.lease)
            if work is None:
                continue
            outcome = sync.perform(work, self.http)
            with self.db.unit_of_work() as session:
                sync.record(session, work, outcome, now=self.clock.now())
        return len(claims)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return sync.next_due(session)
