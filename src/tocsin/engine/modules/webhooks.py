"""Sends webhook deliveries: claim a batch, prepare each with its fence checked, post it signed, record the
answer (retries over about a day, then the subscription is disabled)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.core.clock import Clock
from tocsin.db.session import WEBHOOK_WORK, Database
from tocsin.webhooks import sending
from tocsin.webhooks.sending import Poster


class WebhookModule:
    name = "webhooks"
    # Receivers can be slow (10 s timeouts): a lane of its own keeps them from holding up anything else.
    lane = "webhooks"
    wakes_on = frozenset({WEBHOOK_WORK})

    def __init__(
        self,
        db: Database,
        poster: Poster,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 16,
    ) -> None:
        self.db = db
        self.poster = poster
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            claims = sending.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
        for claim in claims:
            with self.db.unit_of_work() as session:
                prepared = sending.prepare(session, claim, now=self.clock.now(), lease=self.lease)
            if prepared is None:
                continue
            answer = self.poster.post_signed(prepared.url, prepared.message_id, prepared.secret, prepared.body.encode())
            with self.db.unit_of_work() as session:
                sending.record(session, prepared, answer, now=self.clock.now())
        return len(claims)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return sending.next_due(session)
