"""Fires due escalation steps: claim (lease + fence), then fire the claimed batch in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from tocsin.db.claims import Claim
from tocsin.db.session import ESCALATION_WORK, Database
from tocsin.escalation import service as escalation

log = logging.getLogger(__name__)


class EscalationModule:
    name = "escalation"
    # Woken by commits that arm or move escalation timers; otherwise by its own due time.
    wakes_on = frozenset({ESCALATION_WORK})

    # A small batch, as in the notifier: the runner sends pages only between batches, so the first pages of a
    # burst of incidents go out after 50 fires rather than after all of them.
    def __init__(self, db: Database, *, owner: str, lease: timedelta = timedelta(seconds=30), batch: int = 50) -> None:
        self.db = db
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_once(self, now: datetime) -> int:
        if self.db.is_sqlite:
            claimed = self._claim_and_fire(now)
            if claimed is not None:
                return claimed
        with self.db.unit_of_work() as session:
            claims = escalation.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
        if claims:
            self.fire(claims, now)
        return len(claims)

    def _claim_and_fire(self, now: datetime) -> int | None:
        """Claim and fire in one transaction: on SQLite a write transaction holds the whole database, so nobody
        can come between them, and the batch costs one transaction instead of two. (On PostgreSQL the claim's
        row locks taken before the incidents' would deadlock with an acknowledgement, which locks the incident
        first.) None when the batch failed: it is rolled back, and the two-step path fires it one by one."""
        try:
            with self.db.unit_of_work() as session:
                claims = escalation.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
                escalation.fire_claimed_batch(session, claims, now=now)
        except OperationalError:
            raise
        except Exception:
            log.exception("firing a batch of escalations failed; claiming again to fire them one by one")
            return None
        if claims:
            self.on_fired(claims)
        return len(claims)

    def on_fired(self, claims: Sequence[Claim]) -> None:
        """Called once a batch of fires has committed, whichever path fired it (measurements hook in here)."""

    def fire(self, claims: Sequence[Claim], now: datetime) -> None:
        try:
            with self.db.unit_of_work() as session:
                escalation.fire_claimed_batch(session, claims, now=now)
            self.on_fired(claims)
        except OperationalError:
            raise  # The database is away: firing one by one would fail the same way.
        except Exception:
            # One bad escalation must not hold back the others: fire each in its own transaction, so that only
            # the bad one fails (and is retried on a later pass).
            log.exception("firing %d escalations together failed; firing them one by one", len(claims))
            failed: Exception | None = None
            for c in claims:
                try:
                    with self.db.unit_of_work() as session:
                        escalation.fire_claimed(session, c, now=now)
                except Exception as exc:
                    failed = failed or exc
            if failed is not None:
                raise failed from None
            self.on_fired(claims)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return escalation.next_fire(session)
