"""Back-off of a failing event consumer (pure)."""

from __future__ import annotations

from datetime import timedelta

_MAX = timedelta(minutes=5)


def consumer_retry_delay(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at five minutes: a consumer writes rows in the database, so it fails only while the
    database or a bug does, and it should resume soon after."""
    return min(_MAX, timedelta(seconds=2 ** max(0, min(attempts - 1, 20))))
