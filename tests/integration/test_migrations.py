"""One migration history for both databases: upgrade → downgrade → upgrade leaves the same schema,
and the migrated schema matches the models (nothing missing from a migration)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

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
def fresh_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrate.db"
        return
    from tests.conftest import _create_pg_database, _drop_pg_database, _pg_available

    request.getfixturevalue("postgres_url")  # fails in CI, skips elsewhere, when PostgreSQL is missing
    assert _pg_available() is None
    name = f"tocsin_migrate_roundtrip_{os.getpid()}"
    yield _create_pg_database(name)
    _drop_pg_database(name)


def test_upgrade_downgrade_upgrade_is_stable(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    first = schema_of(fresh_url)
    assert "incidents" in first
    assert "alembic_version" in first
    migrate.downgrade(fresh_url, "base")
    assert set(schema_of(fresh_url)) <= {"alembic_version"}
    migrate.upgrade(fresh_url)
    assert schema_of(fresh_url) == first


def _mapped(name: str | None, type_: str, parent: object) -> bool:
    """Tables the database keeps for a mapped one and that no model maps: SQLite's FTS5 index of the knowledge
    documents and its shadow tables (ADR 0030)."""
    return not (type_ == "table" and name is not None and name.startswith("knowledge_fts"))


def test_migrations_match_the_models(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": False, "include_name": _mapped}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
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


def _foreign_key(url: str, table: str, column: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        (fk,) = [f for f in inspect(engine).get_foreign_keys(table) if f["constrained_columns"] == [column]]
        return fk
    finally:
        engine.dispose()


def test_the_archiving_migration_keeps_history_and_stops_cascades(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0005")
    at = "2026-01-01 00:00:00"
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO services (id, name, description, urgency, auto_resolve, created_at)"
                    " VALUES (1, 'db', '', 'high', true, :at)"
                ),
                {"at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO integrations (id, service_id, name, type, key, created_at)"
                    " VALUES (1, 1, 'am', 'alertmanager', 'k0000000000000000', :at)"
                ),
                {"at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO incidents (id, number, title, description, service_id, status, urgency, severity,"
                    " priority, alert_count, created_at, updated_at, major)"
                    " VALUES (1, 1, 'disk full', '', 1, 'triggered', 'high', 'SEV3', 'P3', 1, :at, :at, false)"
                ),
                {"at": at},
            )
            alert = (
                "INSERT INTO alerts (integration_id, service_id, incident_id, dedup_key, status, summary, severity,"
                " source, labels, details, links, event_count, created_at, last_event_at, inhibits)"
                " VALUES (1, 1, 1, 'disk', :status, 'disk full', 'error', '', '{}', '{}', '{}', 1, :at, :at, false)"
            )
            conn.execute(text(alert), {"at": at, "status": "resolved"})
            conn.execute(text(alert), {"at": at, "status": "triggered"})
    finally:
        engine.dispose()

    migrate.upgrade(fresh_url, "0008")
    for table, column in (("incidents", "service_id"), ("alerts", "service_id"), ("alerts", "integration_id")):
        assert _foreign_key(fresh_url, table, column)["options"].get("ondelete") == "RESTRICT", (table, column)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT title FROM incidents")).scalar_one() == "disk full"
            assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 2
            assert conn.execute(text("SELECT archived_at FROM services")).scalar_one() is None
        # The partial dedup index came back with its condition: a second open alert for the key is refused.
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(alert), {"at": at, "status": "triggered"})
        with engine.connect() as conn:
            if fresh_url.startswith("sqlite"):
                conn.execute(text("PRAGMA foreign_keys=ON"))
            with pytest.raises(IntegrityError):
                conn.execute(text("DELETE FROM services WHERE id = 1"))
    finally:
        engine.dispose()

    migrate.downgrade(fresh_url, "0005")
    assert _foreign_key(fresh_url, "incidents", "service_id")["options"].get("ondelete") == "CASCADE"
    assert "archived_at" not in {c[0] for c in schema_of(fresh_url)["services"]["columns"]}  # type: ignore[index]


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
