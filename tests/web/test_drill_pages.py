"""Drills in the console: a scenario saved by an admin, a drill started from its button, the DRILL badge on the
list and the incident page, the impact card with the running cost, the drill ended from the page and its
report; observers see but cannot act."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.conftest import Console
from tocsin.services import service as services


def post(console: Console, path: str, **fields: str) -> str:
    csrf = console.csrf("/drills")
    r = console.client.post(path, data={"csrf": csrf, **fields}, follow_redirects=True)
    assert r.status_code == 200, r.text
    return r.text


def test_a_drill_is_set_up_started_shown_and_ended_from_the_console(console: Console) -> None:
    console.login()
    with console.db.unit_of_work() as s:
        service_id = services.get_service(s, "checkout-api").id
    page = post(
        console,
        "/drills/scenarios",
        name="db down",
        service=str(service_id),
        payload='{"summary": "Primary database down", "severity": "critical"}',
        description="failover",
    )
    assert "Scenario db down saved" in page
    assert "Primary database down" in page
    assert "not JSON" in post(console, "/drills/scenarios", name="bad", service=str(service_id), payload="{nope")
    assert "unknown field" in post(
        console, "/drills/scenarios", name="bad", service=str(service_id), payload='{"x": 1}'
    )

    page = post(console, "/drills/start", scenario="db down")
    assert "Drill started" in page
    assert "still running" in page
    number = int(re.search(r'href="/incidents/(\d+)"', page).group(1))  # type: ignore[union-attr]
    console.trigger("A real one")

    listing = console.client.get("/incidents").text
    assert listing.count('class="badge drill"') == 1
    incident = console.client.get(f"/incidents/{number}").text
    assert 'class="badge drill"' in incident
    assert "This incident is a drill" in incident
    assert "End drill" in incident

    drill_id = re.search(r'action="/drills/(\d+)/end"', incident).group(1)  # type: ignore[union-attr]
    console.clock.advance(timedelta(minutes=2))
    page = post(console, f"/drills/{drill_id}/end")
    assert "Drill ended" in page
    assert "First answer: <strong>120 s after the start</strong>" in page
    assert console.status_of(number) == "resolved"
    assert "Drill report" in console.client.get(f"/incidents/{number}").text
    assert "db down" in console.client.get("/drills").text


def test_the_incident_page_shows_the_running_then_the_kept_cost(console: Console) -> None:
    console.login()
    with console.db.unit_of_work() as s:
        services.update_service(s, services.get_service(s, "checkout-api"), downtime_cost_per_minute=12.5)
    console.trigger("Checkout down")
    console.clock.advance(timedelta(minutes=8))
    page = console.client.get("/incidents/1").text
    assert "Running cost of downtime" in page
    assert 'data-downtime-cost="100.00"' in page
    assert "100.00 USD" in page
    csrf = console.csrf("/incidents/1")
    console.client.post("/incidents/1", data={"csrf": csrf, "action": "resolve"})
    console.clock.advance(timedelta(minutes=30))
    page = console.client.get("/incidents/1").text
    assert "Cost of downtime" in page
    assert 'data-downtime-cost="100.00"' in page


def test_the_service_form_takes_a_cost_and_refuses_a_negative_one(console: Console) -> None:
    console.login()
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
    form = console.client.get(f"/services/{service_id}/edit").text
    assert 'name="downtime_cost_per_minute"' in form
    csrf = console.csrf(f"/services/{service_id}/edit")
    fields = {"csrf": csrf, "name": "checkout-api", "urgency": "high", "auto_resolve": "on"}
    refused = console.client.post(f"/services/{service_id}/edit", data={**fields, "downtime_cost_per_minute": "-4"})
    assert refused.status_code == 422
    assert "downtime_cost_per_minute" in refused.text
    with console.db.reader() as s:
        assert services.get_service(s, service_id).downtime_cost_per_minute is None
    saved = console.client.post(
        f"/services/{service_id}/edit", data={**fields, "downtime_cost_per_minute": "42.5"}, follow_redirects=False
    )
    assert saved.status_code == 303
    with console.db.reader() as s:
        assert services.get_service(s, service_id).downtime_cost_per_minute == 42.5


def test_observers_see_drills_but_get_no_buttons(console: Console) -> None:
    console.login()
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
    post(console, "/drills/scenarios", name="db down", service=str(service_id), payload="")
    console.login("olga@example.com")
    page = console.client.get("/drills").text
    assert "db down" in page
    assert "Start drill" not in page
    assert "Save scenario" not in page
    csrf = console.csrf("/drills")
    refused = console.client.post("/drills/start", data={"csrf": csrf, "scenario": "db down"})
    assert refused.status_code == 403
    refused = console.client.post(
        "/drills/scenarios", data={"csrf": csrf, "name": "mine", "service": str(service_id), "payload": ""}
    )
    assert refused.status_code == 403
    assert console.client.get("/drills/424242").status_code == 404


def test_tier_costs_are_set_from_the_console_and_refused_when_negative(console: Console) -> None:
    console.login()
    page = console.client.get("/tier-costs").text
    assert 'name="tier_1"' in page
    csrf = console.csrf("/tier-costs")
    saved = console.client.post("/tier-costs", data={"csrf": csrf, "tier_1": "250", "tier_3": "1.5"})
    assert "Costs per tier saved" in saved.text
    with console.db.reader() as s:
        assert services.tier_costs(s) == {1: 250.0, 3: 1.5}
    refused = console.client.post("/tier-costs", data={"csrf": csrf, "tier_1": "-1", "tier_3": "9"})
    assert "cannot be negative" in refused.text
    refused = console.client.post("/tier-costs", data={"csrf": csrf, "tier_1": "5", "tier_2": "lots"})
    assert "not a number" in refused.text
    with console.db.reader() as s:
        assert services.tier_costs(s) == {1: 250.0, 3: 1.5}, "nothing changed"
    console.login("olga@example.com")
    assert "Save costs" not in console.client.get("/tier-costs").text
    csrf = console.csrf("/tier-costs")
    assert console.client.post("/tier-costs", data={"csrf": csrf, "tier_1": "1"}).status_code == 403
