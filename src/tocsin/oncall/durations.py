"""Durations as people write them in configuration: "30s", "5m", "1h30m", "2d", or a bare number of seconds."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | int) -> timedelta:
    if isinstance(text, int):
        if text < 0:
            raise ValueError("a duration must not be negative")
        return timedelta(seconds=text)
    raw = text.strip().lower()
    if raw.isdigit():
        return timedelta(seconds=int(raw))
    if not raw or _PART.sub("", raw) != "":
        raise ValueError(f"not a duration: {text!r} (use forms like 30s, 5m, 1h30m, 2d)")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(raw)))


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)
