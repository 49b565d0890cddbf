"""Shared guard: notification timing is computed on aware datetimes only."""

from __future__ import annotations

from datetime import datetime


def require_aware(value: datetime, name: str) -> None:
    # A naive datetime here means a value that skipped tocsin.core.clock.utc; its meaning is a guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
