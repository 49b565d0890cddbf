"""``tocsin drill`` and ``tocsin tier-cost`` against a migrated database: a scenario set, a drill started, ended
and reported, tier costs set and refused; bad input is a clear error that changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import Result
from typer.testing import CliRunner

from tests.factories import make_service, make_user
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.drills import service as drills
from tocsin.incidents import service as incidents
from tocsin.services import service as services

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def cli(db: Database, *args: str) -> Result:
    env: dict[str, str | None] = {"TOCSIN_DATABASE_URL": db.url, "TOCSIN_CLI_USER": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_a_drill_from_the_command_line(db: Database) -> None:
    with db.unit_of_work() as s:
        make_user(s, NOW)
        make_service(s, NOW)
    payload = json.dumps({"summary": "Checkout down", "severity": "critical"})
    assert (
        "created"
        in ok(cli(db, "drill", "scenario", "set", "db down", "--service", "checkout-api", "--payload", payload)).output
    )
    bad = cli(db, "drill", "scenario", "set", "x", "--service", "checkout-api", "--payload", "{nope")
    assert bad.exit_code != 0
    assert "not JSON" in bad.output
    bad = cli(db, "drill", "scenario", "set", "x", "--service", "nowhere")
    assert bad.exit_code != 0
    assert "nowhere" in bad.output
    listed = json.loads(ok(cli(db, "drill", "scenario", "list", "--json")).output)
    assert [(s["name"], s["service"]) for s in listed] == [("db down", "checkout-api")]

    unknown = cli(db, "drill", "start", "no such drill")
    assert unknown.exit_code != 0
    assert "no drill scenario" in unknown.output
    started = json.loads(ok(cli(db, "drill", "start", "db down", "--json")).output)
    with db.reader() as s:
        incident = incidents.get(s, f"#{started['incident_number']}")
        assert incident.drill
        assert incident.title == "Checkout down"
    assert "still running" in ok(cli(db, "drill", "report", str(started["id"]))).output
    assert "ended" in ok(cli(db, "drill", "end", str(started["id"]))).output
    report = ok(cli(db, "drill", "report", str(started["id"]))).output
    assert "first answer after" in report
    assert "resolved" in report
    as_json = json.loads(ok(cli(db, "drill", "report", str(started["id"]), "--json")).output)
    assert as_json["report"]["answers"][0]["channel"] == "cli"
    assert "db down" in ok(cli(db, "drill", "list")).output
    assert cli(db, "drill", "report", "424242").exit_code != 0
    with db.reader() as s:
        assert len(drills.runs(s)) == 1


def test_tier_costs_from_the_command_line(db: Database) -> None:
    with db.unit_of_work() as s:
        make_user(s, NOW)
    ok(cli(db, "tier-cost", "set", "1", "250"))
    assert json.loads(ok(cli(db, "tier-cost", "list", "--json")).output) == {"1": 250.0}
    refused = cli(db, "tier-cost", "set", "7", "3")
    assert refused.exit_code != 0
    assert "tier" in refused.output
    refused = cli(db, "tier-cost", "set", "2", "--", "-3")
    assert refused.exit_code != 0
    ok(cli(db, "tier-cost", "set", "1"))
    with db.reader() as s:
        assert services.tier_costs(s) == {}
