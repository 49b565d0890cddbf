"""Drills through the API: scenarios made and refused, a drill started and ended, its incident flagged and left out
of every count, and its report; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.conftest import declare, make_integration, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.webhooks import repository as webhook_repo


def put_scenario(api: ApiHarness, name: str, **body: object) -> Any:
    return api.client.put(f"/api/v1/drill-scenarios/{name}", json=body, headers=api.headers())


def test_scenarios_are_made_changed_and_refused_with_clear_reasons(api: ApiHarness) -> None:
    make_service(api, "checkout")
    made = ok(put_scenario(api, "db down", service="checkout", payload={"summary": "DB down", "severity": "critical"}))
    assert (made["name"], made["service"], made["payload"]["summary"]) == ("db down", "checkout", "DB down")
    changed = ok(put_scenario(api, "db down", service="checkout", incident_type="Big bang", description="all hands"))
    assert (changed["id"], changed["payload"], changed["incident_type"]) == (made["id"], None, "Big bang")
    assert [s["name"] for s in ok(api.get("/api/v1/drill-scenarios"))] == ["db down"]

    assert "service" in problem(put_scenario(api, "x", service="nowhere"), 422)["detail"]
    assert "unknown field" in problem(put_scenario(api, "x", service="checkout", payload={"foo": 1}), 422)["detail"]
    bad_severity = put_scenario(api, "x", service="checkout", payload={"severity": "apocalyptic"})
    assert "severity" in problem(bad_severity, 422)["detail"]
    both = put_scenario(api, "x", service="checkout", payload={}, incident_type="Standard")
    assert "not both" in problem(both, 422)["detail"]
    assert [s["name"] for s in ok(api.get("/api/v1/drill-scenarios"))] == ["db down"], "nothing was made"
    problem(api.delete("/api/v1/drill-scenarios/nothing-of-the-sort"), 404)
    ok(api.delete("/api/v1/drill-scenarios/db down"), 204)
    assert ok(api.get("/api/v1/drill-scenarios")) == []


def test_a_drill_opens_a_flagged_incident_that_no_count_includes_and_ends_with_a_report(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    make_integration(api, "checkout")
    ok(put_scenario(api, "db down", service="checkout", payload={"summary": "DB down"}))

    problem(api.post("/api/v1/drills", json={"scenario": "no such scenario"}), 422)
    assert ok(api.get("/api/v1/drills")) == []
    started = ok(api.post("/api/v1/drills", json={"scenario": "db down"}), 201)
    assert started["ended_at"] is None
    assert started["report"] is None
    number = started["incident_number"]
    incident = ok(api.get(f"/api/v1/incidents/%23{number}"))
    assert incident["drill"] is True
    assert incident["title"] == "DB down"
    real = declare(api, service["id"], "A real one")
    assert real["drill"] is False
    # Webhook subscribers are told too (the incident of every event they get).
    with api.runtime.db.reader() as s:
        facts = webhook_repo.incident_facts(s, [incident["id"], real["id"]])
    assert (facts[incident["id"]].drill, facts[real["id"]].drill) == (True, False)

    # The drill is listed, but counted nowhere: open counts per service and the metrics.
    listed = {i["number"]: i["drill"] for i in ok(api.get("/api/v1/incidents"))["items"]}
    assert listed == {number: True, real["number"]: False}
    assert ok(api.get("/api/v1/services/checkout"))["open_incidents"] == 1
    metrics = api.client.get("/metrics").text
    assert 'tocsin_open_incidents{status="triggered"} 1.0' in metrics
    noise = ok(api.get("/api/v1/noise", params={"since": "2026-11-01T00:00:00Z"}))
    assert noise["totals"]["incidents"] == 1, "the declared one, not the drill"
    assert (noise["totals"]["events"], noise["totals"]["alerts"]) == (0, 0), "the drill's event and alert"

    api.clock.advance(timedelta(minutes=3))
    ended = ok(api.post(f"/api/v1/drills/{started['id']}/end"))
    assert ended["ended_at"] is not None
    report = ended["report"]
    assert report["scenario"] == "db down"
    assert report["duration_seconds"] == 180.0
    assert report["answers"][0]["action"] == "resolved"
    assert report["answers"][0]["user"] == "Admin"
    assert report["first_answer_seconds"] == 180.0
    assert ok(api.get(f"/api/v1/incidents/%23{number}"))["status"] == "resolved"
    again = ok(api.post(f"/api/v1/drills/{started['id']}/end"))
    assert again["report"] == report, "ending an ended drill changes nothing"
    assert ok(api.get(f"/api/v1/drills/{started['id']}"))["report"] == report
    problem(api.get("/api/v1/drills/424242"), 404)
    problem(api.post("/api/v1/drills/424242/end"), 404)
    problem(api.get("/api/v1/drills/abc"), 404)


def test_resolving_a_drill_incident_ends_the_drill(api: ApiHarness) -> None:
    make_service(api, "checkout")
    make_integration(api, "checkout")
    ok(put_scenario(api, "db down", service="checkout"))
    started = ok(api.post("/api/v1/drills", json={"scenario": "db down"}), 201)
    api.clock.advance(timedelta(seconds=40))
    ok(api.post(f"/api/v1/incidents/{started['incident_id']}/acknowledge"))
    api.clock.advance(timedelta(seconds=20))
    ok(api.post(f"/api/v1/incidents/{started['incident_id']}/resolve"))
    drill = ok(api.get(f"/api/v1/drills/{started['id']}"))
    assert drill["ended_at"] is not None
    answers = [(a["action"], a["channel"], a["after_seconds"]) for a in drill["report"]["answers"]]
    assert answers == [("acknowledged", "api", 40.0), ("resolved", "api", 60.0)]
    timeline = [e["kind"] for e in ok(api.get(f"/api/v1/incidents/{started['incident_id']}/timeline"))]
    assert timeline.count("drill_started") == 1
    assert timeline.count("drill_ended") == 1


def test_a_drill_that_cannot_come_in_is_refused_and_leaves_nothing(api: ApiHarness) -> None:
    make_service(api, "quiet")
    ok(put_scenario(api, "nothing in", service="quiet"))
    refused = problem(api.post("/api/v1/drills", json={"scenario": "nothing in"}), 422)
    assert "no integration" in refused["detail"]
    assert ok(api.get("/api/v1/drills")) == []
    assert ok(api.get("/api/v1/incidents"))["items"] == []
    # Junk is a clear 4xx.
    problem(api.post("/api/v1/drills", json={}), 422)
    problem(api.post("/api/v1/drills", json={"scenario": "nothing in", "extra": 1}), 422)


def test_observers_cannot_start_drills(api: ApiHarness) -> None:
    make_service(api, "checkout")
    make_integration(api, "checkout")
    ok(put_scenario(api, "db down", service="checkout"))
    olga = api.token_for("olga@example.com", role="observer")
    problem(api.post("/api/v1/drills", json={"scenario": "db down"}, token=olga), 403)
    problem(put_scenario_as(api, olga), 403)
    assert ok(api.get("/api/v1/drills")) == []


def put_scenario_as(api: ApiHarness, token: str) -> Any:
    return api.client.put("/api/v1/drill-scenarios/mine", json={"service": "checkout"}, headers=api.headers(token))


def test_a_drill_of_an_incident_type_opens_an_incident_of_that_type(api: ApiHarness) -> None:
    make_service(api, "checkout")
    make_integration(api, "checkout")
    ok(put_scenario(api, "all hands", service="checkout", incident_type="Big bang"))
    started = ok(api.post("/api/v1/drills", json={"scenario": "all hands"}), 201)
    incident = ok(api.get(f"/api/v1/incidents/%23{started['incident_number']}"))
    assert (incident["drill"], incident["type"], incident["major"]) == (True, "Big bang", True)
    titles = [t["title"] for t in ok(api.get(f"/api/v1/incidents/{incident['id']}/tasks"))["items"]]
    assert "Assign Incident Commander" in titles
