"""Runs a batch of blocking calls in the caller's thread, adding helper threads only while a call is slow.

Handing the interpreter lock between threads costs more than a fast call itself (a webhook to a receiver on the
same network answers in well under a millisecond): a pool of threads doubled the CPU per message. Yet one receiver
that hangs until its timeout must not hold back everyone else's page. So the caller works through the batch
itself, and a watchdog adds a helper thread each time no call has finished for ``slow`` seconds while calls are
still waiting; each helper takes waiting calls from the same queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Batch(Generic[T, R]):
    def __init__(self, items: Sequence[T], call: Callable[[T], R]) -> None:
        self._waiting: deque[tuple[int, T]] = deque(enumerate(items))
        self._call = call
        self._lock = threading.Lock()
        self.results: list[R | None] = [None] * len(items)
        self.finished = 0
        # Set once every call has been taken: the watchdog's only wake-up besides its own timer, so that a batch of
        # fast calls does not wake it once per call.
        self.all_taken = threading.Event()

    def waiting(self) -> bool:
        with self._lock:
            return bool(self._waiting)

    def drain(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self.all_taken.set()
                    return
                index, item = self._waiting.popleft()
            self.results[index] = self._call(item)
            with self._lock:
                self.finished += 1


class Spillover:
    """``run(items, call)``: ``call`` on every item, results in order; at most ``threads`` calls at once."""

    def __init__(self, threads: int, *, slow: float = 0.05, name: str = "tocsin-sender") -> None:
        self.threads = max(1, threads)
        self.slow = slow
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self.helpers_started = 0

    def run(self, items: Sequence[T], call: Callable[[T], R]) -> list[R | None]:
        batch: _Batch[T, R] = _Batch(items, call)
        if len(items) <= 1 or self.threads <= 1:
            batch.drain()
            return batch.results
        if self._pool is None:
            # One thread watches, the others help.
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix=self._name)
        watchdog = self._pool.submit(self._watch, batch, self._pool)
        batch.drain()
        for helper in watchdog.result():
            helper.result()
        return batch.results

    def _watch(self, batch: _Batch[T, R], pool: ThreadPoolExecutor) -> list[Future[None]]:
        helpers: list[Future[None]] = []
        seen = -1
        while not batch.all_taken.wait(self.slow):
            if batch.finished == seen and batch.waiting() and len(helpers) < self.threads - 1:
                helpers.append(pool.submit(batch.drain))
                self.helpers_started += 1
            seen = batch.finished
        return helpers

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
