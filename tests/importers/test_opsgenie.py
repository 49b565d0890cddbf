"""``tocsin import opsgenie`` against a fake Opsgenie API: mapping, report, the 14-day check, apply, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.fakes.opsgenie import KEY, FakeOpsgenie
from tests.importers.opsgenie_data import NOW, account
from tocsin.cli import app
from tocsin.config import document
from tocsin.config.apply import apply_config
from tocsin.db.session import Database
from tocsin.importers import check, opsgenie
from tocsin.importers.run import Imported, run_import
from tocsin.importers.source import HttpSource
from tocsin.oncall import service as oncall
from tocsin.users import service as users


def _import(fake: FakeOpsgenie) -> Imported:
    source = HttpSource(fake.url, opsgenie.headers(KEY))
    try:
        return run_import("opsgenie", source, now=NOW)
    finally:
        source.close()


def test_an_account_maps_and_the_check_lists_only_what_tocsin_cannot_express() -> None:
    with FakeOpsgenie(account()) as fake:
        imported = _import(fake)
    assert fake.unexpected == []
    config = imported.config
    assert document.parse(document.to_yaml(config)) == config
    assert [(u.email, u.role, u.timezone) for u in config.users] == [
        ("alice@example.com", "admin", "Europe/Berlin"),
        ("bob@example.com", "responder", "Europe/Berlin"),
        ("carol@example.com", "responder", "America/Los_Angeles"),
    ]
    assert [(m.type, m.address) for m in config.users[0].contact_methods or []] == [
        ("email", "alice@example.com"),
        ("sms", "+4915123456789"),
        ("voice", "+4915123456789"),
    ]
    assert config.teams[0].members == ["alice@example.com", "bob@example.com"]
    platform, weekend = config.schedules
    assert platform.team == "Platform"
    assert [(o.user, o.start.hour) for o in platform.overrides or []] == [("carol@example.com", 10)]  # type: ignore[union-attr]
    assert [(lay.rotation, lay.shift_length) for lay in platform.layers or []] == [("weekly", None), ("custom", 172800)]
    assert [(r.days, r.start, r.end) for r in (weekend.layers or [])[0].restrictions] == [
        ([4], "18:00", "00:00"),
        ([5], "00:00", "00:00"),
        ([6], "00:00", "00:00"),
        ([0], "00:00", "08:00"),
    ]
    policy = config.escalation_policies[0]
    # Delays from the alert (0, 10, 10, 60 minutes) become waits between steps; the repeat waits 5 minutes.
    assert [([(t.kind, t.ref) for t in s.targets], s.delay) for s in policy.steps or []] == [
        ([("schedule", "Platform")], 600),
        ([("user", "bob@example.com"), ("team", "Platform")], 3000),
        ([("user", "alice@example.com")], 300),
    ]
    assert policy.repeat == 2
    assert config.services[0].team == "Platform"
    lines = "\n".join(imported.report.lines())
    for expected in (
        "unknown role 'custom-responder'",
        "US/Pacific-New",
        "participant Other: team participants are not imported",
        "condition 'if-not-closed'",
        'contact "Alice\'s phone": method mobile has no Tocsin equivalent',
        "notification rules are not read",
        "override 'team': its team recipient was not imported",
    ):
        assert expected in lines
    # Day and night rotations meet exactly: equal, across the DST change of 25 October.
    # ... except the hours of the team override Tocsin could not take, which the check lists.
    assert [d for d in imported.report.differences if "'Platform'" in d] == [
        "schedule 'Platform' 2026-10-28 10:00Z-2026-10-28 13:00Z: source has nobody, Tocsin bob@example.com"
    ]
    # Opsgenie pages the weekend rotation and the backup together; Tocsin pages one person: listed, per weekend.
    weekend_lines = [d for d in imported.report.differences if "'Weekend'" in d]
    assert weekend_lines
    assert all("Tocsin bob@example.com" in d and "source has " in d for d in weekend_lines)
    assert weekend_lines[0].startswith("schedule 'Weekend' 2026-10-23 16:00Z-")


def test_applied_to_a_fresh_database_the_platform_schedule_pages_who_opsgenie_pages(db: Database) -> None:
    with FakeOpsgenie(account()) as fake:
        source = HttpSource(fake.url, opsgenie.headers(KEY))
        config, shifts, _ = opsgenie.import_opsgenie(source, now=NOW)
        source.close()
    with db.unit_of_work() as session:
        apply_config(session, document.parse(document.to_yaml(config)), now=NOW)
    with db.reader() as session:
        emails = {str(u.id): u.email for u in users.list_users(session)}
        schedule = oncall.get_schedule(session, "Platform")
        ours = oncall.shifts(session, schedule.id, NOW, NOW + timedelta(days=14))
    team_override = (NOW.replace(day=28), NOW.replace(day=28, hour=13))
    for hour in check.hours(NOW):
        if team_override[0] <= hour < team_override[1]:
            continue  # a team's override, not imported and listed by the check
        theirs = {s.user for s in shifts["Platform"] if s.start <= hour < s.end}
        assert {emails[s.user] for s in ours if s.start <= hour < s.end} == theirs, hour


def test_a_wrong_key_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "tocsin.yaml"
    with FakeOpsgenie(account()) as fake:
        result = CliRunner().invoke(
            app, ["import", "opsgenie", "--token", "nope", "--url", fake.url, "--out", str(out)]
        )
    assert result.exit_code == 1
    assert "refused the token (401)" in result.output
    assert list(tmp_path.iterdir()) == []
