"""Hands incident events to their consumers: numbers newly committed events (the sequencer), then moves each due
consumer's cursor under a lease and fencing token, one transaction per consumer batch (ADR 0009).

Passes are at least ``gap`` apart. Events are written by every incident change, so without it each ingest commit
would wake the module for a pass of its own, whose transactions queue for SQLite's one writer beside the ingest's:
a quarter of a second gathers the events of many commits into one pass, and costs a webhook no more than that.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from tocsin.db.session import EVENT_WORK, Database
from tocsin.events import service as events
from tocsin.events.registry import ConsumerRegistry

log = logging.getLogger(__name__)


class EventDeliveryModule:
    name = "events"
    # A lane of its own: a slow consumer never holds up a timer, nor a page.
    lane = "events"
    wakes_on = frozenset({EVENT_WORK})

    def __init__(
        self,
        db: Database,
        registry: ConsumerRegistry,
        *,
        owner: str,
        lease: timedelta = timedelta(seconds=30),
        sequence_batch: int = 1000,
        gap: timedelta = timedelta(0),
    ) -> None:
        self.db = db
        self.registry = registry
        self.owner = owner
        self.lease = lease
        self.sequence_batch = sequence_batch
        self._registered = False
        self.gap = gap
        self._last_pass: float | None = None
        self._resume_at: datetime | None = None

    def run_once(self, now: datetime) -> int:
        if self._last_pass is not None:
            wait = self.gap.total_seconds() - (time.monotonic() - self._last_pass)
            if wait > 0:
                self._resume_at = now + timedelta(seconds=wait)
                return 0
        self._last_pass = time.monotonic()
        self._resume_at = None
        if not self._registered:
            with self.db.unit_of_work() as session:
                events.register_consumers(session, self.registry, now=now)
            self._registered = True
        names = self.registry.names()
        # A read first: a pass with nothing to do (most of them) writes nothing.
        with self.db.reader() as session:
            if not events.has_work(session, names, now=now):
                return 0
        # One transaction to number the new events and claim the consumers: on SQLite each write transaction queues
        # for the one writer (behind the ingest path's commits).
        with self.db.unit_of_work() as session:
            handled = events.sequence(session, limit=self.sequence_batch)
            claims = events.claim_consumers(
                session, now=now, owner=self.owner, lease=self.lease, limit=max(1, len(names))
            )
        for claim in claims:
            try:
                with self.db.unit_of_work() as session:
                    handled += events.deliver(session, claim, self.registry, now=now)
            except OperationalError:
                raise
            except Exception as exc:
                log.exception("event consumer %d failed; its events are handed to it again later", claim.id)
                with self.db.unit_of_work() as session:
                    events.delivery_failed(session, claim, f"{type(exc).__name__}: {exc}", now=now)
        return handled

    def next_due(self) -> datetime | None:
        # Set when a wake came within the gap: the pass it asked for is owed then.
        return self._resume_at
