"""``tocsin audit verify | list | export`` and ``tocsin apply`` as a user runs them, on both databases."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from tocsin.audit import service as audit
from tocsin.audit.repository import AuditFilter
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.teams import service as teams

FILE = """
users:
  - {email: alice@example.com, name: Alice, role: admin,
     contact_methods: [{name: hook, type: webhook, address: "https://hooks.chat.test/services/T1/B2/sekret-abcd"}]}
teams:
  - {name: Payments, members: [alice@example.com]}
services:
  - name: checkout-api
    team: Payments
    integrations:
      - {name: prometheus, type: alertmanager, key: 0123456789abcdef0123456789abcdef}
"""


@pytest.fixture
def runner(db: Database) -> CliRunner:
    return CliRunner(env={"TOCSIN_DATABASE_URL": db.url, "TOCSIN_PUBLIC_URL": "http://tocsin.test"})


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def apply(runner: CliRunner, tmp_path: Path, content: str = FILE) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(content)
    result = run(runner, "apply", "-f", str(path))
    assert result.exit_code == 0, result.output


def test_apply_records_its_changes_on_the_apply_channel(db: Database, runner: CliRunner, tmp_path: Path) -> None:
    apply(runner, tmp_path)
    with db.reader() as s:
        entries, _ = audit.list_entries(s, AuditFilter(), limit=100)
    kinds = {(e.object_type, e.action) for e in entries}
    assert {
        ("user", "user.created"),
        ("contact_method", "contact_method.created"),
        ("team", "team.created"),
        ("team_member", "team_member.created"),
        ("service", "service.created"),
        ("integration", "integration.created"),
    } <= kinds
    assert {e.channel for e in entries} == {"apply"}
    assert all("@" in e.actor for e in entries)  # the account that ran the command
    dumped = json.dumps([e.data for e in entries])
    assert "sekret-abcd" not in dumped
    assert "0123456789abcdef0123456789abcdef" not in dumped
    assert "***cdef" in dumped  # the integration key's last characters, to tell keys apart

    # Applying the same file again changes nothing, and records nothing.
    apply(runner, tmp_path)
    with db.reader() as s:
        assert len(audit.list_entries(s, AuditFilter(), limit=100)[0]) == len(entries)

    apply(runner, tmp_path, FILE.replace("{name: Payments,", "{name: Payments, description: money,"))
    with db.reader() as s:
        (change,) = audit.list_entries(s, AuditFilter(channel="apply", action="team.updated"), limit=5)[0]
    assert change.data == {"before": {"description": ""}, "after": {"description": "money"}}


def test_a_dry_run_records_nothing(db: Database, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(FILE)
    assert run(runner, "apply", "-f", str(path), "--dry-run").exit_code == 0
    with db.reader() as s:
        assert audit.list_entries(s, AuditFilter(), limit=10)[0] == []
        assert audit.verify_chain(s) == (0, None)


def test_verify_names_the_entry_edited_in_the_database(db: Database, runner: CliRunner, tmp_path: Path) -> None:
    apply(runner, tmp_path)
    ok = run(runner, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "holds" in ok.output
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 3"))
    broken = run(runner, "audit", "verify")
    assert broken.exit_code == 1
    assert "audit entry 3 breaks the chain" in broken.output
    assert "does not match its hash" in broken.output


def test_verify_notices_entries_removed_from_the_end(db: Database, runner: CliRunner, tmp_path: Path) -> None:
    apply(runner, tmp_path)
    with db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": last})
    broken = run(runner, "audit", "verify")
    assert broken.exit_code == 1
    assert f"audit entry {last} breaks the chain" in broken.output


def test_list_and_export_with_filters(db: Database, runner: CliRunner, tmp_path: Path) -> None:
    apply(runner, tmp_path)
    listed = run(runner, "audit", "list", "--object-type", "team", "--json")
    assert listed.exit_code == 0, listed.output
    assert [e["action"] for e in json.loads(listed.output)] == ["team.created"]

    exported = run(runner, "audit", "export", "--since", "2000-01-01T00:00:00Z")
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.output.splitlines()]
    assert [r["id"] for r in lines] == sorted(r["id"] for r in lines)
    assert len(lines) >= 6
    assert all(r["hash"] and r["channel"] == "apply" for r in lines)
    assert run(runner, "audit", "export", "--since", "2999-01-01T00:00:00Z").output == ""

    bad = run(runner, "audit", "list", "--since", "yesterday")
    assert bad.exit_code == 1
    assert "--since" in bad.output
    wrong = run(runner, "audit", "list", "--channel", "email")
    assert wrong.exit_code == 1
    assert "--channel" in wrong.output


def test_cli_changes_name_the_account_and_the_engine_is_the_system(db: Database, runner: CliRunner) -> None:
    made = run(runner, "user", "create", "ops@example.com", "--role", "admin")
    assert made.exit_code == 0, made.output
    token = run(runner, "token", "create", "--user", "ops@example.com")
    assert token.exit_code == 0, token.output
    with db.reader() as s:
        entries, _ = audit.list_entries(s, AuditFilter(channel="cli"), limit=10)
    assert [e.action for e in entries] == ["api_token.created", "user.created"]
    assert all(e.actor.endswith(f"@{socket.gethostname()}") for e in entries)
    assert token.output.strip() not in json.dumps([e.data for e in entries])

    # Work outside any transport (the engine, start-up) is recorded as the system's.
    with db.unit_of_work() as s:
        teams.create_team(s, name="nightly", now=datetime.now(UTC))
    with db.reader() as s:
        (entry,) = audit.list_entries(s, AuditFilter(object_type="team"), limit=10)[0]
    assert (entry.channel, entry.actor, entry.actor_user_id) == ("system", "system", None)
