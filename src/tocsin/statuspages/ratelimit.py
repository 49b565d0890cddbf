"""Subscription flood limits, shared by every process and node through the database (ADR 0026).

A sliding window approximated by slices: the requests of a key in the slices that started within the last window
are summed. A request is counted first and then checked, under the slice row's lock, so that concurrent requests
spread over processes cannot all slip under the limit; a refused request is taken back out, so that a refusal does
not lengthen the wait."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.statuspages import repository as repo

SLICES = 12


def _hash(key: str) -> str:
    return hashlib.sha256(f"statuspage-subscribe:{key}".encode()).hexdigest()


def _slice_start(now: datetime, window: timedelta) -> datetime:
    width = window.total_seconds() / SLICES
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % width, tz=now.tzinfo)


def admit(session: Session, limits: Sequence[tuple[str, int]], *, now: datetime, window: timedelta) -> int | None:
    """Count one request against each ``(key, limit)``; None when every limit admits it, otherwise the seconds to
    wait before the first refusing key has room again (and nothing is counted)."""
    start = _slice_start(now, window)
    since = now - window
    repo.forget_windows(session, since - window)
    counted: list[str] = []
    for key, limit in limits:
        key_hash = _hash(key)
        repo.count_hit(session, key_hash, start)
        counted.append(key_hash)
        slices = repo.hits_since(session, key_hash, since)
        total = sum(hits for _, hits in slices)
        if total <= limit:
            continue
        for done in counted:
            repo.uncount_hit(session, done, start)
        return _wait(slices, total - limit, since)
    return None


def _wait(slices: list[tuple[datetime, int]], excess: int, since: datetime) -> int:
    """Until enough of the oldest slices leave the window for the request to fit."""
    dropped = 0
    for started, hits in slices:
        dropped += hits
        if dropped >= excess:
            return max(1, math.ceil((started - since).total_seconds()))
    return max(1, math.ceil((slices[-1][0] - since).total_seconds())) if slices else 1
