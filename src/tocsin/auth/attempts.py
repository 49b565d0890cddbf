"""Backoff on password attempts, per address and per account, kept in memory by each process.

Every attempt is counted when it starts (not when its hash check ends), so a burst of concurrent guesses is
counted before any of them is checked. The first ``free`` attempts of a key pass; each one after that must wait
twice as long as the one before (1 s, 2 s, 4 s … up to ``max_wait``). A successful sign-in clears the account's
count and takes its attempt off the address's count; a count fades once it has been quiet for ``max_wait``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tocsin.core.errors import RateLimited


@dataclass(slots=True)
class _Record:
    attempts: int
    last: float


class AttemptLimiter:
    def __init__(
        self,
        *,
        free_per_address: int,
        free_per_account: int,
        max_wait: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._free = {"address": max(1, free_per_address), "account": max(1, free_per_account)}
        self._max_wait = max_wait
        self._clock = clock
        self._max_keys = max_keys
        self._records: dict[tuple[str, str], _Record] = {}
        self._lock = threading.Lock()

    def _wait_after(self, kind: str, attempts: int) -> float:
        over = attempts - self._free[kind]
        if over < 0:
            return 0.0
        return float(min(self._max_wait, 2.0 ** min(over, 30)))

    def admit(self, *, address: str, account: str) -> float:
        """Count one attempt: 0.0 when it may go on, else the seconds to wait (the attempt is then not counted)."""
        keys = [("address", address), ("account", account.strip().lower())]
        now = self._clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                record = self._current(key, now)
                if record is not None:
                    wait = max(wait, record.last + self._wait_after(key[0], record.attempts) - now)
            if wait > 0:
                return wait
            if len(self._records) >= self._max_keys:
                self._forget_quiet(now)
            for key in keys:
                record = self._current(key, now)
                if record is None:
                    self._records[key] = _Record(attempts=1, last=now)
                else:
                    record.attempts += 1
                    record.last = now
            return 0.0

    def succeeded(self, account: str, address: str | None = None) -> None:
        """A right password: the account starts afresh, and the attempt no longer counts against the address (a
        busy office behind one address signs in all day without waiting)."""
        with self._lock:
            self._records.pop(("account", account.strip().lower()), None)
            if address is None:
                return
            key = ("address", address)
            record = self._records.get(key)
            if record is not None:
                record.attempts -= 1
                if record.attempts <= 0:
                    del self._records[key]

    def _current(self, key: tuple[str, str], now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last > self._max_wait:
            del self._records[key]
            return None
        return record

    def _forget_quiet(self, now: float) -> None:
        quiet = [k for k, r in self._records.items() if now - r.last > self._max_wait]
        for k in quiet:
            del self._records[k]
        if len(self._records) >= self._max_keys:
            # Spraying addresses to fill memory: start over rather than grow without bound.
            self._records.clear()


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
