"""``tocsin import pagerduty`` against a fake PagerDuty API: mapping, report, the 14-day check, apply, bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fakes.pagerduty import TOKEN, FakePagerDuty
from tests.importers.pagerduty_data import NOW, ROUTING_KEY, account
from tocsin.cli import app
from tocsin.config import document
from tocsin.config.apply import apply_config
from tocsin.db.session import Database
from tocsin.importers import check, pagerduty
from tocsin.importers.run import run_import
from tocsin.importers.source import FileSource, HttpSource, SourceError
from tocsin.oncall import service as oncall
from tocsin.users import service as users


def _import(fake: FakePagerDuty) -> Any:
    source = HttpSource(fake.url, pagerduty.headers(TOKEN))
    try:
        return run_import("pagerduty", source, now=NOW)
    finally:
        source.close()


def test_an_account_maps_to_a_configuration_that_pages_like_the_source() -> None:
    with FakePagerDuty(account()) as fake:
        imported = _import(fake)
    assert fake.unexpected == []
    config = imported.config
    # What it writes is a file `tocsin apply` reads back as the same configuration.
    assert document.parse(document.to_yaml(config)) == config
    by_email = {u.email: u for u in config.users}
    assert set(by_email) == {f"{n}@example.com" for n in ("alice", "bob", "carol", "dave", "erin")}
    alice = by_email["alice@example.com"]
    assert [(m.name, m.type, m.address) for m in alice.contact_methods or []] == [
        ("Work", "email", "alice@example.com"),
        ("Mobile", "voice", "+4915123456789"),
        ("Mobile'", "sms", "+4915123456789"),
    ]
    assert sorted((r.urgency, r.contact, r.delay) for r in alice.notification_rules or []) == [
        ("high", "Mobile", 300),
        ("high", "Work", 0),
        ("low", "Mobile'", 0),
    ]
    assert alice.role == "admin"
    assert by_email["erin@example.com"].role == "observer"
    assert by_email["carol@example.com"].timezone == "America/Los_Angeles"
    assert {t.name: t.members for t in config.teams} == {
        "SRE": ["alice@example.com", "bob@example.com"],
        "Payments": ["bob@example.com", "carol@example.com"],
    }
    primary = config.schedules[0]
    assert primary.name == "Payments primary"
    assert primary.team == "Payments"
    assert [(lay.name, lay.rotation) for lay in primary.layers or []] == [
        ("Weekly", "weekly"),
        ("Business hours", "daily"),
        ("Weekend cover", "weekly"),
    ]
    # Saturday 00:00 for 48 hours: two whole-day windows.
    assert [(r.days, r.start, r.end) for r in (primary.layers or [])[2].restrictions] == [([5, 6], "00:00", "00:00")]
    assert [(r.days, r.start, r.end) for r in (primary.layers or [])[1].restrictions] == [
        (list(range(7)), "09:00", "17:00")
    ]
    # The past override is left out, the coming one kept.
    assert [(o.user, o.start) for o in primary.overrides or []] == [("carol@example.com", NOW.replace(day=23, hour=14))]
    follow = config.schedules[1]
    assert (follow.layers or [])[0].rotation == "custom"
    assert (follow.layers or [])[0].shift_length == 43200
    policy = config.escalation_policies[0]
    assert policy.repeat == 2
    assert policy.team == "Payments"
    assert [([(t.kind, t.ref) for t in s.targets], s.delay) for s in policy.steps or []] == [
        ([("schedule", "Payments primary")], 900),
        ([("schedule", "SRE follow the sun"), ("user", "bob@example.com")], 1800),
        ([("user", "dave@example.com")], 1800),
    ]
    checkout, _ledger = config.services
    assert [(i.type, i.key) for i in checkout.integrations or []] == [("pagerduty_v2", ROUTING_KEY)]
    assert checkout.escalation_policy == "Payments"
    assert checkout.ack_timeout == 1800
    assert checkout.auto_resolve
    assert [(w.service, w.duration) for w in config.maintenance_windows] == [("Ledger", 7200)]
    # Nothing dropped silently: each thing Tocsin cannot take is named with its reason.
    lines = "\n".join(imported.report.lines())
    for expected in (
        "contact method 'iPhone': type push_notification_contact_method has no Tocsin equivalent",
        "notification rule PALICEN3",
        "US/Pacific-New",
        "unknown role 'stakeholder_plus'",
        "integration 'Mail': type generic_email_inbound_integration",
        "target PWH0001",
        "urgency rule 'use_support_hours'",
        "belongs to teams SRE, Payments",
    ):
        assert expected in lines
    # The check: 14 days, hour by hour, across both DST changes, equal.
    assert imported.report.differences == []


def test_the_check_lists_the_hours_that_differ() -> None:
    data = account()
    with FakePagerDuty(data) as fake:
        config = _import(fake).config
        source = HttpSource(fake.url, pagerduty.headers(TOKEN))
        _, shifts, _ = pagerduty.import_pagerduty(source, now=NOW)
        source.close()
    primary = config.schedules[0]
    (primary.layers or [])[1].restrictions[0].end = "18:00"
    found = check.differences(primary, shifts["Payments primary"], NOW)
    # One hour a day more of the business-hours layer: every weekday, only there (weekends are Erin's).
    assert len(found) == 10
    assert all((" 21:00Z-" in line or " 22:00Z-" in line) and ", Tocsin " in line for line in found)
    assert found[0].startswith("schedule 'Payments primary' 2026-10-20 21:00Z-2026-10-20 22:00Z: source has ")


def test_applied_to_a_fresh_database_the_schedules_page_who_the_source_pages(db: Database) -> None:
    with FakePagerDuty(account()) as fake:
        source = HttpSource(fake.url, pagerduty.headers(TOKEN))
        config, shifts, _ = pagerduty.import_pagerduty(source, now=NOW)
        source.close()
    with db.unit_of_work() as session:
        apply_config(session, document.parse(document.to_yaml(config)), now=NOW)
    with db.reader() as session:
        emails = {str(u.id): u.email for u in users.list_users(session)}
        for schedule in oncall.list_schedules(session):
            ours = oncall.shifts(session, schedule.id, NOW, NOW + timedelta(days=14))
            for hour in check.hours(NOW):
                theirs = {s.user for s in shifts[schedule.name] if s.start <= hour < s.end}
                here = {emails[s.user] for s in ours if s.start <= hour < s.end}
                assert here == theirs, (schedule.name, hour)


def test_an_expired_token_writes_nothing_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "tocsin.yaml"
    with FakePagerDuty(account()) as fake:
        result = CliRunner().invoke(
            app, ["import", "pagerduty", "--token", "expired", "--url", fake.url, "--out", str(out)]
        )
    assert result.exit_code == 1
    assert "refused the token (401)" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_page_that_promises_more_but_is_empty_fails_instead_of_looping() -> None:
    with FakePagerDuty(account()) as fake:
        fake.hollow_page = "/users"
        with pytest.raises(SourceError, match="said there is more"):
            _import(fake)


def test_the_command_writes_the_file_and_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "pd.yaml"
    monkeypatch.setenv("PD_TOKEN", TOKEN)
    monkeypatch.setattr("tocsin.cli.importers.SystemClock.now", lambda self: NOW)
    with FakePagerDuty(account()) as fake:
        result = CliRunner().invoke(
            app, ["import", "pagerduty", "--token-env", "PD_TOKEN", "--url", fake.url, "--out", str(out)]
        )
    assert result.exit_code == 0, result.output
    assert "5 users, 2 teams, 2 schedules, 1 escalation policies, 2 services, 1 maintenance windows" in result.output
    assert "not imported: user alice@example.com contact method 'iPhone'" in result.output
    assert "who is on call matches the source" in result.output
    assert document.parse(out.read_text()).services[0].integrations[0].key == ROUTING_KEY  # type: ignore[index]


def test_saved_answers_import_like_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = account()
    with FakePagerDuty(data, page_size=100) as fake:
        live = _import(fake)
        source = HttpSource(fake.url, pagerduty.headers(TOKEN))
        window = {"since": "2026-10-20T10:00:00Z", "until": "2026-11-03T10:00:00Z", "time_zone": "UTC"}
        saved = {
            "users": source.get("/users", {"include[]": ["contact_methods", "notification_rules"], "limit": 100}),
            "teams": source.get("/teams", {"limit": 100}),
            "schedules": source.get("/schedules", {"limit": 100}),
            "escalation_policies": source.get("/escalation_policies", {"limit": 100}),
            "services": source.get("/services", {"include[]": ["integrations"], "limit": 100}),
            "maintenance_windows": source.get("/maintenance_windows", {"limit": 100}),
        }
        for s in data["schedules"]:
            saved[f"schedules/{s['id']}"] = source.get(f"/schedules/{s['id']}", window)
            saved[f"schedules/{s['id']}/overrides"] = source.get(f"/schedules/{s['id']}/overrides", window)
        source.close()
    for name, body in saved.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.json").write_text(json.dumps(body))
    from_files = run_import("pagerduty", FileSource(tmp_path), now=NOW)
    assert from_files.config == live.config
    assert from_files.report.differences == []
    out = tmp_path / "from-files.yaml"
    monkeypatch.setattr("tocsin.cli.importers.SystemClock.now", lambda self: NOW)
    result = CliRunner().invoke(app, ["import", "pagerduty", "--from-files", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert document.parse(out.read_text()) == live.config
