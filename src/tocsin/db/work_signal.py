"""The work signal: one row whose version every SQLite transaction that leaves work for the engine raises.

PostgreSQL tells other processes' engines of new work with NOTIFY. SQLite has nothing of the kind, so a committer
bumps this row inside its transaction, and each process that runs an engine watches the version
(``engine/sqlite_signal.py``): a changed version means another process committed new work.
"""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base

SIGNAL_ID = 1

# An upsert rather than a plain UPDATE: a database whose row was deleted (a wiped test database) gets it back.
BUMP_SQL = (
    "INSERT INTO work_signal (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = work_signal.version + 1 RETURNING version"
)
READ_SQL = "SELECT version FROM work_signal WHERE id = 1"


class WorkSignal(Base):
    """A single row (``id`` 1); ``version`` only ever goes up (it restarts at 1 if the row is deleted)."""

    __tablename__ = "work_signal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
