"""Details stored before ingest capped their depth (or written by any other path) still render everywhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from tests.conftest import ApiHarness
from tests.web.conftest import Console
from tocsin.alerts.models import Alert
from tocsin.db.session import Database


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "<b>bottom</b>"}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def store_deep_details(db: Database, depth: int = 300) -> None:
    with db.unit_of_work() as s:
        s.execute(update(Alert).values(details=nested(depth), labels={"deep": nested(depth)}))


def test_the_incident_page_renders_details_nested_300_levels(console: Console) -> None:
    console.trigger("Disk full on db1")
    store_deep_details(console.db)
    console.login()
    page = console.client.get("/incidents/1")
    assert page.status_code == 200, page.text[:500]
    assert "nested deeper than" in page.text
    assert "<b>bottom</b>" not in page.text


def test_the_alert_api_renders_details_nested_300_levels(api: ApiHarness) -> None:
    service = api.post("/api/v1/services", json={"name": "checkout"}).json()
    key = api.post(f"/api/v1/services/{service['id']}/integrations", json={"name": "pd", "type": "pagerduty_v2"})
    event = {
        "routing_key": key.json()["key"],
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "x", "severity": "critical"},
    }
    assert api.client.post("/v2/enqueue", json=event).status_code == 202
    store_deep_details(api.runtime.db)
    listed = api.get("/api/v1/alerts")
    assert listed.status_code == 200, listed.text[:500]
    alert = listed.json()["items"][0]
    assert "nested deeper than" in str(alert["details"])
    one = api.get(f"/api/v1/alerts/{alert['id']}")
    assert one.status_code == 200, one.text[:500]
    incident = api.get(f"/api/v1/incidents/{alert['incident_id']}")
    assert incident.status_code == 200, incident.text[:500]
