"""Migration 0007 on both databases: the head row it seeds, and a clean way back to 0005."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tocsin.db import migrate


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/audit-migrate.db"
        return
    from tests.conftest import _create_pg_database, _drop_pg_database, _pg_available

    request.getfixturevalue("postgres_url")  # fails in CI, skips elsewhere, when PostgreSQL is missing
    assert _pg_available() is None
    name = f"tocsin_audit_migrate_{os.getpid()}"
    yield _create_pg_database(name)
    _drop_pg_database(name)


def test_0007_seeds_the_chain_head_and_goes_back_cleanly(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0005")
    migrate.upgrade(fresh_url, "0007")
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT id, last_id, last_hash FROM audit_head"))] == [
                (1, 0, "")
            ]
        columns = {c["name"] for c in inspect(engine).get_columns("audit_log")}
        assert {"channel", "token_id", "ip", "user_agent"} <= columns
        assert inspect(engine).get_foreign_keys("audit_log") == []
        engine.dispose()
        migrate.downgrade(fresh_url, "0005")
        tables = set(inspect(engine).get_table_names())
        assert "audit_head" not in tables
        assert "api_token_addresses" not in tables
        assert "channel" not in {c["name"] for c in inspect(engine).get_columns("audit_log")}
        assert [f["referred_table"] for f in inspect(engine).get_foreign_keys("audit_log")] == ["users"]
    finally:
        engine.dispose()
