"""Wakes the engine as soon as new work is committed, instead of waiting for its next tick.

Each lane of the engine (a thread running some of its modules) listens on a signal of its own, and a commit
wakes the lanes whose modules handle the kinds of work it left (``db.session``'s ``*_WORK``). A signal
remembers which kinds arrived since its lane last looked, so the lane runs only the modules they concern. A wake
without kinds (a person's action, another process whose commit said nothing more) stands for every kind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable


class WakeSignal:
    """One lane's wake-up: an event to wait on, and the kinds of work that arrived since it last looked."""

    def __init__(self, interests: frozenset[str] | None) -> None:
        # None: every kind concerns this lane.
        self.interests = interests
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._kinds: set[str] = set()
        self._everything = False

    def concerns(self, kinds: frozenset[str] | None) -> bool:
        return kinds is None or self.interests is None or not self.interests.isdisjoint(kinds)

    def set(self, kinds: frozenset[str] | None = None) -> None:
        with self._lock:
            if kinds is None:
                self._everything = True
            else:
                self._kinds.update(kinds)
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def take(self) -> frozenset[str] | None:
        """The kinds that arrived since the last look (None: any kind), and forget them."""
        with self._lock:
            self._event.clear()
            everything, self._everything = self._everything, False
            kinds, self._kinds = frozenset(self._kinds), set()
        return None if everything else kinds

    def is_set(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        self.take()


class Wakeup:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signals: list[WakeSignal] = []

    def notify(self, kinds: Iterable[str] | None = None) -> None:
        """Wake the lanes that handle any of ``kinds`` (every lane when None)."""
        wanted = None if kinds is None else frozenset(kinds)
        with self._lock:
            signals = list(self._signals)
        for signal in signals:
            if signal.concerns(wanted):
                signal.set(wanted)

    def listen(self, interests: Iterable[str] | None = None) -> WakeSignal:
        """A new signal that later ``notify`` calls set when they concern ``interests`` (None: all of them);
        the listener takes the kinds when it has looked."""
        signal = WakeSignal(None if interests is None else frozenset(interests))
        with self._lock:
            self._signals.append(signal)
        return signal

    def forget(self, signal: WakeSignal) -> None:
        with self._lock:
            if signal in self._signals:
                self._signals.remove(signal)
