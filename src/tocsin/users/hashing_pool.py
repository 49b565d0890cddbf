"""Password hashing on a few threads of its own, with a bounded queue.

Argon2 is built to cost CPU and memory. Run in the shared thread pool, a flood of sign-in attempts hashes dozens of
passwords at once and every other request (ingest, the API, the console) waits for a thread or a core. Here at most
``workers`` hashes run at a time and at most ``queue`` more wait; past that a check is refused at once (``Busy``)
instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from tocsin.core.errors import Unavailable

T = TypeVar("T")
# What a refused caller is told to wait: a few hash times, enough for the queue to drain.
BUSY_RETRY_SECONDS = 2


class Busy(Unavailable):
    """Too many password checks are running or waiting."""

    def __init__(self) -> None:
        super().__init__(
            "too many sign-in attempts are being checked right now; try again in a few seconds",
            retry_after=str(BUSY_RETRY_SECONDS),
        )


class HashingPool:
    def __init__(self, *, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="password-hash")
        self._slots = threading.BoundedSemaphore(max(1, workers) + max(0, queue))

    def _submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        if not self._slots.acquire(blocking=False):
            raise Busy
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn`` on the pool and wait for it (from a worker thread, never the event loop)."""
        return self._submit(fn, *args).result()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn`` on the pool without blocking the event loop."""
        return await asyncio.wrap_future(self._submit(fn, *args))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
