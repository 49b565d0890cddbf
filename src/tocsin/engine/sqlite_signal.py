"""Cross-process wakeups on SQLite: watch the work signal row that committers of new work bump.

Several processes may share one SQLite file (``tocsin serve`` without its engine, and ``tocsin worker``s). A
transaction that leaves work for the engine raises the version of that kind of work's row in ``work_signal``
(``db/session.py``); each process that runs an engine reads the versions every few milliseconds on a connection of
its own and, when some changed, wakes the lanes of its engine that handle those kinds. A read is one prepared
statement on a page that stays in SQLite's cache (and the WAL index in shared memory): it costs a few microseconds,
and the watcher sleeps in between.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from tocsin.db.work_signal import KIND_OF_SIGNAL, connect_reader, read_versions
from tocsin.engine.wake import Wakeup

log = logging.getLogger(__name__)

# How long to wait before looking again when the database or the signal table is not there (yet).
RETRY_SECONDS = 1.0


class SqliteWorkWatcher:
    def __init__(
        self,
        path: str,
        wakeup: Wakeup,
        *,
        poll: float = 0.01,
        written_here: Callable[[int, int, int], bool] | None = None,
        retry: float = RETRY_SECONDS,
    ) -> None:
        """``written_here(row, after, upto)`` says whether this process committed every version in (after, upto]
        of a signal row: its own engine already heard of those commits in the process, and is not woken a second
        time."""
        self.path = path
        self.wakeup = wakeup
        self.poll = poll
        self.written_here = written_here
        self.retry = retry
        self.notified = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tocsin-sqlite-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        problem: str | None = None
        while not self._stop.is_set():
            try:
                conn = connect_reader(self.path)
            except sqlite3.Error as exc:
                problem = self._report(problem, exc)
                self._stop.wait(self.retry)
                continue
            try:
                problem = self._watch(conn, problem)
            except sqlite3.Error as exc:
                problem = self._report(problem, exc)
                self._stop.wait(self.retry)
            finally:
                conn.close()

    def _watch(self, conn: sqlite3.Connection, problem: str | None) -> str | None:
        seen = read_versions(conn)
        if problem is not None:
            log.info("watching the work signal of %s", self.path)
            problem = None
        # Whatever was committed before the first read (or while the signal could not be read) is for the engine
        # to find now: one pass more at start.
        self.wakeup.notify()
        # time.sleep, not Event.wait: a timed wait on an event costs about twice the CPU of a sleep (a lock and a
        # condition each time), and stopping within one poll period is prompt enough.
        stopped = self._stop.is_set
        poll = self.poll
        read = read_versions
        sleep = time.sleep
        while not stopped():
            sleep(poll)
            versions = read(conn)
            if versions == seen:
                continue
            kinds: set[str] = set()
            everything = False
            for row, version in versions.items():
                before = seen.get(row)
                if before == version:
                    continue
                if before is not None and self.written_here is not None and self.written_here(row, before, version):
                    continue
                kind = KIND_OF_SIGNAL.get(row)
                if kind is None:
                    everything = True
                else:
                    kinds.add(kind)
            if everything or kinds:
                self.notified += 1
                self.wakeup.notify(None if everything else kinds)
            seen = versions
        return problem

    def _report(self, problem: str | None, exc: sqlite3.Error) -> str:
        text = str(exc)
        if text != problem:
            # Once per kind of trouble (the database not migrated yet, the file missing), not once a second.
            log.warning("cannot watch the work signal of %s (%s); retrying every %g s", self.path, text, self.retry)
        return text
