"""Per-platform pacing: a token bucket per platform shared by a worker's threads, and the backoff of a room whose
call failed. A call that finds the bucket empty is not slept on: the room is put back with the time a token comes
(the engine's lane stays free for the other rooms, and no platform's limit is exceeded by a burst)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from tocsin.chat.platforms.base import Paced

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 15 * 60.0


def backoff(attempts: int) -> float:
    return min(BACKOFF_BASE_SECONDS * 2.0 ** min(max(attempts - 1, 0), 30), BACKOFF_CAP_SECONDS)


class Pacer:
    def __init__(self, per_second: Mapping[str, float], *, burst: float = 20.0) -> None:
        self._rate = dict(per_second)
        self._burst = burst
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, platform: str) -> None:
        """One call's token; ``Paced`` (transient, with when to come back) when the platform's bucket is dry."""
        rate = self._rate.get(platform)
        if rate is None or rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            tokens = min(
                self._burst, self._tokens.get(platform, self._burst) + (now - self._at.get(platform, now)) * rate
            )
            self._at[platform] = now
            if tokens < 1:
                self._tokens[platform] = tokens
                raise Paced(f"{platform}: paced", transient=True, retry_after=(1 - tokens) / rate)
            self._tokens[platform] = tokens - 1
