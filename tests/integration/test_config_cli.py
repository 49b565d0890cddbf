"""``tocsin apply``, ``export`` and ``demo`` as a user runs them, against a SQLite file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tocsin.cli import app
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.services import service as services
from tocsin.users import service as users
from tocsin.users.passwords import verify_password

FILE = """
users:
  - {email: alice@example.com, name: Alice, contact_methods: [{name: mail, type: email, address: alice@example.com}],
     notification_rules: [{urgency: high, contact: mail, delay: 0s}]}
teams:
  - {name: Payments, members: [alice@example.com]}
escalation_policies:
  - {name: Payments default, steps: [{targets: [{user: alice@example.com}], delay: 5m}]}
services:
  - name: checkout-api
    team: Payments
    escalation_policy: Payments default
    integrations:
      - {name: prometheus, type: alertmanager, key: 0123456789abcdef0123456789abcdef}
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrating takes longer than the tests themselves."""
    path = tmp_path_factory.mktemp("template") / "tocsin.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def cli(tmp_path: Path, migrated: Path) -> tuple[CliRunner, str]:
    path = tmp_path / "tocsin.db"
    shutil.copyfile(migrated, path)
    url = f"sqlite:///{path}"
    runner = CliRunner(env={"TOCSIN_DATABASE_URL": url, "TOCSIN_PUBLIC_URL": "http://tocsin.test"})
    return runner, url


def run(runner: CliRunner, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def test_apply_prints_a_plan_and_is_idempotent(cli: tuple[CliRunner, str], tmp_path: Path) -> None:
    runner, url = cli
    path = tmp_path / "tocsin.yaml"
    path.write_text(FILE)

    dry = run(runner, "apply", "-f", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+ create    service checkout-api" in dry.stdout
    assert "Dry run: nothing was written." in dry.stdout
    db = Database(url)
    try:
        with db.reader() as s:
            assert services.list_services(s) == []

        first = run(runner, "apply", "-f", str(path))
        assert first.exit_code == 0, first.output
        assert "Plan: 6 to create, 0 to update, 0 unchanged." in first.stdout
        assert "apply never deletes" in first.stdout

        path.write_text(FILE.replace("delay: 5m", "delay: 10m"))
        second = run(runner, "apply", "--file", str(path), "--json")
        assert second.exit_code == 0, second.output
        plan = json.loads(second.stdout)
        assert plan["counts"] == {"create": 0, "update": 1, "unchanged": 5}
        [update] = [c for c in plan["changes"] if c["action"] == "update"]
        assert update == {
            "kind": "escalation policy",
            "key": "Payments default",
            "action": "update",
            "fields": ["steps"],
        }
        with db.reader() as s:
            [integration] = services.list_integrations(s)
            assert integration.key == "0123456789abcdef0123456789abcdef"
    finally:
        db.dispose()


def test_invalid_file_exits_1_naming_the_path(cli: tuple[CliRunner, str], tmp_path: Path) -> None:
    runner, url = cli
    path = tmp_path / "bad.yaml"
    path.write_text(FILE.replace("type: alertmanager", "type: alertmanagr").replace("name: Alice", "nme: Alice"))
    result = run(runner, "apply", "-f", str(path))
    assert result.exit_code == 1
    assert "services[0].integrations[0].type: must be one of" in result.stderr
    assert "users[0].nme: unknown field" in result.stderr
    assert "Traceback" not in result.output

    path.write_text(FILE.replace("members: [alice@example.com]", "members: [alice@example.com, eve@example.com]"))
    result = run(runner, "apply", "-f", str(path))
    assert result.exit_code == 1
    assert "teams[0].members[1]: unknown user eve@example.com" in result.stderr
    db = Database(url)
    try:
        with db.reader() as s:
            assert users.list_users(s) == []
    finally:
        db.dispose()

    missing = run(runner, "apply", "-f", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 1
    assert "no such file" in missing.stderr


def test_export_piped_into_apply_changes_nothing(cli: tuple[CliRunner, str], tmp_path: Path) -> None:
    runner, _ = cli
    path = tmp_path / "tocsin.yaml"
    path.write_text(FILE)
    assert run(runner, "apply", "-f", str(path)).exit_code == 0

    exported = run(runner, "export")
    assert exported.exit_code == 0, exported.output
    assert "key: 0123456789abcdef0123456789abcdef" in exported.stdout
    again = run(runner, "apply", "-f", "-", input=exported.stdout)
    assert again.exit_code == 0, again.output
    assert "Plan: 0 to create, 0 to update, 6 unchanged." in again.stdout

    as_json = run(runner, "export", "--json")
    data = json.loads(as_json.stdout)
    assert data["services"][0]["integrations"][0]["key"] == "0123456789abcdef0123456789abcdef"
    assert "0 to create, 0 to update" in run(runner, "apply", "-f", "-", input=as_json.stdout).stdout


def test_demo_prints_credentials_once_and_keys_pagerduty_first(cli: tuple[CliRunner, str]) -> None:
    runner, url = cli
    first = run(runner, "demo")
    assert first.exit_code == 0, first.output
    assert "admin@tocsin.local / " in first.stdout
    password = first.stdout.split("admin@tocsin.local / ", 1)[1].split()[0]
    assert "http://tocsin.test/v2/enqueue" in first.stdout
    assert "http://tocsin.test/integrations/" in first.stdout

    second = run(runner, "demo")
    assert second.exit_code == 0, second.output
    assert "admin@tocsin.local / " not in second.stdout
    assert "0 created, 0 updated" in second.stdout

    keys = run(runner, "demo", "--keys")
    assert keys.exit_code == 0, keys.output
    lines = keys.stdout.splitlines()
    assert len(lines) == 8
    db = Database(url)
    try:
        with db.reader() as s:
            by_key = {i.key: i.type for i in services.list_integrations(s)}
            assert verify_password(users.get_user(s, "admin@tocsin.local").password_hash or "", password)
    finally:
        db.dispose()
    assert [by_key[k] for k in lines] == ["pagerduty_v2"] * 4 + ["alertmanager"] * 4
    for key in lines:
        assert key in first.stdout


def test_demo_keys_on_a_fresh_database_keeps_stdout_for_keys(cli: tuple[CliRunner, str]) -> None:
    runner, _ = cli
    result = run(runner, "demo", "--keys")
    assert result.exit_code == 0, result.output
    assert all(len(line) == 32 for line in result.stdout.splitlines())
    assert "admin@tocsin.local / " in result.stderr


def test_commands_on_a_database_without_schema_say_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner(env={"TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    path = tmp_path / "tocsin.yaml"
    path.write_text(FILE)
    for args in (["apply", "-f", str(path)], ["export"], ["demo"]):
        result = run(runner, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "run `tocsin db upgrade` first" in result.stderr
