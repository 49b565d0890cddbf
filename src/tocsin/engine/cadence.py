"""When a periodic module runs: on a fixed cadence, and in between exactly at the next moment it knows of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Cadence:
    every: timedelta
    last: datetime | None = None
    # The next moment with work, as the module last computed it; the runner sleeps until then.
    next: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether to run at ``now``; if so, ``now`` counts as the last run."""
        on_cadence = self.last is None or now - self.last >= self.every
        at_next = self.next is not None and self.next <= now
        if on_cadence or at_next:
            self.last = now
            return True
        return False
