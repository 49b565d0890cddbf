"""Wakes by kind of work, and a lane that runs only the modules a wake concerns (real threads, system clock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tocsin.core.clock import SystemClock
from tocsin.engine.runner import Runner
from tocsin.engine.wake import Wakeup


def test_a_signal_is_set_only_by_the_kinds_it_listens_for() -> None:
    wakeup = Wakeup()
    escalations = wakeup.listen(["escalation"])
    everything = wakeup.listen()
    wakeup.notify(["notification"])
    assert not escalations.is_set()
    assert everything.is_set()
    assert everything.take() == frozenset({"notification"})
    assert not everything.is_set()

    wakeup.notify(["escalation"])
    wakeup.notify(["escalation", "notification"])
    assert escalations.take() == frozenset({"escalation", "notification"})
    wakeup.notify()
    assert escalations.take() is None, "a wake without kinds stands for every kind"
    assert escalations.take() == frozenset()


class CountingModule:
    def __init__(
        self, name: str, wakes_on: frozenset[str] | None, *, due: Callable[[], datetime | None] = lambda: None
    ) -> None:
        self.name = name
        if wakes_on is not None:
            self.wakes_on = wakes_on
        self.runs = 0
        self.pending = 0
        self.due = due
        self._lock = threading.Lock()

    def run_once(self, now: datetime) -> int:
        with self._lock:
            self.runs += 1
            handled, self.pending = min(self.pending, 1), max(0, self.pending - 1)
        return handled

    def next_due(self) -> datetime | None:
        return self.due()


def _settle(seconds: float = 0.3) -> None:
    """Let the lane finish what it was woken for."""
    time.sleep(seconds)


def _runs(*modules: CountingModule) -> list[int]:
    return [m.runs for m in modules]


def test_a_wake_runs_only_the_modules_its_kinds_concern() -> None:
    clock = SystemClock()
    escalation = CountingModule("escalation", frozenset({"escalation"}))
    timed = CountingModule("timed", frozenset())
    runner = Runner([escalation, timed], clock, tick=30, wake_gap=0)
    runner.start()
    try:
        _settle()
        assert _runs(escalation, timed) == [1, 1], "the first pass runs every module"

        runner.wakeup.notify(["escalation"])
        _settle()
        assert _runs(escalation, timed) == [2, 1]

        runner.wakeup.notify(["notification"])
        _settle()
        assert _runs(escalation, timed) == [2, 1], "a kind no module of the lane handles does not wake it"

        runner.wakeup.notify()
        _settle()
        assert _runs(escalation, timed) == [3, 2], "a wake without kinds is a full pass"
    finally:
        runner.stop()


def test_a_module_runs_when_its_own_due_time_comes_without_any_wake() -> None:
    clock = SystemClock()
    at = clock.now() + timedelta(seconds=0.5)
    timed = CountingModule("timed", frozenset(), due=lambda: at if clock.now() < at else None)
    other = CountingModule("other", frozenset({"escalation"}))
    runner = Runner([timed, other], clock, tick=30, wake_gap=0)
    runner.start()
    try:
        _settle(0.2)
        assert _runs(timed, other) == [1, 1]
        _settle(0.6)
        assert timed.runs == 2, "the module did not run when it said it was due"
        assert other.runs == 1, "a module whose due time did not come ran anyway"
    finally:
        runner.stop()


def test_a_module_that_handled_something_runs_again_at_once_and_alone() -> None:
    clock = SystemClock()
    busy = CountingModule("busy", frozenset({"escalation"}))
    idle = CountingModule("idle", frozenset())
    runner = Runner([busy, idle], clock, tick=30, wake_gap=0)
    runner.start()
    try:
        _settle()
        busy.pending = 5
        runner.wakeup.notify(["escalation"])
        _settle()
        # One run per item, and one more that finds nothing left; the idle module is left alone meanwhile.
        assert busy.runs == 1 + 6
        assert idle.runs == 1
    finally:
        runner.stop()


def test_every_module_runs_again_within_a_tick() -> None:
    """Work that was committed without announcing its kind is found by the full pass at the next tick."""
    clock = SystemClock()
    timed = CountingModule("timed", frozenset())
    runner = Runner([timed], clock, tick=0.3, wake_gap=0)
    runner.start()
    try:
        _settle(1.0)
        assert 3 <= timed.runs <= 5
    finally:
        runner.stop()
