"""Runs a batch of blocking calls in the caller's thread, adding helper threads only while a call is slow.

Handing the interpreter lock between threads costs more than a fast call itself (a webhook to a receiver on the
same network answers in well under a millisecond): a pool of threads doubled the CPU per message. Yet one receiver
that hangs until its timeout must not hold back everyone else's page. So the caller works through the batch
itself, and a watchdog adds a helper thread each time no call has finished for ``slow`` seconds while calls are
still waiting; each helper takes waiting calls from the same queue. Once every call has started, the caller waits
at most ``patience`` for the helpers' calls; one still running after that is a straggler: ``run`` returns without
it, and its result goes to ``late`` when it comes, so that one hanging call does not hold up the next batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Batch(Generic[T, R]):
    def __init__(self, items: Sequence[T], call: Callable[[T], R], late: Callable[[T, R], None] | None) -> None:
        self._waiting: deque[tuple[int, T]] = deque(enumerate(items))
        self._call = call
        self._late = late
        self._lock = threading.Lock()
        self.results: list[R | None] = [None] * len(items)
        self.finished = 0
        self.running: set[int] = set()
        self.abandoned = False
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
                self.running.add(index)
                if not self._waiting:
                    self.all_taken.set()
            result = self._call(item)
            with self._lock:
                self.running.discard(index)
                late = self.abandoned
                if not late:
                    self.results[index] = result
                    self.finished += 1
            if late and self._late is not None:
                self._late(item, result)

    def abandon(self) -> set[int]:
        """Stop waiting: the calls still running are stragglers; returns their indices."""
        with self._lock:
            self.abandoned = True
            return set(self.running)


class Spillover:
    """``run(items, call)``: ``call`` on every item; at most ``threads`` calls of a batch at once."""

    def __init__(self, threads: int, *, slow: float = 0.05, patience: float = 1.0, name: str = "tocsin-sender") -> None:
        self.threads = max(1, threads)
        self.slow = slow
        self.patience = patience
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self.helpers_started = 0

    def run(
        self, items: Sequence[T], call: Callable[[T], R], *, late: Callable[[T, R], None] | None = None
    ) -> tuple[list[R | None], set[int]]:
        """The results in order, and the indices of stragglers (their results go to ``late``; without ``late``
        the caller waits for every call)."""
        batch: _Batch[T, R] = _Batch(items, call, late)
        if not items or self.threads <= 1 or (late is None and len(items) == 1):
            batch.drain()
            return batch.results, set()
        if self._pool is None:
            # Room for the stragglers of earlier batches beside this batch's calls.
            self._pool = ThreadPoolExecutor(max_workers=2 * self.threads, thread_name_prefix=self._name)
        # The calls run on one pool thread (one hand-off per batch, not per call) so that the caller can leave a
        # straggler behind; the watchdog adds helpers while calls are slow.
        helpers: list[Future[None]] = [self._pool.submit(batch.drain)]
        watchdog = threading.Thread(target=self._watch, args=(batch, self._pool, helpers), daemon=True)
        watchdog.start()
        batch.all_taken.wait()
        watchdog.join()
        if late is None:
            for helper in helpers:
                helper.result()
            return batch.results, set()
        wait(helpers, timeout=self.patience)
        return batch.results, batch.abandon()

    def _watch(self, batch: _Batch[T, R], pool: ThreadPoolExecutor, helpers: list[Future[None]]) -> None:
        seen = -1
        while not batch.all_taken.wait(self.slow):
            if batch.finished == seen and batch.waiting() and len(helpers) < self.threads:
                helpers.append(pool.submit(batch.drain))
                self.helpers_started += 1
            seen = batch.finished

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
