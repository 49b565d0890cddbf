"""The worker loop: run the modules that have something to do, then sleep until the earliest due time (at most
one tick) or a wakeup.

Modules run in lanes, one thread each: a module's ``lane`` attribute names it (``timers`` when it has none).
Sends are a lane of their own, so a backlog of provider calls never holds up an escalation timer, and timers
firing in a burst never hold up the pages already due. A wake names the kinds of work committed, and a lane runs
the modules those kinds concern (a module's ``wakes_on``), those still busy and those whose due time came, with a
full pass of every module at least once per tick (ADR 0006). Each module runs inside its own error boundary: a
failing module is logged and retried on the next pass, and the others keep going. Timing and failures are counted
per module.
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
from tocsin.engine.wake import WakeSignal, Wakeup

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


def _wanted(module: Module) -> frozenset[str] | None:
    """The kinds of work that concern ``module``; None (a module without ``wakes_on``) for every kind."""
    wanted: frozenset[str] | None = getattr(module, "wakes_on", None)
    return wanted


def _wakes_on(module: Module, kinds: frozenset[str] | None) -> bool:
    """Whether a wake for ``kinds`` (None: any kind) concerns ``module``."""
    wanted = _wanted(module)
    return kinds is None or wanted is None or not wanted.isdisjoint(kinds)


def _interests(modules: Sequence[Module]) -> frozenset[str] | None:
    """The kinds of work that concern a lane; None when one of its modules wants every wake."""
    kinds: set[str] = set()
    for module in modules:
        wanted = _wanted(module)
        if wanted is None:
            return None
        kinds |= wanted
    return frozenset(kinds)


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

    def _lane_loop(self, name: str, modules: Sequence[Module], signal: WakeSignal) -> None:
        """Run this lane's modules until ``stop``.

        Between full passes (at least one per tick, as before) a pass runs only the modules that have something
        to do: those whose kind of work a commit announced, those that handled something last time (more may be
        due), and those whose own due time has come. The others keep the due time they last told: an empty claim
        and its look-up cost as much as a small batch, and most wakes concern one module of the lane.
        """
        # The due time each module last told (None: nothing due it knows of); a module not in it has not told yet.
        due: dict[str, datetime | None] = {}
        again: set[str] = set()
        last_full = float("-inf")
        kinds: frozenset[str] | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            full = kinds is None or started - last_full >= self.tick
            now = self.clock.now()
            chosen = [
                m
                for m in modules
                if full
                or m.name in again
                or m.name not in due
                or _wakes_on(m, kinds)
                or ((at := due.get(m.name)) is not None and at <= now)
            ]
            if full:
                last_full = started
            handled, failed, busy = self._run_chosen(chosen)
            self.passes += 1
            if self.on_pass is not None:
                self.on_pass(name, handled)
            if failed:
                # The work that failed is still due (and may be this worker's to retry at once): without a pause
                # the loop would spin on it for as long as the fault lasts.
                signal.wait(self.tick)
                kinds = None
                signal.take()
                continue
            again = busy
            for module in chosen:
                if module.name not in again:
                    due[module.name] = self._next_due(module)
            if again:
                kinds = signal.take() if signal.is_set() else frozenset()
                continue
            delay = self._sleep_until_due(due, last_full)
            kinds = frozenset()
            if delay > 0 and signal.wait(delay):
                rest = self.wake_gap - (time.monotonic() - started)
                if rest > 0:
                    self._stop.wait(rest)
            if signal.is_set():
                kinds = signal.take()

    def _run_chosen(self, modules: Sequence[Module]) -> tuple[int, bool, set[str]]:
        """Run these modules once each: (items handled, whether one failed, the names of those that handled
        something)."""
        handled = 0
        failed = False
        busy: set[str] = set()
        for module in modules:
            n, bad = self._run_modules([module])
            handled += n
            failed = failed or bad
            if n:
                busy.add(module.name)
        return handled, failed, busy

    def _next_due(self, module: Module) -> datetime | None:
        try:
            return module.next_due()
        except Exception:
            log.exception("engine module %s could not say when it is next due", module.name)
            # Unknown: look again on the next tick.
            return None

    def _sleep_until_due(self, due: dict[str, datetime | None], last_full: float) -> float:
        """Seconds until the earliest due time the lane's modules told, and never past the next full pass."""
        soonest = max(0.0, self.tick - (time.monotonic() - last_full))
        now = self.clock.now()
        for at in due.values():
            if at is not None:
                soonest = min(soonest, max(0.0, (at - now).total_seconds()))
        return soonest

    def loop(self) -> None:
        """Run every lane until ``stop``: the first in this thread, the others in threads of their own."""
        lanes = list(self.lanes().items())
        if not lanes:
            self._stop.wait()
            return
        signals = [self.wakeup.listen(_interests(modules)) for _name, modules in lanes]
        threads = [
            threading.Thread(
                target=self._lane_loop, args=(name, modules, signal), name=f"tocsin-engine-{name}", daemon=True
            )
            for (name, modules), signal in zip(lanes[1:], signals[1:], strict=True)
        ]
        for t in threads:
            t.start()
        try:
            self._lane_loop(lanes[0][0], lanes[0][1], signals[0])
        finally:
            self._stop.set()
            self.wakeup.notify()
            for t in threads:
                t.join()
            for signal in signals:
                self.wakeup.forget(signal)
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
