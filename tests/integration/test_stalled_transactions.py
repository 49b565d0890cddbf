"""A process that stalls with a transaction open must not keep its row locks: other workers claim with SKIP
LOCKED and would pass over that work for as long as the stall lasts. PostgreSQL ends such sessions."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tocsin.db.session import Database

pytestmark = pytest.mark.postgres


def test_a_transaction_left_idle_past_the_timeout_loses_its_session_and_its_locks(postgres_url: str) -> None:
    stalled = Database(postgres_url, idle_transaction_timeout=0.5)
    other = Database(postgres_url)
    try:
        with other.unit_of_work() as s:
            s.execute(text("CREATE TABLE IF NOT EXISTS stall_probe (id int PRIMARY KEY)"))
            s.execute(text("INSERT INTO stall_probe VALUES (1) ON CONFLICT DO NOTHING"))
        with stalled.engine.connect() as conn:
            conn.execute(text("SELECT id FROM stall_probe WHERE id = 1 FOR UPDATE"))
            with other.reader() as peek:
                locked = peek.execute(text("SELECT id FROM stall_probe FOR UPDATE SKIP LOCKED")).all()
            assert locked == [], "the row should be locked while the transaction is open"
            time.sleep(1.5)  # the stall
            with pytest.raises(DBAPIError) as ended:
                conn.execute(text("SELECT 1"))
        # Seen as a lost connection, which the engine's runner reports as the database being away.
        assert ended.value.connection_invalidated
        with other.reader() as peek:
            assert peek.execute(text("SELECT id FROM stall_probe FOR UPDATE SKIP LOCKED")).all() == [(1,)]
    finally:
        with other.unit_of_work() as s:
            s.execute(text("DROP TABLE IF EXISTS stall_probe"))
        stalled.dispose()
        other.dispose()


def test_without_the_timeout_an_idle_transaction_keeps_its_session(postgres_url: str) -> None:
    patient = Database(postgres_url)
    try:
        with patient.unit_of_work() as s:
            s.execute(text("SELECT 1"))
            time.sleep(1.0)
            assert s.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        patient.dispose()
