"""``tocsin webhook`` against a migrated database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.users import service as users
from tocsin.webhooks import service as webhooks

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def cli(db: Database, *args: str) -> Result:
    env: dict[str, str | None] = {"TOCSIN_DATABASE_URL": db.url, "TOCSIN_CLI_USER": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_create_list_test_deliveries_and_delete(db: Database) -> None:
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="root@example.com", name="Root", role="admin", now=datetime.now(UTC))
        admin_id = admin.id
    created = cli(
        db, "webhook", "create", "ops", "https://hooks.example.com/in", "--event", "incident.resolved", "--json"
    )
    assert created.exit_code == 0, created.output
    sub = json.loads(created.stdout)
    assert sub["secret"].startswith("whsec_")
    assert sub["event_types"] == ["incident.resolved"]
    assert sub["owner_user_id"] == admin_id

    (listed,) = json.loads(cli(db, "webhook", "list", "--json").stdout)
    assert listed["url"] == "https://hooks.example.com/in"
    assert "secret" not in listed

    tested = cli(db, "webhook", "test", str(sub["id"]))
    assert tested.exit_code == 0, tested.output
    (delivery,) = json.loads(cli(db, "webhook", "deliveries", str(sub["id"]), "--json").stdout)
    assert (delivery["event_type"], delivery["status"]) == ("webhook.test", "pending")

    assert cli(db, "webhook", "delete", str(sub["id"])).exit_code == 0
    with db.reader() as s:
        assert webhooks.list_all(s) == []


@sqlite_only
def test_bad_input_is_named(db: Database) -> None:
    with db.unit_of_work() as s:
        users.create_user(s, email="root@example.com", name="Root", role="admin", now=datetime.now(UTC))
        users.create_user(s, email="obs@example.com", name="Obs", role="observer", now=datetime.now(UTC))
    bad_type = cli(db, "webhook", "create", "ops", "https://x.example.com", "--event", "resolved")
    assert bad_type.exit_code == 1
    assert "'resolved'" in bad_type.output
    bad_url = cli(db, "webhook", "create", "ops", "gopher://x")
    assert bad_url.exit_code == 1
    assert "url" in bad_url.output
    missing = cli(db, "webhook", "test", "999")
    assert missing.exit_code == 1
    assert "webhook subscription 999 not found" in missing.output
    not_admin = cli(db, "webhook", "create", "ops", "https://x.example.com", "--as", "obs@example.com")
    assert not_admin.exit_code == 1
    assert "not an admin" in not_admin.output
