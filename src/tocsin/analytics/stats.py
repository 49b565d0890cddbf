"""Summaries of a list of durations (pure): count, median, p90 and mean. Means alone mislead."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    """Seconds; None when no incident of the group has the figure."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "median": self.median, "p90": self.p90, "mean": self.mean}


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (what PostgreSQL's percentile_cont gives), on sorted values."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def summarise(values: Sequence[float | None]) -> Summary:
    present = sorted(v for v in values if v is not None)
    if not present:
        return Summary(0, None, None, None)
    return Summary(
        len(present),
        round(percentile(present, 0.5), 3),
        round(percentile(present, 0.9), 3),
        round(sum(present) / len(present), 3),
    )
