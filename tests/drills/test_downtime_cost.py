"""The cost of downtime (ADR 0025): per service or by its tier's default, running with the clock since impact
started, kept when impact ends; bad costs are refused; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness


def cost(api: ApiHarness, incident: dict[str, Any]) -> tuple[float | None, bool | None]:
    body = ok(api.get(f"/api/v1/incidents/{incident['id']}"))
    return body["downtime_cost"], body["downtime_cost_final"]


def test_the_cost_runs_with_the_clock_and_is_kept_when_the_incident_resolves(api: ApiHarness) -> None:
    service = make_service(api, "checkout", downtime_cost_per_minute=10)
    assert service["downtime_cost_per_minute"] == 10
    incident = declare(api, service["id"])
    body = ok(api.get(f"/api/v1/incidents/{incident['id']}"))
    assert (body["downtime_cost"], body["downtime_cost_final"], body["currency"]) == (0, False, "USD")

    api.clock.advance(timedelta(minutes=30))
    assert cost(api, incident) == (300.0, False)
    # Impact began ten minutes before the incident was declared.
    started = (api.clock.now() - timedelta(minutes=40)).isoformat()
    ok(
        api.client.put(
            f"/api/v1/incidents/{incident['id']}/milestones/impact_started",
            json={"at": started, "reason": "graphs"},
            headers=api.headers(),
        )
    )
    assert cost(api, incident) == (400.0, False)
    ok(api.post(f"/api/v1/incidents/{incident['id']}/resolve"))
    assert cost(api, incident) == (400.0, True)
    api.clock.advance(timedelta(hours=2))
    assert cost(api, incident) == (400.0, True), "the total is kept"
    # A later change of the service's cost does not rewrite history.
    ok(api.patch("/api/v1/services/checkout", json={"downtime_cost_per_minute": 1000}))
    assert cost(api, incident) == (400.0, True)

    ok(api.post(f"/api/v1/incidents/{incident['id']}/reopen", json={"message": "back"}))
    running, final = cost(api, incident)
    assert final is False
    assert running == 1000 * (40 + 120)


def test_impact_ended_keeps_the_total_while_the_incident_stays_open(api: ApiHarness) -> None:
    service = make_service(api, "checkout", downtime_cost_per_minute=2.5)
    incident = declare(api, service["id"])
    api.clock.advance(timedelta(minutes=10))
    ended = (api.clock.now() - timedelta(minutes=4)).isoformat()
    ok(
        api.client.put(
            f"/api/v1/incidents/{incident['id']}/milestones/impact_ended",
            json={"at": ended, "reason": "failover done"},
            headers=api.headers(),
        )
    )
    assert cost(api, incident) == (15.0, True)
    api.clock.advance(timedelta(minutes=30))
    assert cost(api, incident) == (15.0, True)
    assert ok(api.get(f"/api/v1/incidents/{incident['id']}"))["status"] == "triggered"


def test_a_tier_default_applies_unless_the_service_has_its_own(api: ApiHarness) -> None:
    tiered = make_service(api, "tiered", tier=2)
    own = make_service(api, "own", tier=2, downtime_cost_per_minute=1)
    unpriced = make_service(api, "unpriced")
    a, b, c = (declare(api, s["id"]) for s in (tiered, own, unpriced))
    api.clock.advance(timedelta(minutes=6))
    assert cost(api, a) == (None, None), "no cost of its own and none for its tier"
    costs = ok(api.client.put("/api/v1/tier-costs/2", json={"cost_per_minute": 50}, headers=api.headers()))
    assert costs == {"currency": "USD", "tiers": {"2": 50.0}}
    assert cost(api, a) == (300.0, False)
    assert cost(api, b) == (6.0, False), "the service's own cost wins over its tier's"
    assert cost(api, c) == (None, None)
    ok(api.client.put("/api/v1/tier-costs/2", json={"cost_per_minute": None}, headers=api.headers()))
    assert ok(api.get("/api/v1/tier-costs"))["tiers"] == {}
    assert cost(api, a) == (None, None)


def test_bad_costs_are_refused_and_change_nothing(api: ApiHarness) -> None:
    make_service(api, "checkout", downtime_cost_per_minute=3)
    problem(api.patch("/api/v1/services/checkout", json={"downtime_cost_per_minute": -1}), 422)
    problem(api.patch("/api/v1/services/checkout", json={"downtime_cost_per_minute": "lots"}), 422)
    problem(api.post("/api/v1/services", json={"name": "neg", "downtime_cost_per_minute": -0.5}), 422)
    assert ok(api.get("/api/v1/services/checkout"))["downtime_cost_per_minute"] == 3
    problem(api.client.put("/api/v1/tier-costs/2", json={"cost_per_minute": -3}, headers=api.headers()), 422)
    problem(api.client.put("/api/v1/tier-costs/9", json={"cost_per_minute": 3}, headers=api.headers()), 422)
    problem(api.client.put("/api/v1/tier-costs/two", json={"cost_per_minute": 3}, headers=api.headers()), 422)
    assert ok(api.get("/api/v1/tier-costs"))["tiers"] == {}
    ok(api.patch("/api/v1/services/checkout", json={"downtime_cost_per_minute": None}))
    assert ok(api.get("/api/v1/services/checkout"))["downtime_cost_per_minute"] is None


def test_a_drill_costs_nothing(api: ApiHarness) -> None:
    make_service(api, "checkout", downtime_cost_per_minute=100)
    ok(api.post("/api/v1/services/checkout/integrations", json={"type": "generic", "name": "in"}), 201)
    ok(api.client.put("/api/v1/drill-scenarios/d", json={"service": "checkout"}, headers=api.headers()))
    drill = ok(api.post("/api/v1/drills", json={"scenario": "d"}), 201)
    api.clock.advance(timedelta(minutes=5))
    assert cost(api, {"id": drill["incident_id"]}) == (None, None)
