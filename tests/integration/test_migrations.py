"""One migration history for both databases: upgrade → downgrade → upgrade leaves the same schema,
and the migrated schema matches the models (nothing missing from a migration)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from tocsin.db import migrate
from tocsin.registry import metadata


def schema_of(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        shape: dict[str, object] = {}
        for table in sorted(insp.get_table_names()):
            shape[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
                ),
                "fks": sorted(
                    (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"])
                    for f in insp.get_foreign_keys(table)
                ),
                "unique": sorted(
                    (u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
                ),
            }
        return shape
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/migrate.db"
    from tests.conftest import _create_pg_database, _pg_available

    request.getfixturevalue("postgres_url")  # fails in CI, skips elsewhere, when PostgreSQL is missing
    assert _pg_available() is None
    return _create_pg_database("tocsin_migrate_roundtrip")


def test_upgrade_downgrade_upgrade_is_stable(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    first = schema_of(fresh_url)
    assert "incidents" in first
    assert "alembic_version" in first
    migrate.downgrade(fresh_url, "base")
    assert set(schema_of(fresh_url)) <= {"alembic_version"}
    migrate.upgrade(fresh_url)
    assert schema_of(fresh_url) == first


def test_migrations_match_the_models(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_the_work_signal_migration_creates_a_row_per_kind_of_work(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0004")
    assert "work_signal" not in schema_of(fresh_url)
    migrate.upgrade(fresh_url, "0005")
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, version FROM work_signal ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [(1, 0), (2, 0), (3, 0)]
    finally:
        engine.dispose()
    migrate.downgrade(fresh_url, "0004")
    assert "work_signal" not in schema_of(fresh_url)


def test_the_events_migration_adds_the_sequencer_row_and_the_signals_of_its_kinds_of_work(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0006")
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT id, last_seq FROM event_sequencer"))] == [(1, 0)]
            rows = conn.execute(text("SELECT id FROM work_signal ORDER BY id")).scalars().all()
            assert rows == [1, 2, 3, 4, 5]
    finally:
        engine.dispose()
    migrate.downgrade(fresh_url, "0005")
    assert "incident_events" not in schema_of(fresh_url)
    assert "webhook_subscriptions" not in schema_of(fresh_url)
