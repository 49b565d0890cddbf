"""Group commit for ingestion.

Request handlers hand their parsed submission to one writer thread. The writer takes everything that has queued
up, applies it in a single transaction, commits, and only then answers every waiting request. A sender therefore
sees 2xx only for committed events, while the database sees one commit per batch instead of one per request.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from tocsin.alerts.schemas import Submission, SubmissionResult
from tocsin.alerts.service import ingest_batch
from tocsin.alerts.storable import check_submission
from tocsin.core.clock import Clock
from tocsin.core.errors import BadRequest, Unavailable
from tocsin.db.session import Database

log = logging.getLogger(__name__)

_STOP = object()
# Requests in a batch beyond which gathering more saves little: a commit's fixed work is then a small part of it.
GATHER_ENOUGH = 16


@dataclass(slots=True)
class _Item:
    submission: Submission
    future: Future[SubmissionResult]


def _size(item: _Item) -> int:
    return len(item.submission.events) + len(item.submission.changes) or 1


class IngestCommitter:
    def __init__(
        self, db: Database, clock: Clock, *, max_batch: int = 1000, max_events: int = 5000, gather: float = 0.0
    ) -> None:
        self._db = db
        self._clock = clock
        self._max_batch = max_batch
        # While requests keep arriving during commits (several per batch), a commit starts no sooner than this
        # after the one before: the batches grow instead of the commits multiplying (each costs a transaction's
        # fixed work, on SQLite under the database's single write lock). A sender that waits for each answer
        # before sending the next makes batches of one and is never held back.
        self._gather = gather
        self._last_start = float("-inf")
        self._last_size = 0
        # Submissions carry up to thousands of events each (Alertmanager groups); a cap in submissions alone lets
        # one transaction grow until the senders waiting on it time out.
        self._max_events = max_events
        self._carry: _Item | None = None
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[list[SubmissionResult]], None]] = []
        self.batches = 0
        self.items = 0

    def on_commit(self, listener: Callable[[list[SubmissionResult]], None]) -> None:
        """Called in the writer thread after each commit (wake the engine, count metrics)."""
        self._listeners.append(listener)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tocsin-ingest-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def submit_nowait(self, submission: Submission) -> Future[SubmissionResult]:
        """Queue a submission for the next commit; one that cannot be stored is refused here (BadRequest), so
        that it never fails or slows the batch it would have joined."""
        if self._thread is None:
            raise Unavailable("ingestion is not running")
        check_submission(submission)
        future: Future[SubmissionResult] = Future()
        self._queue.put(_Item(submission, future))
        return future

    async def submit(self, submission: Submission) -> SubmissionResult:
        return await asyncio.wrap_future(self.submit_nowait(submission))

    def submit_sync(self, submission: Submission, timeout: float = 30.0) -> SubmissionResult:
        return self.submit_nowait(submission).result(timeout)

    def _run(self) -> None:
        while True:
            first, self._carry = self._carry or self._queue.get(), None
            if first is _STOP:
                return
            if self._last_size > 1:
                self._gather_more()
            self._last_start = time.monotonic()
            batch: list[_Item] = [first]  # type: ignore[list-item]
            events = _size(batch[0])
            stop_after = False
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop_after = True
                    break
                events += _size(nxt)  # type: ignore[arg-type]
                if events > self._max_events:
                    self._carry = nxt  # type: ignore[assignment]
                    break
                batch.append(nxt)  # type: ignore[arg-type]
            self._last_size = len(batch)
            self._commit(batch)
            if stop_after:
                return

    def _gather_more(self) -> None:
        """Wait until the gather since the last commit's start has passed, or enough requests have queued to make
        a batch worth its commit: senders that resend as soon as they are answered (a fixed number of connections)
        are not held to one commit per gather."""
        deadline = self._last_start + self._gather
        while (left := deadline - time.monotonic()) > 0 and self._queue.qsize() < GATHER_ENOUGH - 1:
            time.sleep(min(left, 0.002))

    def _commit(self, batch: list[_Item]) -> None:
        try:
            results = self._apply(batch)
        except OperationalError:
            # The database is away (connection refused or lost, lock timeout): retrying item by item would only
            # multiply the wait. Every sender is told to retry; should the commit have landed after all, the retry
            # is absorbed by dedup.
            log.warning("ingest batch of %d could not be stored: database unavailable", len(batch), exc_info=True)
            for item in batch:
                item.future.set_exception(Unavailable("the database is unavailable; please retry"))
            return
        except Exception as exc:
            # One poisoned submission must not fail its neighbours: retry them one by one.
            log.exception("ingest batch of %d failed; retrying one by one", len(batch))
            if len(batch) > 1:
                for item in batch:
                    self._commit([item])
                return
            batch[0].future.set_exception(_refusal(exc))
            return
        self.batches += 1
        self.items += len(batch)
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)
        for listener in self._listeners:
            try:
                listener(results)
            except Exception:
                log.exception("ingest commit listener failed")

    def _apply(self, batch: list[_Item]) -> list[SubmissionResult]:
        attempts = 0
        while True:
            attempts += 1
            try:
                with self._db.unit_of_work() as session:
                    return ingest_batch(session, [i.submission for i in batch], now=self._clock.now())
            except (IntegrityError, OperationalError):
                # Another node opened the same alert first, or the database blinked: the retry sees its commit.
                if attempts >= 3:
                    raise
                log.warning("ingest batch conflicted (attempt %d); retrying", attempts)


def _refusal(exc: Exception) -> Exception:
    """What to tell the sender of a submission that failed on its own: a value the database refuses fails the same
    way on every retry (400, so the sender stops), anything else may pass later (503, retry)."""
    cause = exc.orig if isinstance(exc, StatementError) else exc
    if isinstance(exc, DataError) or isinstance(cause, ValueError | TypeError):
        return BadRequest(f"the event holds a value the database cannot store: {_first_line(cause)}")
    return Unavailable("the event could not be stored; please retry")


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0][:200] if text else "invalid value"
