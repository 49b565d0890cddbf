"""``tocsin import grafana-oncall`` against a fake Grafana OnCall public API."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.fakes.grafana_oncall import TOKEN, FakeGrafanaOnCall
from tests.importers.grafana_oncall_data import NOW, account
from tocsin.cli import app
from tocsin.config import document
from tocsin.importers import grafana_oncall
from tocsin.importers.run import run_import
from tocsin.importers.source import HttpSource


def test_an_organisation_maps_and_pages_like_oncall_for_14_days() -> None:
    with FakeGrafanaOnCall(account()) as fake:
        source = HttpSource(fake.url, grafana_oncall.headers(TOKEN))
        imported = run_import("grafana-oncall", source, now=NOW)
        source.close()
    assert fake.unexpected == []
    config = imported.config
    assert document.parse(document.to_yaml(config)) == config
    assert [(u.email, u.role) for u in config.users] == [
        ("alice@example.com", "admin"),
        ("bob@example.com", "responder"),
        ("carol@example.com", "observer"),
        ("dave@example.com", "responder"),
    ]
    (primary,) = config.schedules
    assert [lay.name for lay in primary.layers or []] == ["Weekly", "Business hours"]
    assert [(r.days, r.start, r.end) for r in (primary.layers or [])[1].restrictions] == [
        ([0, 1, 2, 3, 4], "09:00", "17:00")
    ]
    assert [o.user for o in primary.overrides or []] == ["bob@example.com"]
    policy = config.escalation_policies[0]
    assert [([(t.kind, t.ref) for t in s.targets], s.delay) for s in policy.steps or []] == [
        ([("schedule", "Primary")], 600),
        ([("user", "bob@example.com")], 900),
    ]
    assert config.services[0].escalation_policy == "Default"
    lines = "\n".join(imported.report.lines())
    for expected in (
        "schedule 'Legacy': iCalendar schedules are not imported",
        "2 people share a turn",
        "step type 'notify_user_group'",
        "unknown role 'superuser'",
        "US/Pacific-New",
    ):
        assert expected in lines
    assert imported.report.differences == []


def test_a_wrong_token_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "tocsin.yaml"
    with FakeGrafanaOnCall(account()) as fake:
        result = CliRunner().invoke(
            app, ["import", "grafana-oncall", "--token", "nope", "--url", fake.url, "--out", str(out)]
        )
    assert result.exit_code == 1
    assert "refused the token (401)" in result.output
    assert list(tmp_path.iterdir()) == []
