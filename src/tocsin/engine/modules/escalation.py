"""Fires due escalation steps: claim (lease + fence), then each in its own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.db.session import Database
from tocsin.escalation import service as escalation


class EscalationModule:
    name = "escalation"

    # A small batch, as in the notifier: the runner sends pages only between batches, so the first pages of a
    # burst of incidents go out after 50 fires rather than after all of them.
    def __init__(self, db: Database, *, owner: str, lease: timedelta = timedelta(seconds=30), batch: int = 50) -> None:
        self.db = db
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            claims = escalation.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
        for c in claims:
            with self.db.unit_of_work() as session:
                escalation.fire_claimed(session, c, now=now)
        return len(claims)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return escalation.next_fire(session)
