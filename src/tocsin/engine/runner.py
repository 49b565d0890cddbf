"""The worker loop: run every module, then sleep until the earliest due time (at most one tick) or a wakeup.

Each module runs inside its own error boundary: a failing module is logged and retried on the next pass, and the
others keep going. Timing and failures are counted per module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from tocsin.core.clock import Clock
from tocsin.engine.module import Module
from tocsin.engine.wake import Wakeup

log = logging.getLogger(__name__)


class Runner:
    def __init__(
        self,
        modules: Sequence[Module],
        clock: Clock,
        *,
        wakeup: Wakeup | None = None,
        tick: float = 1.0,
        wake_gap: float = 0.01,
    ) -> None:
        self.modules = list(modules)
        self.clock = clock
        self.wakeup = wakeup or Wakeup()
        self.tick = tick
        # Wakeups closer together than this are merged into one pass: under an ingest burst each commit would
        # otherwise cost a pass (and its claim transactions, which queue behind the ingest writer on SQLite).
        self.wake_gap = wake_gap
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.failed_last_pass = False
        self.failures: dict[str, int] = {m.name: 0 for m in self.modules}
        self.seconds: dict[str, float] = {m.name: 0.0 for m in self.modules}

    def run_pass(self) -> int:
        """One pass over every module; returns how many items were handled."""
        handled = 0
        self.failed_last_pass = False
        for module in self.modules:
            started = time.perf_counter()
            try:
                handled += module.run_once(self.clock.now())
            except Exception:
                self.failures[module.name] += 1
                self.failed_last_pass = True
                log.exception("engine module %s failed; it will be retried", module.name)
            finally:
                self.seconds[module.name] += time.perf_counter() - started
        self.passes += 1
        return handled

    def run_until_idle(self, max_passes: int = 1000) -> int:
        """Run passes until nothing is due (tests and drills with a fake clock)."""
        total = 0
        for _ in range(max_passes):
            handled = self.run_pass()
            total += handled
            if handled == 0:
                return total
        raise RuntimeError(f"engine still busy after {max_passes} passes")

    def _sleep_for(self) -> float:
        now = self.clock.now()
        soonest: datetime | None = None
        for module in self.modules:
            try:
                due = module.next_due()
            except Exception:
                log.exception("engine module %s could not say when it is next due", module.name)
                return self.tick
            if due is not None and (soonest is None or due < soonest):
                soonest = due
        if soonest is None:
            return self.tick
        return max(0.0, min(self.tick, (soonest - now).total_seconds()))

    def loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            handled = self.run_pass()
            if self.failed_last_pass:
                # The work that failed is still due (and may be this worker's to retry at once): without a pause
                # the loop would spin on it for as long as the fault lasts.
                self.wakeup.wait(self.tick)
                continue
            if handled:
                continue
            delay = self._sleep_for()
            if delay > 0 and self.wakeup.wait(delay):
                rest = self.wake_gap - (time.monotonic() - started)
                if rest > 0:
                    self._stop.wait(rest)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self.loop, name="tocsin-engine", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wakeup.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
