"""The work signal: one row per kind of work, whose version every SQLite transaction that leaves such work for
the engine raises.

PostgreSQL tells other processes' engines of new work with NOTIFY (the kind as payload). SQLite has nothing of
the kind, so a committer bumps the row of each kind of work it left inside its transaction, and each process that
runs an engine watches the versions (``engine/sqlite_signal.py``): a changed version means another process
committed new work of that kind, and only the engine lanes it concerns wake.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base

# Kinds of new work, named after the engine modules that handle them (None: any kind).
ESCALATION_WORK = "escalation"
NOTIFICATION_WORK = "notification"
# Incident events to hand to their consumers (``events/``), and webhook deliveries due.
EVENT_WORK = "events"
WEBHOOK_WORK = "webhooks"
# Workflow runs due (``workflows/``).
WORKFLOW_WORK = "workflows"

# The row of each kind.
SIGNAL_IDS: dict[str | None, int] = {
    None: 1,
    ESCALATION_WORK: 2,
    NOTIFICATION_WORK: 3,
    EVENT_WORK: 4,
    WEBHOOK_WORK: 5,
    WORKFLOW_WORK: 6,
}
KIND_OF_SIGNAL: dict[int, str | None] = {row: kind for kind, row in SIGNAL_IDS.items()}

# An upsert rather than a plain UPDATE: a database whose row was deleted (a wiped test database) gets it back.
BUMP_SQL = (
    "INSERT INTO work_signal (id, version) VALUES (?, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = work_signal.version + 1 RETURNING version"
)
READ_SQL = "SELECT id, version FROM work_signal"


def connect_reader(path: str) -> sqlite3.Connection:
    """A connection of its own for watching the signal of the SQLite file at ``path``.

    mode=rw: never create the database file if it is not there yet. Autocommit, so that no read transaction stays
    open between reads (it would keep the WAL from being checkpointed back to its start)."""
    return sqlite3.connect(
        f"file:{quote(path)}?mode=rw", uri=True, timeout=1.0, isolation_level=None, check_same_thread=False
    )


def read_versions(conn: sqlite3.Connection) -> dict[int, int]:
    """Each signal row's version, by row id."""
    # fetchall steps the statement to its end, which resets it and ends the read transaction.
    return {int(row): int(version) for row, version in conn.execute(READ_SQL).fetchall()}


class WorkSignal(Base):
    """One row per kind of work (``SIGNAL_IDS``); ``version`` only ever goes up (it restarts at 1 if the row is
    deleted)."""

    __tablename__ = "work_signal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
