"""``tocsin rule``: event and inhibit rules from the command line (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tocsin.alerts import routing_service as routing
from tocsin.audit import service as audit
from tocsin.audit.repository import AuditFilter
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.services import service as services
from tocsin.users import service as users

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def cli(db: Database, *args: str) -> Result:
    env: dict[str, str | None] = {"TOCSIN_DATABASE_URL": db.url, "TOCSIN_CLI_USER": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def people(db: Database) -> Database:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="root@example.com", name="Root", role="admin", now=now)
        users.create_user(s, email="resp@example.com", name="Resp", role="responder", now=now)
        services.create_service(s, name="Payments", now=now)
    return db


def cli_audit_actions(db: Database) -> list[str]:
    with db.reader() as s:
        entries, _ = audit.list_entries(s, AuditFilter(channel="cli"), limit=200)
    return [e.action for e in entries]


def test_event_rule_from_a_file_then_options_then_deleted(people: Database, tmp_path: Path) -> None:
    db = people
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text(
        "matchers:\n  - {field: labels.env, op: '=', value: prod}\nactions:\n  service: Payments\n  urgency: high\n"
    )
    saved = ok_json(cli(db, "rule", "set-event-rule", "prod-to-payments", "--file", str(rule_file), "--json"))
    assert saved["actions"] == {"service": "Payments", "urgency": "high"}
    with db.reader() as s:
        stored = routing.get_event_rule(s, "prod-to-payments")
        assert stored.matchers == [{"field": "labels.env", "op": "=", "value": "prod"}]
        assert stored.enabled

    # Options override the file: the matchers are replaced, the rule is switched off.
    replaced = cli(
        db,
        "rule",
        "set-event-rule",
        "prod-to-payments",
        "--file",
        str(rule_file),
        "--match",
        "severity=critical",
        "--action",
        "drop=true",
        "--disabled",
    )
    assert replaced.exit_code == 0, replaced.output
    with db.reader() as s:
        stored = routing.get_event_rule(s, "prod-to-payments")
        assert stored.matchers == [{"field": "severity", "op": "=", "value": "critical"}]
        assert stored.actions == {"drop": True}
        assert not stored.enabled

    listed = ok_json(cli(db, "rule", "list", "--json"))
    assert [r["name"] for r in listed["event_rules"]] == ["prod-to-payments"]
    human = cli(db, "rule", "list")
    assert "prod-to-payments" in human.stdout

    deleted = cli(db, "rule", "delete-event-rule", "prod-to-payments")
    assert deleted.exit_code == 0, deleted.output
    with db.reader() as s:
        assert routing.list_event_rules(s) == []
    actions = cli_audit_actions(db)
    assert {"event_rule.created", "event_rule.updated", "event_rule.deleted"} <= set(actions), actions


def test_inhibit_rule_set_from_options_and_from_json_then_deleted(people: Database, tmp_path: Path) -> None:
    db = people
    saved = ok_json(
        cli(
            db,
            "rule",
            "set-inhibit-rule",
            "node-down",
            "--source",
            "labels.alertname=NodeDown",
            "--target",
            "labels.severity=warning",
            "--equal",
            "cluster",
            "--json",
        )
    )
    assert saved["equal"] == ["cluster"]
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(
        json.dumps(
            {
                "name": "node-down",
                "source": [{"field": "labels.alertname", "op": "=", "value": "DiskFull"}],
                "target": [{"field": "labels.severity", "op": "=", "value": "info"}],
            }
        )
    )
    assert cli(db, "rule", "set-inhibit-rule", "node-down", "--file", str(rule_file)).exit_code == 0
    with db.reader() as s:
        (stored,) = routing.list_inhibit_rules(s)
        assert stored.source_matchers == [{"field": "labels.alertname", "op": "=", "value": "DiskFull"}]
        assert stored.equal == []
    assert ok_json(cli(db, "rule", "list", "--json"))["inhibit_rules"][0]["name"] == "node-down"
    assert cli(db, "rule", "delete-inhibit-rule", "node-down").exit_code == 0
    with db.reader() as s:
        assert routing.list_inhibit_rules(s) == []
    actions = cli_audit_actions(db)
    assert {"inhibit_rule.created", "inhibit_rule.updated", "inhibit_rule.deleted"} <= set(actions), actions


@sqlite_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set-event-rule", "r", "--action", "colour=red"], "unknown action"),
        (["set-event-rule", "r", "--action", "service=Nope"], "Nope"),
        (["set-event-rule", "r", "--match", "colour=red"], "unknown field 'colour'"),
        (["set-event-rule", "r" * 201], "name: String should have at most 200 characters"),
        (["set-event-rule", "r", "--integration", "nokey"], "unknown integration key 'nokey'"),
        (["set-event-rule", "r", "--action", "drop"], "not an action: 'drop'"),
        (["set-inhibit-rule", "i", "--target", "severity=info"], "source: Field required"),
        (["set-inhibit-rule", "i", "--source", "severity=critical"], "target: Field required"),
        (["delete-event-rule", "nope"], "event rule 'nope' not found"),
        (["delete-inhibit-rule", "nope"], "inhibit rule 'nope' not found"),
    ],
)
def test_bad_input_is_refused_in_the_apis_words(people: Database, args: list[str], message: str) -> None:
    result = cli(people, "rule", *args)
    assert result.exit_code != 0, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    with people.reader() as s:
        assert routing.list_event_rules(s) == []
        assert routing.list_inhibit_rules(s) == []


@sqlite_only
def test_a_file_of_another_rule_or_with_unknown_fields_is_refused(people: Database, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("name: something-else\nmatchers: []\n")
    refused = cli(people, "rule", "set-event-rule", "mine", "--file", str(other))
    assert refused.exit_code == 1
    assert "names the rule 'something-else', not 'mine'" in refused.stderr
    extra = tmp_path / "extra.yaml"
    extra.write_text("matchers: []\nactionz: {}\n")
    refused = cli(people, "rule", "set-event-rule", "mine", "--file", str(extra))
    assert refused.exit_code == 1
    assert "actionz: Extra inputs are not permitted" in refused.stderr


@sqlite_only
def test_only_admins_change_rules(people: Database) -> None:
    refused = cli(
        people,
        "rule",
        "set-event-rule",
        "r",
        "--match",
        "severity=info",
        "--action",
        "drop=true",
        "--as",
        "resp@example.com",
    )
    assert refused.exit_code == 1
    assert "resp@example.com is not an admin" in refused.stderr
    assert (
        cli(people, "rule", "set-event-rule", "r", "--match", "severity=info", "--action", "drop=true").exit_code == 0
    )
    refused = cli(people, "rule", "delete-event-rule", "r", "--as", "resp@example.com")
    assert refused.exit_code == 1
    with people.reader() as s:
        assert [r.name for r in routing.list_event_rules(s)] == ["r"]
