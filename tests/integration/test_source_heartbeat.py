"""Heartbeat pings over HTTP: GET, POST and HEAD, start, fail with output, exit statuses, clear 4xx."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored
from tocsin.alerts.models import Alert
from tocsin.heartbeats.models import HeartbeatMonitor


def monitor(api: ApiHarness) -> HeartbeatMonitor:
    with api.runtime.db.reader() as s:
        return s.execute(select(HeartbeatMonitor)).scalar_one()


def test_pings_by_every_method_keep_the_monitor_up(api: ApiHarness) -> None:
    key = integration_key(api, "heartbeat")

    for method in ("GET", "POST", "HEAD"):
        response = api.client.request(method, f"/heartbeat/{key}")
        assert response.status_code == 200, method
        assert response.text == ("" if method == "HEAD" else "OK")
    started = api.client.get(f"/heartbeat/{key}/start")

    assert started.status_code == 200
    row = monitor(api)
    assert (row.status, row.last_ping_at, row.last_start_at) == ("up", api.clock.now(), api.clock.now())
    # Healthchecks' defaults until configured: a day's period, an hour's grace.
    assert (row.due_at - api.clock.now()).total_seconds() == 25 * 3600  # type: ignore[operator]
    assert stored(api).alerts == []


def test_failure_with_output_then_exit_status_zero_resolves(api: ApiHarness) -> None:
    key = integration_key(api, "heartbeat")

    failed = api.client.post(f"/heartbeat/{key}/fail", content=b"pg_dump: error: connection refused\n")
    assert failed.status_code == 200
    with api.runtime.db.reader() as s:
        alert = s.execute(select(Alert)).scalar_one()
    assert (alert.dedup_key, alert.severity, alert.summary) == (
        "heartbeat",
        "critical",
        "shop-heartbeat reported a failure",
    )
    assert alert.details["output"] == "pg_dump: error: connection refused\n"
    assert api.client.get(f"/heartbeat/{key}/2").status_code == 200  # non-zero exit status: still failing
    assert stored(api).incidents == ["triggered"]

    assert api.client.get(f"/heartbeat/{key}/0").status_code == 200
    assert stored(api).incidents == ["resolved"]
    assert monitor(api).status == "up"


def test_bad_signals_and_keys(api: ApiHarness) -> None:
    key = integration_key(api, "heartbeat")
    other = integration_key(api, "generic", name="web")

    bad = api.client.get(f"/heartbeat/{key}/restart")
    assert bad.status_code == 400
    assert "start, fail or an exit status 0-255" in bad.json()["errors"][0]
    assert api.client.get(f"/heartbeat/{key}/256").status_code == 400
    unknown = api.client.get("/heartbeat/no-such-integration-key")
    assert unknown.status_code == 404
    assert "no heartbeat integration" in unknown.json()["message"]
    assert api.client.get(f"/heartbeat/{other}").status_code == 404
    assert api.client.post(f"/heartbeat/{key}/fail", content=b"x" * (101 * 1024)).status_code == 413
    assert stored(api).alerts == []


def test_the_worker_checks_heartbeats_before_it_escalates(api: ApiHarness) -> None:
    names = [m.name for m in api.runtime.build_engine(owner="test").modules]

    assert "heartbeat" in names
    assert names.index("heartbeat") < names.index("escalation")
