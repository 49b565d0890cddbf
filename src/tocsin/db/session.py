"""Engine and session factories, and the unit of work: the only place in Tocsin that commits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

# The PostgreSQL channel on which a committed transaction tells every process's engine that it left due work.
WORK_CHANNEL = "tocsin_work"
_NEW_WORK = "tocsin_new_work"

# Kinds of new work, named after the engine modules that handle them.
ESCALATION_WORK = "escalation"
NOTIFICATION_WORK = "notification"


def note_new_work(session: Session, kind: str | None = None) -> None:
    """Say that this transaction leaves work for the engine (a timer or a message due), so that engines wake when
    it commits and not otherwise. ``kind`` names the module that handles it (``engine.wake``'s kinds), so that
    only the lanes concerned wake; None stands for any kind. On PostgreSQL the NOTIFY rides in the transaction
    itself, with the kind as its payload: the server delivers it on commit and drops it on rollback, with no
    extra connection."""
    kinds: set[str | None] = session.info.setdefault(_NEW_WORK, set())
    if kind in kinds:
        return
    kinds.add(kind)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :kind)"), {"channel": WORK_CHANNEL, "kind": kind or ""})


def _announced(kinds: set[str | None]) -> frozenset[str] | None:
    """The kinds a committed transaction announced, None when one of them was 'any'."""
    return None if None in kinds else frozenset(k for k in kinds if k is not None)


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


class Database:
    """Holds the engine and hands out units of work."""

    def __init__(
        self, url: str, *, sqlite_synchronous: str = "NORMAL", idle_transaction_timeout: float | None = None
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, sqlite_synchronous=sqlite_synchronous, idle_transaction_timeout=idle_transaction_timeout
        )
        self._sessions = sessionmaker(
            self.engine.execution_options(tocsin_writer=True), expire_on_commit=False, autoflush=True
        )
        self._readers = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.is_sqlite = url.startswith("sqlite")
        # SQLite has one writer. Writers of this process (ingest, each engine lane, web requests) queue here, and
        # the next one starts the moment the last commits: left to SQLite's busy handler they would poll with
        # sleeps of up to 100 ms, which under load costs more time than the transactions themselves. Re-entrant,
        # because a unit of work may open another in the same thread (as before, that one then waits on SQLite).
        self._write_gate: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._work_listeners: list[Callable[[frozenset[str] | None], None]] = []

    def on_new_work(self, listener: Callable[[frozenset[str] | None], None]) -> None:
        """Called after each commit of a unit of work that noted new work (``note_new_work``), with the kinds
        it announced (None: any kind)."""
        self._work_listeners.append(listener)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends, and rolled back if it raises."""
        gate = self._write_gate
        if gate is not None:
            gate.acquire()
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if gate is not None:
                gate.release()
        kinds = session.info.pop(_NEW_WORK, None)
        if kinds:
            announced = _announced(kinds)
            for listener in self._work_listeners:
                listener(announced)

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed."""
        session = self._readers()
        try:
            yield session
        finally:
            # close() ends the transaction without expiring loaded objects, so they stay readable afterwards.
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
