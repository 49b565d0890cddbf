"""Backoff on password and code attempts, per address and per account, kept in the database so that every node
of an installation counts the same attempts (ADR 0015).

Every attempt is counted when it starts (not when its hash check ends), so a burst of concurrent guesses is
counted before any of them is checked: the rows of the attempt's two keys are locked while it is counted. The
first ``free`` attempts of a key pass; each one after that must wait twice as long as the one before (1 s, 2 s,
4 s … up to ``max_wait``). A successful sign-in clears the account's count and takes its attempt off the
address's count; a count fades once it has been quiet for ``max_wait``.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from tocsin.auth import repository as repo
from tocsin.core.clock import Clock, utc
from tocsin.core.errors import RateLimited
from tocsin.db.session import Database

# Quiet rows are deleted once in this many admissions of a process (rows of one key are reused meanwhile).
PRUNE_EVERY = 500


def wait_after(attempts: int, *, free: int, max_wait: float) -> float:
    """Seconds to wait after ``attempts`` counted attempts of a key that has ``free`` of them."""
    over = attempts - max(1, free)
    if over < 0:
        return 0.0
    return float(min(max_wait, 2.0 ** min(over, 30)))


def key_hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest()


def _account(account: str) -> str:
    return account.strip().lower()


class AttemptLimiter:
    def __init__(
        self, db: Database, clock: Clock, *, free_per_address: int, free_per_account: int, max_wait: float
    ) -> None:
        self._db = db
        self._clock = clock
        self._free = {"address": free_per_address, "account": free_per_account}
        self._max_wait = max_wait
        self._admitted = 0

    def admit(self, *, address: str, account: str) -> float:
        """Count one attempt: 0.0 when it may go on, else the seconds to wait (the attempt is then not counted)."""
        keys = {key_hash("address", address): "address", key_hash("account", _account(account)): "account"}
        now = self._clock.now()
        quiet = now - timedelta(seconds=self._max_wait)
        self._admitted += 1
        with self._db.unit_of_work() as session:
            if self._admitted % PRUNE_EVERY == 0:
                repo.forget_quiet_attempts(session, before=quiet)
            rows = repo.lock_attempts(session, list(keys), since=now)
            wait = 0.0
            for hashed, row in rows.items():
                if utc(row.last_at) < quiet:
                    row.attempts = 0
                if row.attempts:
                    free = self._free[keys[hashed]]
                    ready = utc(row.last_at) + timedelta(
                        seconds=wait_after(row.attempts, free=free, max_wait=self._max_wait)
                    )
                    wait = max(wait, (ready - now).total_seconds())
            if wait > 0:
                session.rollback()
                return wait
            for row in rows.values():
                row.attempts += 1
                row.last_at = now
            return 0.0

    def succeeded(self, account: str, address: str | None = None) -> None:
        """A right password: the account starts afresh, and the attempt no longer counts against the address (a
        busy office behind one address signs in all day without waiting)."""
        with self._db.unit_of_work() as session:
            repo.delete_attempts(session, key_hash("account", _account(account)))
            if address is None:
                return
            row = repo.attempt_row(session, key_hash("address", address))
            if row is not None:
                row.attempts = max(0, row.attempts - 1)

    def forget_before(self, when: datetime) -> int:
        with self._db.unit_of_work() as session:
            return repo.forget_quiet_attempts(session, before=when)


class TooManyAttempts(RateLimited):
    def __init__(self, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        super().__init__(f"too many password attempts; wait {seconds} s before trying again", retry_after=str(seconds))
        self.seconds = seconds


def require_admission(limiter: AttemptLimiter, *, address: str, account: str) -> None:
    """Count an attempt, or raise TooManyAttempts (429) when the address or the account must wait."""
    wait = limiter.admit(address=address, account=account)
    if wait > 0:
        raise TooManyAttempts(wait)
