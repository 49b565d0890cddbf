"""Migration 0011: tokens made before scopes existed keep their full power (scope "admin", no expiry), and the
downgrade takes the new columns and table away again."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from tests.integration.test_migrations import fresh_url  # noqa: F401 (the fixture)
from tocsin.db import migrate


def test_existing_tokens_become_admin_scoped_and_never_expire(fresh_url: str) -> None:  # noqa: F811
    migrate.upgrade(fresh_url, "0009")
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, timezone, role, handoff_notifications, created_at)"
                    " VALUES (1, 'ann@example.com', 'Ann', 'UTC', 'responder', false, '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at)"
                    " VALUES (1, 1, 'ci', :hash, 'tocsin_abcd', '2026-01-01 00:00:00')"
                ),
                {"hash": "0" * 64},
            )
        migrate.upgrade(fresh_url)
        with engine.connect() as conn:
            scope, expires = conn.execute(text("SELECT scope, expires_at FROM api_tokens WHERE id = 1")).one()
        assert (scope, expires) == ("admin", None)
        migrate.downgrade(fresh_url, "0009")
        engine.dispose()
        columns = {c["name"] for c in inspect(engine).get_columns("api_tokens")}
        assert "scope" not in columns
        assert "recovery_codes" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
