"""At most a few passive replies per phone number per hour.

An SMS auto-responder answering our reply, which its owner's phone answers again, is a loop that costs money
and floods a phone. Replies beyond the limit are dropped (the request still acts; only our answer is withheld).

The counts are kept in process memory, per node: the limit bounds loops, which are fast and hit whichever node
Twilio reaches, so an exact cluster-wide count is not worth a database write per inbound text. A restart
forgets the counts, which at worst allows one more burst of a few messages.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta


class ReplyLimiter:
    def __init__(self, limit: int = 5, per: timedelta = timedelta(hours=1), max_numbers: int = 10_000) -> None:
        self.limit = limit
        self.per = per
        self._max_numbers = max_numbers
        self._sent: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, number: str, now: datetime) -> bool:
        """True (and counted) if one more reply may go to ``number`` at ``now``."""
        with self._lock:
            times = self._sent.setdefault(number, deque())
            while times and times[0] <= now - self.per:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            if len(self._sent) > self._max_numbers:
                self._forget_idle(now)
            return True

    def _forget_idle(self, now: datetime) -> None:
        idle = [n for n, t in self._sent.items() if not t or t[-1] <= now - self.per]
        for number in idle:
            del self._sent[number]
