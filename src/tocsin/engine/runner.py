"""The worker loop: run every module, then sleep until the earliest due time (at most one tick) or a wakeup.

Modules run in lanes, one thread each: a module's ``lane`` attribute names it (``timers`` when it has none).
Sends are a lane of their own, so a backlog of provider calls never holds up an escalation timer, and timers
firing in a burst never hold up the pages already due. Each module runs inside its own error boundary: a failing
module is logged and retried on the next pass, and the others keep going. Timing and failures are counted per
module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.exc import DBAPIError, OperationalError

from tocsin.core.clock import Clock
from tocsin.engine.module import Module
from tocsin.engine.wake import Wakeup

log = logging.getLogger(__name__)

DEFAULT_LANE = "timers"


def _database_away(exc: BaseException) -> bool:
    """The database restarted, or the connection was ended (by the server, or by a network fault)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def lane_of(module: Module) -> str:
    return str(getattr(module, "lane", DEFAULT_LANE))


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
        self.failures: dict[str, int] = {m.name: 0 for m in self.modules}
        self.seconds: dict[str, float] = {m.name: 0.0 for m in self.modules}
        # Called after each pass of a lane with the lane's name and what the pass handled (drills count passes).
        self.on_pass: Callable[[str, int], None] | None = None

    def lanes(self) -> dict[str, list[Module]]:
        lanes: dict[str, list[Module]] = {}
        for module in self.modules:
            lanes.setdefault(lane_of(module), []).append(module)
        return lanes

    def _run_modules(self, modules: Sequence[Module]) -> tuple[int, bool]:
        """One pass over these modules: (items handled, whether one failed)."""
        handled = 0
        failed = False
        for module in modules:
            self.failures.setdefault(module.name, 0)
            self.seconds.setdefault(module.name, 0.0)
            started = time.perf_counter()
            try:
                handled += module.run_once(self.clock.now())
            except Exception as exc:
                self.failures[module.name] += 1
                failed = True
                if _database_away(exc):
                    # An operational condition, not a bug, and one that lasts many passes: one line each rather
                    # than a traceback each.
                    log.warning("engine module %s: database unavailable (%s); retrying", module.name, _first_line(exc))
                else:
                    log.exception("engine module %s failed; it will be retried", module.name)
            finally:
                self.seconds[module.name] += time.perf_counter() - started
        return handled, failed

    def run_pass(self) -> int:
        """One pass over every module, in this thread; returns how many items were handled."""
        handled, _failed = self._run_modules(self.modules)
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

    def _sleep_for(self, modules: Sequence[Module]) -> float:
        now = self.clock.now()
        soonest: datetime | None = None
        for module in modules:
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

    def _lane_loop(self, name: str, modules: Sequence[Module], woken: threading.Event) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            handled, failed = self._run_modules(modules)
            self.passes += 1
            if self.on_pass is not None:
                self.on_pass(name, handled)
            if failed:
                # The work that failed is still due (and may be this worker's to retry at once): without a pause
                # the loop would spin on it for as long as the fault lasts.
                woken.wait(self.tick)
                woken.clear()
                continue
            if handled:
                continue
            delay = self._sleep_for(modules)
            if delay > 0 and woken.wait(delay):
                woken.clear()
                rest = self.wake_gap - (time.monotonic() - started)
                if rest > 0:
                    self._stop.wait(rest)

    def loop(self) -> None:
        """Run every lane until ``stop``: the first in this thread, the others in threads of their own."""
        lanes = list(self.lanes().items())
        if not lanes:
            self._stop.wait()
            return
        events = [self.wakeup.listen() for _ in lanes]
        threads = [
            threading.Thread(
                target=self._lane_loop, args=(name, modules, event), name=f"tocsin-engine-{name}", daemon=True
            )
            for (name, modules), event in zip(lanes[1:], events[1:], strict=True)
        ]
        for t in threads:
            t.start()
        try:
            self._lane_loop(lanes[0][0], lanes[0][1], events[0])
        finally:
            self._stop.set()
            self.wakeup.notify()
            for t in threads:
                t.join()
            for event in events:
                self.wakeup.forget(event)
            for module in self.modules:
                close = getattr(module, "close", None)
                if callable(close):
                    close()

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
