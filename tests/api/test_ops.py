"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import make_integration, make_service, ok, sample
from tests.conftest import ApiHarness
from tocsin.app import create_app
from tocsin.settings import load_settings


def metrics(api: ApiHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(snapshot: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return snapshot.get((name, tuple(sorted(labels.items()))), 0.0)


def test_healthz(api: ApiHarness) -> None:
    assert ok(api.client.get("/healthz")) == {"status": "ok"}


def test_readyz_when_migrated(api: ApiHarness) -> None:
    assert ok(api.client.get("/readyz")) == {"status": "ok", "database": "ok", "migrations": "current"}


def test_readyz_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(load_settings(database_url=url, run_worker=False))
    with TestClient(app) as client:
        response = client.get("/readyz")
        app.state.runtime.db.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "tocsin db upgrade" in response.json()["migrations"]


def test_metrics_move_with_events(api: ApiHarness) -> None:
    make_service(api, "checkout")
    pd_key = make_integration(api, "checkout", "pagerduty_v2")["key"]
    am_key = make_integration(api, "checkout", "alertmanager")["key"]
    before = metrics(api)
    assert value(before, "tocsin_open_incidents", status="triggered") == 0

    event = {**sample("pagerduty/trigger_minimal.json"), "routing_key": pd_key}
    assert api.client.post("/v2/enqueue", json=event).status_code == 202
    assert api.client.post("/v2/enqueue", json={**event, "routing_key": "0" * 32}).status_code == 404
    assert api.client.post("/v2/enqueue", json={"routing_key": pd_key}).status_code == 400
    assert (
        api.client.post(f"/integrations/{am_key}/alertmanager", json=sample("alertmanager/firing.json")).status_code
        == 202
    )
    after = metrics(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("tocsin_events_received_total", integration_type="pagerduty_v2", outcome="created") == 1
    assert moved("tocsin_events_received_total", integration_type="pagerduty_v2", outcome="unknown_key") == 1
    assert moved("tocsin_events_received_total", integration_type="pagerduty_v2", outcome="rejected") == 1
    assert moved("tocsin_events_received_total", integration_type="alertmanager", outcome="created") == 1
    assert value(after, "tocsin_open_incidents", status="triggered") == 2
    assert value(after, "tocsin_open_incidents", status="acknowledged") == 0

    latency = [
        labels
        for (name, labels), count in after.items()
        if name == "tocsin_http_request_duration_seconds_count" and count >= 1
    ]
    routes = {dict(labels)["route"] for labels in latency}
    assert {"/v2/enqueue", "/integrations/{key}/alertmanager", "/api/v1/services"} <= routes
    assert not any(key in route for route in routes for key in (pd_key, am_key)), "raw paths would explode cardinality"
    statuses = {(dict(labels)["route"], dict(labels)["status"]) for labels in latency}
    assert {("/v2/enqueue", "202"), ("/v2/enqueue", "404"), ("/v2/enqueue", "400")} <= statuses
    buckets = [n for (n, labels) in after if n == "tocsin_http_request_duration_seconds_bucket"]
    assert buckets, "latency is a histogram"
