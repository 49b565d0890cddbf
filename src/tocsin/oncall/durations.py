"""Durations as people write them in configuration: "30s", "5m", "1h30m", "2d", or a bare number of seconds.

Units come largest first, each at most once ("1h30m", not "30m1h"), so every text has one obvious reading.
"""

from __future__ import annotations

import re
from datetime import timedelta

from tocsin.core.numbers import is_ascii_digits

_FORM = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_HINT = "use forms like 30s, 5m, 1h30m, 2d or a number of seconds"
# Far beyond any sensible delay or shift, and well inside what timedelta and a BIGINT column hold.
MAX_SECONDS = 100 * 365 * 86400


def parse_duration(text: str | int) -> timedelta:
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"not a duration: {text!r} ({_HINT})")
    if isinstance(text, int):
        seconds = text
    else:
        raw = text.strip().lower()
        if is_ascii_digits(raw):
            seconds = int(raw)
        else:
            match = _FORM.fullmatch(raw)
            if not raw or match is None:
                raise ValueError(f"not a duration: {text!r} ({_HINT})")
            seconds = sum(int(n) * _UNITS[unit] for unit, n in match.groupdict().items() if n is not None)
    if seconds < 0:
        raise ValueError(f"a duration must not be negative, not {text!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration {text!r} is too long (at most 100 years)")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    if total < 0:
        raise ValueError("a duration must not be negative")
    if total == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)
