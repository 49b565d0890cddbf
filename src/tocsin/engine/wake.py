"""Wakes the engine as soon as new work is committed, instead of waiting for its next tick.

Each lane of the engine (a thread running some of its modules) listens on an event of its own, and one commit
wakes them all: the lane that has nothing new goes back to sleep after one cheap look.
"""

from __future__ import annotations

import threading


class Wakeup:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[threading.Event] = []

    def notify(self) -> None:
        with self._lock:
            events = list(self._events)
        for event in events:
            event.set()

    def listen(self) -> threading.Event:
        """A new event that every later ``notify`` sets; the listener clears it when it has looked."""
        event = threading.Event()
        with self._lock:
            self._events.append(event)
        return event

    def forget(self, event: threading.Event) -> None:
        with self._lock:
            if event in self._events:
                self._events.remove(event)
