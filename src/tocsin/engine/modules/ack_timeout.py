"""Re-triggers acknowledged incidents whose service's acknowledgement timeout has run out."""

from __future__ import annotations

from datetime import datetime

from tocsin.db.session import Database
from tocsin.incidents import service as incidents


class AckTimeoutModule:
    name = "ack_timeout"
    # Its work comes due with time alone: it runs when its due time comes and on every full pass.
    wakes_on: frozenset[str] = frozenset()

    def __init__(self, db: Database) -> None:
        self.db = db

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            return incidents.retrigger_expired_acks(session, now=now)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return incidents.next_ack_expiry(session)
