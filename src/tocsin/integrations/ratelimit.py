"""A token bucket per integration key, so that one runaway sender cannot crowd out the others.

Each key may send ``burst`` requests at once and ``rate`` requests per second after that. A refused request costs
nothing and is answered 429 with the number of seconds after which one token is back (``Retry-After``). The limits
are meant to catch loops and floods, not busy monitoring: the defaults are far above what a real sender does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class KeyedRateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate < 0 or burst < 0:
            raise ValueError("rate and burst must not be negative")
        self.rate = rate
        self.burst = float(max(burst, 1))
        self.enabled = rate > 0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when the request may go on, else the seconds to wait before retrying."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(tokens=self.burst, stamp=now)
            else:
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
                bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket; dropping those bounds memory under key spraying.
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()


def retry_after_header(wait: float) -> str:
    """Whole seconds, rounded up and at least one, as HTTP's Retry-After wants."""
    return str(max(1, math.ceil(wait)))
