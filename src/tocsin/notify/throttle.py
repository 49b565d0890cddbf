"""Sliding-window throttle per contact method, so one phone is not flooded during an alert storm.

The defaults (5 per 15 minutes, 11 per hour, 21 per 3 hours) keep a person reachable while staying well
under what SMS and voice carriers treat as abuse. All windows must have room for a send to go out.

Window edges: a window of length ``per`` ending at ``now`` holds the sends made after ``now - per``; a send
made exactly ``per`` ago has left it. So a contact method refused because its window is full may send again
at exactly ``oldest counted send + per`` — that is the ``retry_at`` returned.

Messages held back are not dropped: when the window reopens the caller sends one summary built by ``bundle``
instead of replaying every held message, which would fill the window again at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tocsin.notify._time import require_aware


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    per: timedelta

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"a throttle window needs a limit of at least 1, not {self.limit!r}")
        if not isinstance(self.per, timedelta) or self.per <= timedelta(0):
            raise ValueError("a throttle window needs a positive length")


DEFAULT_WINDOWS: Final[tuple[Window, ...]] = (
    Window(5, timedelta(minutes=15)),
    Window(11, timedelta(hours=1)),
    Window(21, timedelta(hours=3)),
)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_at: datetime | None  # set only when refused: the earliest instant at which every window has room


class Throttle:
    def __init__(self, windows: Iterable[Window] = DEFAULT_WINDOWS) -> None:
        self.windows: tuple[Window, ...] = tuple(windows)
        if not self.windows:
            raise ValueError("a throttle needs at least one window")

    @property
    def horizon(self) -> timedelta:
        """How far back ``decide`` looks: the caller need only load sends made after ``now - horizon``."""
        return max(w.per for w in self.windows)

    def decide(self, sent_times: Sequence[datetime], now: datetime) -> Decision:
        """May one more message go to this contact method at ``now``, given the times of earlier sends?

        Sends stamped after ``now`` (another worker's clock running ahead) count as inside every window:
        erring towards fewer messages is the safe side of clock skew here.
        """
        require_aware(now, "now")
        for t in sent_times:
            require_aware(t, "sent time")
        ordered = sorted(sent_times)
        retry_at: datetime | None = None
        for window in self.windows:
            inside = [t for t in ordered if t > now - window.per]
            if len(inside) >= window.limit:
                # Room opens when enough of the oldest sends have aged out to leave limit - 1 inside.
                opens = inside[len(inside) - window.limit] + window.per
                retry_at = opens if retry_at is None else max(retry_at, opens)
        # Waiting never fills a window (no sends happen meanwhile), so the latest opening is the answer.
        return Decision(allowed=retry_at is None, retry_at=retry_at)


def bundle(incident_numbers: Sequence[int], *, max_listed: int = 10) -> str:
    """One summary line for notifications held back by the throttle, e.g. "3 more incidents: #12, #13, #14".

    Numbers are de-duplicated and sorted; past ``max_listed`` the rest are counted, not listed, so the line
    still fits an SMS.
    """
    if max_listed < 1:
        raise ValueError("max_listed must be at least 1")
    numbers = sorted(set(incident_numbers))
    if not numbers:
        raise ValueError("bundle needs at least one held notification")
    noun = "incident" if len(numbers) == 1 else "incidents"
    listed = ", ".join(f"#{n}" for n in numbers[:max_listed])
    rest = len(numbers) - max_listed
    tail = f" and {rest} other{'s' if rest > 1 else ''}" if rest > 0 else ""
    return f"{len(numbers)} more {noun}: {listed}{tail}"


__all__ = ["DEFAULT_WINDOWS", "Decision", "Throttle", "Window", "bundle"]
