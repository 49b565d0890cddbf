"""Engine and session factories, and the unit of work: the only place in Tocsin that commits."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from tocsin.db.encrypted import Keyring, bind_keyring
from tocsin.db.keys import keyring_from_environment
from tocsin.db.work_signal import BUMP_SQL, SIGNAL_IDS
from tocsin.db.work_signal import ESCALATION_WORK as ESCALATION_WORK  # the kinds of work, beside note_new_work
from tocsin.db.work_signal import EVENT_WORK as EVENT_WORK
from tocsin.db.work_signal import NOTIFICATION_WORK as NOTIFICATION_WORK
from tocsin.db.work_signal import WEBHOOK_WORK as WEBHOOK_WORK
from tocsin.db.work_signal import WORKFLOW_WORK as WORKFLOW_WORK

log = logging.getLogger(__name__)

# The PostgreSQL channel on which a committed transaction tells every process's engine that it left due work.
WORK_CHANNEL = "tocsin_work"
_NEW_WORK = "tocsin_new_work"
# In a session's info: the Database that made it signals new work to other processes through the work_signal rows
# (a SQLite file), and the (row, version) pairs this transaction bumped them to.
_SIGNAL_DB = "tocsin_signal_db"
_SIGNAL_VERSION = "tocsin_signal_version"
WRITER_LOCK_SUFFIX = "-writer.lock"
WRITER_QUEUE_SUFFIX = "-writer.queue"


def note_new_work(session: Session, kind: str | None = None) -> None:
    """Say that this transaction leaves work for the engine (a timer or a message due), so that engines wake when
    it commits and not otherwise. ``kind`` names the module that handles it (``ESCALATION_WORK``,
    ``NOTIFICATION_WORK``), so that only the engine lanes concerned wake; None stands for any kind. On PostgreSQL
    the NOTIFY rides in the transaction itself, with the kind as its payload: the server delivers it on commit and
    drops it on rollback, with no extra connection. On a SQLite file the transaction bumps the kind's work signal
    row instead, which the engines of other processes watch (``engine/sqlite_signal.py``)."""
    kinds: set[str | None] = session.info.setdefault(_NEW_WORK, set())
    if kind in kinds:
        return
    kinds.add(kind)
    signal_db: Database | None = session.info.get(_SIGNAL_DB)
    if signal_db is not None:
        signal_db._bump_signal(session, kind)
    elif session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :kind)"), {"channel": WORK_CHANNEL, "kind": kind or ""})


def _announced(kinds: set[str | None]) -> frozenset[str] | None:
    """The kinds a committed transaction announced, None when one of them was 'any'."""
    return None if None in kinds else frozenset(k for k in kinds if k is not None)


def sqlite_file_path(url: str) -> str | None:
    """The absolute path of the SQLite database file a URL names; None for an in-memory database or another kind.

    ``sqlite:///relative.db`` is relative to the current directory (as SQLite opens it), ``sqlite:////abs/x.db``
    absolute; a query string is not part of the path. With ``?uri=true`` the database is a SQLite URI
    (``file:x.db?mode=memory``).
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    query = {key: (value[-1] if isinstance(value, tuple) else value) for key, value in parsed.query.items()}
    if str(query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        database, _, uri_query = database.removeprefix("file:").partition("?")
        if "mode=memory" in uri_query or query.get("mode") == "memory":
            return None
        if database.startswith("//"):
            # file://host/path: only an empty host or localhost is allowed, as for SQLite itself.
            database = "/" + database[2:].partition("/")[2]
    if database in ("", ":memory:"):
        return None
    return os.path.abspath(database)


def make_engine(
    url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10, idle_transaction_timeout: float | None = None
) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=20,
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    # A bounded connect timeout: an unreachable server must turn into a quick 503 for senders, not a hang.
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if idle_transaction_timeout:
        # A process that stalls (paused, swapped out) with a transaction open would keep its row locks, and other
        # workers' SKIP LOCKED claims would pass over that work for as long as the stall lasts: the server ends
        # such a session instead, and the stalled process finds its connection gone when it wakes.
        ms = round(idle_transaction_timeout * 1000)
        connect_args["options"] = f"-c idle_in_transaction_session_timeout={ms}"
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so that BEGIN IMMEDIATE below takes effect.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A write transaction that starts as a reader and upgrades later can fail with SQLITE_BUSY without
        # waiting; taking the write lock up front makes concurrent writers queue on busy_timeout instead.
        # Readers keep a deferred BEGIN so that WAL lets them run beside the writer.
        if conn.get_execution_options().get("tocsin_writer"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class OnEventLoop(RuntimeError):
    """Database work was started on a thread that runs an event loop."""


def refuse_on_event_loop() -> None:
    """Raise when called on a thread running an event loop. A database call there blocks every other request of
    the process for as long as it waits (on SQLite, for the write gate too): async handlers read their request
    and hand the rest to a thread (a sync handler runs in FastAPI's thread pool)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    # Only code running inside a task blocks the loop's other work. Playwright's sync API, for one, leaves a loop
    # marked running on the thread that drives it, between its own calls, without being inside it.
    if asyncio.current_task() is None:
        return
    raise OnEventLoop("database work on the event loop: use a sync handler, or run_in_threadpool")


class Database:
    """Holds the engine and hands out units of work (never on an event loop's thread)."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "NORMAL",
        idle_transaction_timeout: float | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, sqlite_synchronous=sqlite_synchronous, idle_transaction_timeout=idle_transaction_timeout
        )
        # The key of the encrypted columns (ADR 0017); without one given, the one the environment names.
        self.keyring = keyring or keyring_from_environment(url)
        bind_keyring(self.engine, self.keyring)
        self._readers = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.is_sqlite = url.startswith("sqlite")
        # SQLite has one writer. Writers of this process (ingest, each engine lane, web requests) queue here, and
        # the next one starts the moment the last commits: left to SQLite's busy handler they would poll with
        # sleeps of up to 100 ms, which under load costs more time than the transactions themselves. Re-entrant,
        # because a unit of work may open another in the same thread (as before, that one then waits on SQLite).
        self._write_gate: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._work_listeners: list[Callable[[frozenset[str] | None], None]] = []
        # A SQLite file may be shared by several processes (``tocsin serve`` and ``tocsin worker``s). Their writers
        # queue on an exclusive flock of a side file (behind a second one, so that they take turns: _enter_gate),
        # taken by the outermost unit of work of the thread that holds the gate above. The database file itself is
        # never opened here: closing any descriptor of it would drop SQLite's own POSIX locks.
        self.sqlite_path = sqlite_file_path(url) if self.is_sqlite else None
        self.writer_lock_path = self.sqlite_path + WRITER_LOCK_SUFFIX if self.sqlite_path else None
        self.writer_queue_path = self.sqlite_path + WRITER_QUEUE_SUFFIX if self.sqlite_path else None
        self._lock_fd: int | None = None
        self._queue_fd: int | None = None
        self._lock_pid = 0
        self._gate_depth = 0  # units of work open in the thread that holds the gate (changed only by that thread)
        # Work signal versions this process committed, so that its own watcher does not wake its engine twice.
        self._signal_lock = threading.Lock()
        self._signals_written: deque[tuple[int, int]] = deque(maxlen=256)
        self._signal_missing_logged = False
        session_info = {_SIGNAL_DB: self} if self.sqlite_path else None
        self._sessions = sessionmaker(
            self.engine.execution_options(tocsin_writer=True),
            expire_on_commit=False,
            autoflush=True,
            info=session_info,
        )

    def on_new_work(self, listener: Callable[[frozenset[str] | None], None]) -> None:
        """Called after each commit of a unit of work that noted new work (``note_new_work``), with the kinds
        it announced (None: any kind)."""
        self._work_listeners.append(listener)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends, and rolled back if it raises."""
        refuse_on_event_loop()
        gate = self._write_gate
        if gate is not None:
            gate.acquire()
            try:
                self._enter_gate()
            except BaseException:
                gate.release()
                raise
        session = self._sessions()
        try:
            yield session
            session.commit()
            versions = session.info.pop(_SIGNAL_VERSION, None)
            if versions:
                with self._signal_lock:
                    self._signals_written.extend(versions)
        except BaseException:
            session.rollback()
            raise
        finally:
            try:
                session.close()
            finally:
                if gate is not None:
                    try:
                        self._leave_gate()
                    finally:
                        gate.release()
        kinds = session.info.pop(_NEW_WORK, None)
        if kinds:
            announced = _announced(kinds)
            for listener in self._work_listeners:
                listener(announced)

    # --- the cross-process writer lock (SQLite files) --------------------------------------------------------------
    def _enter_gate(self) -> None:
        """Called with the in-process gate held: the outermost unit of work of this thread takes the flock."""
        if self._gate_depth == 0 and self.writer_lock_path is not None:
            lock_fd, queue_fd = self._writer_lock_fds()
            # flock wakes the waiters of a released lock without handing it to one of them: a process that
            # writes all the time (the ingest writer of a busy server) would take it straight back and starve
            # the others (an engine in another process waited seconds). So a process queues on a second lock
            # first and holds it while it waits for the first: the holder, wanting the lock again, then waits
            # behind it, and under contention the processes take turns.
            fcntl.flock(queue_fd, fcntl.LOCK_EX)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            finally:
                fcntl.flock(queue_fd, fcntl.LOCK_UN)
        self._gate_depth += 1

    def _leave_gate(self) -> None:
        self._gate_depth -= 1
        if self._gate_depth == 0 and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _writer_lock_fds(self) -> tuple[int, int]:
        # Opened once per process: a forked child shares its parent's open files, and so their flocks, and must not
        # use them (its LOCK_UN would release the parent's lock). Not inherited by programs this process runs.
        pid = os.getpid()
        if self._lock_fd is None or self._queue_fd is None or self._lock_pid != pid:
            assert self.writer_lock_path is not None
            assert self.writer_queue_path is not None
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._lock_fd = os.open(self.writer_lock_path, flags, 0o644)
            self._queue_fd = os.open(self.writer_queue_path, flags, 0o644)
            self._lock_pid = pid
        return self._lock_fd, self._queue_fd

    # --- the work signal (SQLite files) -----------------------------------------------------------------------------
    def _bump_signal(self, session: Session, kind: str | None) -> None:
        # On the driver's connection, inside the session's transaction: through SQLAlchemy the statement would cost
        # three times as much CPU as SQLite spends on it.
        driver = session.connection().connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        try:
            row = SIGNAL_IDS.get(kind, SIGNAL_IDS[None])
            rows = driver.execute(BUMP_SQL, (row,)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            # A schema older than the work signal: other processes' engines only hear of this work on their tick.
            # SQLite keeps the transaction after a statement that could not be prepared.
            if not self._signal_missing_logged:
                self._signal_missing_logged = True
                log.warning("work signal not written (%s); is the database migrated?", exc)
            return
        session.info.setdefault(_SIGNAL_VERSION, []).append((row, int(rows[0][0])))

    def wrote_signal(self, row: int, after: int, upto: int) -> bool:
        """Whether every version in (after, upto] of the work signal ``row`` was committed by this process."""
        if upto <= after or upto - after > 64:
            return False
        with self._signal_lock:
            written = set(self._signals_written)
        return all((row, v) in written for v in range(after + 1, upto + 1))

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed."""
        refuse_on_event_loop()
        session = self._readers()
        try:
            yield session
        finally:
            # close() ends the transaction without expiring loaded objects, so they stay readable afterwards.
            session.close()

    def ping(self) -> None:
        refuse_on_event_loop()
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        gate = self._write_gate
        # Close the lock file only when no unit of work holds it (one still running keeps it to its end).
        if gate is not None and self._lock_fd is not None and gate.acquire(timeout=1.0):
            try:
                if self._gate_depth == 0 and self._lock_pid == os.getpid():
                    os.close(self._lock_fd)
                    self._lock_fd = None
                    if self._queue_fd is not None:
                        os.close(self._queue_fd)
                        self._queue_fd = None
            finally:
                gate.release()
