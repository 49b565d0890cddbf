"""Deactivating, archiving and ``tocsin apply --prune`` are configuration changes: each leaves audit entries with
the column it set before and after, naming who did it and through which channel, on both databases."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.conftest import ApiHarness
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.audit.repository import AuditFilter
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _entries(db: Database, *, channel: str | None = None, action: str | None = None) -> list[AuditEntry]:
    with db.reader() as s:
        rows, _ = audit.list_entries(s, AuditFilter(channel=channel, action=action), limit=200)
    return list(reversed(rows))


def _at(value: object) -> datetime:
    """An audit entry's timestamp value as an aware datetime (SQLite hands back naive UTC ones)."""
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _one_change(entries: list[AuditEntry], object_type: str, object_id: int, column: str) -> AuditEntry:
    found = [
        e
        for e in entries
        if e.object_type == object_type and e.object_id == str(object_id) and column in e.data.get("after", {})
    ]
    assert len(found) == 1, [(e.object_type, e.object_id, e.action, e.data) for e in entries]
    assert found[0].action == f"{object_type}.updated"
    return found[0]


# --- through the API ---------------------------------------------------------------------------------------------


def test_deactivating_and_reactivating_a_user_through_the_api(api: ApiHarness) -> None:
    bob = api.post("/api/v1/users", json={"email": "bob@example.com", "name": "Bob"}).json()
    deactivated = api.post("/api/v1/users/bob@example.com/deactivate")
    assert deactivated.status_code == 200, deactivated.text
    entry = _one_change(_entries(api.runtime.db, action="user.updated"), "user", bob["id"], "deactivated_at")
    assert entry.data["before"] == {"deactivated_at": None}
    assert _at(entry.data["after"]["deactivated_at"]) == api.clock.now()
    assert (entry.channel, entry.actor, entry.actor_user_id) == ("api", "Admin", api.admin_id)

    assert api.post("/api/v1/users/bob@example.com/reactivate").status_code == 200
    back = [e for e in _entries(api.runtime.db, action="user.updated") if e.id > entry.id]
    assert len(back) == 1
    assert _at(back[0].data["before"]["deactivated_at"]) == api.clock.now()
    assert back[0].data["after"] == {"deactivated_at": None}


def test_archiving_a_service_and_its_integration_through_the_api(api: ApiHarness) -> None:
    service = api.post("/api/v1/services", json={"name": "checkout"}).json()
    integration = api.post("/api/v1/services/checkout/integrations", json={"type": "generic", "name": "mon"}).json()
    assert api.post("/api/v1/services/checkout/archive").status_code == 200
    assert api.post(f"/api/v1/integrations/{integration['id']}/archive").status_code == 200
    entries = _entries(api.runtime.db)
    for object_type, object_id in (("service", service["id"]), ("integration", integration["id"])):
        entry = _one_change(entries, object_type, object_id, "archived_at")
        assert entry.data["before"] == {"archived_at": None}
        assert _at(entry.data["after"]["archived_at"]) == api.clock.now()
        assert (entry.channel, entry.actor_user_id) == ("api", api.admin_id)
        assert entry.token_id is not None


# --- through the command line ------------------------------------------------------------------------------------


@pytest.fixture
def runner(db: Database) -> CliRunner:
    return CliRunner(env={"TOCSIN_DATABASE_URL": db.url, "TOCSIN_CLI_USER": None, "COLUMNS": "200"})


def run(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_deactivating_a_user_from_the_command_line(db: Database, runner: CliRunner) -> None:
    with db.unit_of_work() as s:
        root = users.create_user(s, email="root@example.com", name="Root", role="admin", now=NOW)
        bob = users.create_user(s, email="bob@example.com", name="Bob", role="responder", now=NOW)
        root_id, bob_id = root.id, bob.id
    run(runner, "user", "deactivate", "bob@example.com", "--as", "root@example.com")
    entry = _one_change(_entries(db, channel="cli"), "user", bob_id, "deactivated_at")
    assert entry.data["before"] == {"deactivated_at": None}
    assert entry.data["after"]["deactivated_at"] is not None
    assert entry.actor_user_id == root_id
    assert entry.actor.startswith("Root (")
    assert entry.actor.endswith(f"@{socket.gethostname()})")

    run(runner, "user", "reactivate", "bob@example.com", "--as", "root@example.com")
    (back,) = [e for e in _entries(db, channel="cli", action="user.updated") if e.id > entry.id]
    assert back.data["after"] == {"deactivated_at": None}
    assert back.data["before"]["deactivated_at"] == entry.data["after"]["deactivated_at"]


FULL = """
users:
  - {email: alice@example.com, role: admin}
  - {email: bob@example.com}
teams:
  - {name: payments, members: [bob@example.com]}
schedules:
  - name: primary
    layers: [{rotation: weekly, start: 2026-10-26, handoff: "monday 09:00", users: [bob@example.com]}]
  - name: old
    layers: [{rotation: weekly, start: 2026-10-26, handoff: "monday 09:00", users: [bob@example.com]}]
escalation_policies:
  - {name: default, steps: [{targets: [{schedule: primary}]}]}
  - {name: spare, steps: [{targets: [{schedule: old}]}]}
services:
  - name: checkout
    escalation_policy: default
    integrations: [{name: am, type: alertmanager}, {name: legacy-hook, type: generic}]
  - {name: legacy}
"""

SMALLER = """
users:
  - {email: alice@example.com, role: admin}
teams: []
schedules:
  - name: primary
    layers: [{rotation: weekly, start: 2026-10-26, handoff: "monday 09:00", users: [bob@example.com]}]
escalation_policies:
  - {name: default, steps: [{targets: [{schedule: primary}]}]}
services:
  - name: checkout
    escalation_policy: default
    integrations: [{name: am, type: alertmanager}]
"""


def test_prune_through_apply_leaves_an_entry_per_thing_it_retires(
    db: Database, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(FULL)
    run(runner, "apply", "-f", str(path))
    before = _entries(db)
    by_name = {
        (e.object_type, e.data["after"].get("name") or e.data["after"].get("email")): int(e.object_id)
        for e in before
        if e.action.endswith(".created") and e.object_type in ("user", "schedule", "escalation_policy", "service")
    }
    by_name.update(
        {
            ("integration", e.data["after"]["name"]): int(e.object_id)
            for e in before
            if e.action == "integration.created"
        }
    )

    path.write_text(SMALLER)
    run(runner, "apply", "-f", str(path), "--prune")
    pruned = [e for e in _entries(db) if e.id > before[-1].id]
    assert pruned, "--prune recorded nothing"
    assert {e.channel for e in pruned} == {"apply"}
    assert all(e.actor.endswith(f"@{socket.gethostname()}") for e in pruned)

    retired = {
        ("user", "bob@example.com", "deactivated_at"),
        ("schedule", "old", "archived_at"),
        ("escalation_policy", "spare", "archived_at"),
        ("service", "legacy", "archived_at"),
        ("integration", "legacy-hook", "archived_at"),
    }
    for object_type, name, column in retired:
        entry = _one_change(pruned, object_type, by_name[(object_type, name)], column)
        assert entry.data["before"][column] is None, (object_type, name)
        assert entry.data["after"][column] is not None, (object_type, name)
    assert {(e.object_type, e.action) for e in pruned if e.action.endswith(".deleted")} >= {("team", "team.deleted")}

    # Applying the pruned file again retires nothing more, and records nothing.
    run(runner, "apply", "-f", str(path), "--prune")
    assert [e for e in _entries(db) if e.id > pruned[-1].id] == []


def test_webhook_subscriptions_from_the_command_line(db: Database, runner: CliRunner) -> None:
    with db.unit_of_work() as s:
        root_id = users.create_user(s, email="root@example.com", name="Root", role="admin", now=NOW).id
    made = run(runner, "webhook", "create", "chat", "https://hooks.chat.test/T1/B2/cli-secret-path", "--json")
    subscription = json.loads(made.output)
    run(runner, "webhook", "enable", str(subscription["id"]), "--off")
    run(runner, "webhook", "delete", str(subscription["id"]))

    entries = [e for e in _entries(db, channel="cli") if e.object_type == "webhook_subscription"]
    assert [e.action for e in entries] == [
        "webhook_subscription.created",
        "webhook_subscription.updated",
        "webhook_subscription.deleted",
    ]
    created, disabled, _ = entries
    assert created.data["after"]["url"] == "https://hooks.chat.test/***"
    assert created.data["after"]["secret"] == "***"
    assert disabled.data["before"]["enabled"] is True
    assert disabled.data["after"]["enabled"] is False
    assert {e.actor_user_id for e in entries} == {root_id}
    dumped = json.dumps([e.data for e in entries])
    assert subscription["secret"] not in dumped
    assert "cli-secret-path" not in dumped
