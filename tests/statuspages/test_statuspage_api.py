"""Status pages through the admin API, read back through the Statuspage-compatible public API: field names,
shapes and enumerations as Atlassian Statuspage's public v2 API has them; bad input refused with clear 4xx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tests.statuspages.conftest import make_component, make_page, publish

PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date",
    "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink",
    "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_KEYS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components",
    "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
INDICATORS = {"none", "minor", "major", "critical"}


def public(api: ApiHarness, slug: str, name: str) -> Any:
    response = api.client.get(f"/status/{slug}/api/v2/{name}")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def check_component(c: dict[str, Any]) -> None:
    assert set(c) >= COMPONENT_KEYS, set(c) ^ COMPONENT_KEYS
    assert c["status"] in COMPONENT_STATUSES
    assert isinstance(c["id"], str)
    assert isinstance(c["page_id"], str)
    assert isinstance(c["group"], bool)


def check_incident(i: dict[str, Any], statuses: set[str]) -> None:
    assert set(i) >= INCIDENT_KEYS, set(i) ^ INCIDENT_KEYS
    assert i["status"] in statuses
    for u in i["incident_updates"]:
        assert set(u) == UPDATE_KEYS
        assert u["status"] in statuses
        assert u["incident_id"] == i["id"]
    for c in i["components"]:
        check_component(c)


def test_every_public_document_has_statuspage_fields_and_enumerations(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    make_page(api, time_zone="Europe/Paris")
    group = ok(api.post("/api/v1/status-pages/acme/groups", json={"name": "Shop"}), 201)
    web = make_component(api, "acme", "Website", group_id=group["id"], services=["checkout"])
    api_c = make_component(api, "acme", "API", position=2)
    response_incident = declare(api, service["id"])
    incident = publish(
        api,
        "acme",
        "Checkout errors",
        "We are **investigating** errors at checkout.",
        impact="major",
        components={str(web["id"]): "partial_outage"},
        incident_ids=[str(response_incident["id"])],
    )
    assert incident["incident_ids"] == [response_incident["id"]]
    ok(
        api.post(
            f"/api/v1/status-pages/acme/incidents/{incident['id']}/updates",
            json={"status": "monitoring", "body": "A fix is deployed.", "components": {str(web["id"]): "operational"}},
        ),
        201,
    )
    now = api.clock.now()
    ok(
        api.post(
            "/api/v1/status-pages/acme/maintenances",
            json={
                "name": "Database upgrade",
                "scheduled_for": (now + timedelta(days=1)).isoformat(),
                "scheduled_until": (now + timedelta(days=1, hours=2)).isoformat(),
                "component_ids": [api_c["id"]],
            },
        ),
        201,
    )

    summary = public(api, "acme", "summary.json")
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(summary["page"]) == PAGE_KEYS
    assert summary["page"]["url"] == "http://tocsin.test/status/acme"
    assert summary["page"]["time_zone"] == "Europe/Paris"
    for c in summary["components"]:
        check_component(c)
    groups = [c for c in summary["components"] if c["group"]]
    assert [g["components"] for g in groups] == [[str(web["id"])]]
    assert {c["group_id"] for c in summary["components"] if c["name"] == "Website"} == {groups[0]["id"]}
    assert [i["name"] for i in summary["incidents"]] == ["Checkout errors"]
    check_incident(summary["incidents"][0], INCIDENT_STATUSES)
    assert summary["incidents"][0]["status"] == "monitoring"
    assert summary["incidents"][0]["monitoring_at"] is not None
    assert summary["incidents"][0]["impact"] == "major"
    (first,) = [u for u in summary["incidents"][0]["incident_updates"] if u["status"] == "investigating"]
    assert first["affected_components"] == [
        {"code": str(web["id"]), "name": "Website", "old_status": "operational", "new_status": "partial_outage"}
    ]
    assert summary["status"]["indicator"] in INDICATORS
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    (m,) = summary["scheduled_maintenances"]
    assert m["status"] in MAINTENANCE_STATUSES
    assert m["impact"] == "maintenance"
    assert {"scheduled_for", "scheduled_until"} <= set(m)

    assert set(public(api, "acme", "status.json")) == {"page", "status"}
    assert len(public(api, "acme", "components.json")["components"]) == 3
    assert len(public(api, "acme", "incidents.json")["incidents"]) == 1
    assert len(public(api, "acme", "incidents/unresolved.json")["incidents"]) == 1
    assert len(public(api, "acme", "scheduled-maintenances.json")["scheduled_maintenances"]) == 1
    assert len(public(api, "acme", "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]) == 1
    assert public(api, "acme", "scheduled-maintenances/active.json")["scheduled_maintenances"] == []

    ok(
        api.post(
            f"/api/v1/status-pages/acme/incidents/{incident['id']}/updates",
            json={"status": "resolved", "body": "Resolved."},
        ),
        201,
    )
    assert public(api, "acme", "incidents/unresolved.json")["incidents"] == [], "the cache was invalidated"
    assert public(api, "acme", "status.json")["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }
    resolved = public(api, "acme", "incidents.json")["incidents"][0]
    assert resolved["resolved_at"] is not None
    assert resolved["status"] == "resolved"

    timeline = ok(api.get(f"/api/v1/incidents/{response_incident['id']}/timeline"))
    assert [e["kind"] for e in timeline].count("status_page_update") == 3


def test_component_history_is_kept(api: ApiHarness) -> None:
    from tocsin.statuspages import service as statuspages

    make_page(api)
    c = make_component(api, "acme", "API")
    for status in ("degraded_performance", "major_outage", "operational"):
        api.clock.advance(timedelta(minutes=10))
        ok(api.patch(f"/api/v1/status-pages/acme/components/{c['id']}", json={"status": status}))
    with api.runtime.db.reader() as s:
        rows = statuspages.history(s, [c["id"]], api.clock.now() - timedelta(days=1))[c["id"]]
    assert [str(r.status) for r in rows] == ["operational", "degraded_performance", "major_outage", "operational"]


def test_bad_input_is_refused_and_changes_nothing(api: ApiHarness) -> None:
    make_page(api)
    other = make_page(api, "other", name="Other")
    c = make_component(api, "acme", "API")
    foreign = make_component(api, "other", "Elsewhere")
    assert other["slug"] == "other"
    base = "/api/v1/status-pages/acme"
    problem(
        api.post(f"{base}/incidents", json={"name": "x", "body": "y", "components": {"424242": "major_outage"}}), 422
    )
    refused = problem(
        api.post(
            f"{base}/incidents", json={"name": "x", "body": "y", "components": {str(foreign["id"]): "major_outage"}}
        ),
        422,
    )
    assert "no component" in refused["detail"]
    problem(api.post(f"{base}/incidents", json={"name": "x", "body": "y", "components": {str(c["id"]): "broken"}}), 422)
    problem(api.post(f"{base}/incidents", json={"name": "x", "body": "y", "status": "fixed"}), 422)
    problem(api.post(f"{base}/incidents", json={"name": "x", "body": "y", "impact": "huge"}), 422)
    problem(api.post(f"{base}/incidents", json={"name": "x", "body": "y" * 10_001}), 422)
    problem(api.post(f"{base}/incidents", json={"name": "x", "body": "y", "incident_ids": ["424242"]}), 422)
    problem(api.patch(f"{base}/components/{c['id']}", json={"status": "on_fire"}), 422)
    problem(api.patch(f"{base}/components/{foreign['id']}", json={"status": "major_outage"}), 404)
    problem(api.post(f"{base}/incidents/424242/updates", json={"status": "resolved", "body": "x"}), 404)
    problem(api.post("/api/v1/status-pages", json={"slug": "acme", "name": "Again"}), 409)
    problem(api.post("/api/v1/status-pages", json={"slug": "Bad Slug", "name": "x"}), 422)
    problem(api.patch(f"{base}", json={"time_zone": "Mars/Olympus"}), 422)
    problem(api.patch(f"{base}", json={"brand_color": "red"}), 422)
    problem(api.patch(f"{base}", json={"logo_url": "javascript:alert(1)"}), 422)
    problem(api.get("/api/v1/status-pages/nope"), 404)
    assert public(api, "acme", "incidents.json")["incidents"] == []
    assert public(api, "acme", "components.json")["components"][0]["status"] == "operational"
    responder = api.token_for("r@example.com", "responder")
    problem(api.post(f"{base}/components", json={"name": "x"}, token=responder), 403)


def test_private_and_drill_incidents_are_never_published(api: ApiHarness) -> None:
    make_page(api)
    service = make_service(api, "checkout")
    secret = ok(
        api.post("/api/v1/incidents", json={"service_id": service["id"], "title": "Leak", "private": True}), 201
    )
    base = "/api/v1/status-pages/acme"
    refused = problem(
        api.post(f"{base}/incidents", json={"name": "x", "body": "y", "incident_ids": [str(secret["id"])]}), 422
    )
    assert "private" in refused["detail"]
    with api.runtime.db.unit_of_work() as s:
        from tocsin.incidents import service as incidents

        incidents.get(s, secret["id"]).private = False
        incidents.get(s, secret["id"]).drill = True
    refused = problem(
        api.post(f"{base}/incidents", json={"name": "x", "body": "y", "incident_ids": [str(secret["id"])]}), 422
    )
    assert "drill" in refused["detail"]
    assert public(api, "acme", "incidents.json")["incidents"] == []
    public_one = declare(api, service["id"], "Checkout slow")
    ok(api.post(f"{base}/incidents", json={"name": "Slow", "body": "y", "incident_ids": [str(public_one["id"])]}), 201)
    assert [i["name"] for i in public(api, "acme", "incidents.json")["incidents"]] == ["Slow"]
