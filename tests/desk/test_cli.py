"""``tocsin request list | show | move | convert | from-incident`` on both databases."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.desk import service as desk
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.services import service as services
from tocsin.users import service as users


@pytest.fixture
def runner(db: Database) -> CliRunner:
    return CliRunner(env={"TOCSIN_DATABASE_URL": db.url, "TOCSIN_PUBLIC_URL": "http://tocsin.test"})


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def test_requests_are_listed_shown_moved_and_converted_both_ways(db: Database, runner: CliRunner) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="ada@example.com", name="Ada", role="admin", now=now)
        service = services.create_service(s, name="laptops", now=now)
        actor = Actor("Ada", "cli", admin.id)
        desk.create_request(s, service_id=service.id, title="New laptop", actor=actor, now=now)
        incident_number = incidents.declare(
            s, service_id=service.id, title="Mouse request", actor=actor, now=now
        ).number
    listed = run(runner, "request", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [r["ref"] for r in json.loads(listed.output)] == ["REQ-1"]
    moved = run(runner, "request", "move", "REQ-1", "in_progress", "-m", "ordering")
    assert (moved.exit_code, moved.output.strip()) == (0, "REQ-1 in_progress")
    refused = run(runner, "request", "move", "REQ-1", "in_progress")
    assert refused.exit_code != 0
    assert "already in_progress" in refused.output
    unknown = run(runner, "request", "move", "REQ-1", "done")
    assert unknown.exit_code != 0
    assert "unknown request status" in unknown.output
    converted = run(runner, "request", "convert", "REQ-1")
    assert converted.exit_code == 0, converted.output
    assert "converted into incident #2" in converted.output
    shown = json.loads(run(runner, "request", "show", "1", "--json").output)
    assert (shown["status"], shown["incident"]) == ("converted", 2)
    assert [e["kind"] for e in shown["timeline"]] == ["opened", "status", "converted"]
    back = run(runner, "request", "from-incident", f"#{incident_number}", "-m", "routine")
    assert back.exit_code == 0, back.output
    assert "converted into REQ-2" in back.output
    assert "from_incident" in run(runner, "request", "show", "REQ-2", "--json").output
    assert run(runner, "request", "show", "REQ-9").exit_code != 0
    filtered = json.loads(run(runner, "request", "list", "--status", "converted", "--json").output)
    assert [r["ref"] for r in filtered] == ["REQ-1"]
