"""Event rules, the priority matrix and the route simulator over HTTP and through the real ingest writer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import ApiHarness
from tests.factories import make_service
from tocsin.alerts.models import Alert, AlertEvent
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.incidents.models import Incident, TimelineEntry


def put(api: ApiHarness, url: str, body: dict[str, Any]) -> Any:
    return api.client.put(url, json=body, headers=api.headers())


def event(key: str, summary: str = "CPU high", severity: str = "error", **labels: str) -> NormalizedEvent:
    return NormalizedEvent(action="trigger", dedup_key=key, summary=summary, severity=severity, labels=labels)


def send(api: ApiHarness, integration_key: str, *events: NormalizedEvent) -> list[str]:
    result = api.runtime.committer.submit_sync(Submission(integration_key=integration_key, events=list(events)))
    assert result.found
    return result.outcomes


@pytest.fixture
def services(api: ApiHarness) -> dict[str, str]:
    with api.runtime.db.unit_of_work() as s:
        _, checkout = make_service(s, api.clock.now(), name="checkout-api", type="alertmanager")
        _, payments = make_service(s, api.clock.now(), name="payments", tier=1)
    return {"checkout": checkout.key, "payments": payments.key}


def incidents(api: ApiHarness) -> list[Incident]:
    with api.runtime.db.reader() as s:
        return list(s.execute(select(Incident).order_by(Incident.number)).scalars())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"matchers": [{"field": "labels.team", "op": "=~", "value": "pay("}]}, "event rule 'bad': rule 'bad': bad"),
        ({"matchers": [{"field": "colour", "value": "red"}]}, "unknown field 'colour'"),
        ({"actions": {"service": "nowhere"}}, "unknown service 'nowhere'"),
        ({"actions": {"priority": "P0"}}, "priority must be one of"),
        ({"actions": {"title": "{labels.x"}}, "unbalanced brace"),
    ],
)
def test_invalid_event_rules_are_refused_naming_the_rule(
    api: ApiHarness, services: dict[str, str], body: dict[str, Any], message: str
) -> None:
    r = put(api, "/api/v1/event-rules", {"name": "bad", **body})
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert "'bad'" in r.json()["detail"]
    assert api.get("/api/v1/event-rules").json() == []


def test_rules_route_shape_drop_and_suppress(api: ApiHarness, services: dict[str, str]) -> None:
    checkout = services["checkout"]
    rules = [
        {
            "name": "payments-team",
            "integration_key": checkout,
            "matchers": [{"field": "labels.team", "value": "pay"}, {"field": "details.load", "op": ">", "value": 2}],
            "actions": {"service": "payments", "priority": "P2", "title": "[{labels.team}] {summary}"},
        },
        {"name": "drop-test", "matchers": [{"field": "labels.env", "value": "test"}], "actions": {"drop": True}},
        {"name": "mute-dev", "matchers": [{"field": "labels.env", "value": "dev"}], "actions": {"suppress": True}},
    ]
    for rule in rules:
        assert put(api, "/api/v1/event-rules", rule).status_code == 200
    assert [r["name"] for r in api.get("/api/v1/event-rules").json()] == ["payments-team", "drop-test", "mute-dev"]
    routed = event("k1", team="pay")
    routed.details = {"load": 3.5}
    low_load = event("k2", team="pay")
    low_load.details = {"load": 1}
    outcomes = send(api, checkout, routed, low_load, event("k3", env="test"), event("k4", env="dev"))
    assert outcomes == ["created", "created", "dropped", "suppressed"]
    first, second = incidents(api)
    with api.runtime.db.reader() as s:
        names = {i: n for i, n in s.execute(select(Incident.id, Incident.title)).all()}
        alerts = {a.dedup_key: a for a in s.execute(select(Alert)).scalars()}
        event_outcomes = sorted(s.execute(select(AlertEvent.outcome)).scalars())
    assert first.title == "[pay] CPU high"
    assert first.priority == "P2"
    assert second.title == "CPU high"
    assert first.service_id != second.service_id
    assert alerts["k1"].service_id == first.service_id
    assert "k3" not in alerts  # dropped: in the event log only
    assert alerts["k4"].suppressed == "rule"
    assert alerts["k4"].suppressed_by == {"rule": "mute-dev"}
    assert alerts["k4"].incident_id is None
    assert len(names) == 2
    assert event_outcomes == ["created", "created", "dropped", "suppressed"]


def test_priority_matrix_uses_service_tier_and_marks_major_incidents(api: ApiHarness, services: dict[str, str]) -> None:
    r = put(
        api,
        "/api/v1/noise-settings",
        {
            "priority_matrix": {"cells": {"low": {"high": "P4"}}},
            "major_incident": {"priorities": ["P1"], "tiers": []},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["priority_matrix"]["cells"]["low"]["high"] == "P4"
    bad = put(api, "/api/v1/noise-settings", {"priority_matrix": {"cells": {"huge": {}}}})
    assert bad.status_code == 422
    assert "unknown impact 'huge'" in bad.json()["detail"]
    # The bad request changed nothing.
    assert api.get("/api/v1/noise-settings").json()["major_incident"] == {"priorities": ["P1"], "tiers": []}
    send(api, services["payments"], event("tier1", severity="info"))  # tier 1: high impact, whatever severity
    send(api, services["checkout"], event("untiered", severity="warning"))  # warning: low impact
    major, minor = incidents(api)
    assert (major.priority, major.major) == ("P1", True)
    assert (minor.priority, minor.major) == ("P4", False)
    with api.runtime.db.reader() as s:
        kinds = list(s.execute(select(TimelineEntry.kind).where(TimelineEntry.incident_id == major.id)).scalars())
    assert kinds == ["triggered", "major"]
    assert api.get(f"/api/v1/incidents/{major.id}").json()["major"] is True
    assert api.get(f"/api/v1/incidents/{minor.id}").json()["major"] is False


def test_route_test_explains_and_stores_nothing(api: ApiHarness, services: dict[str, str]) -> None:
    checkout = services["checkout"]
    put(
        api,
        "/api/v1/event-rules",
        {
            "name": "to-payments",
            "matchers": [{"field": "labels.team", "value": "pay"}],
            "actions": {"service": "payments"},
        },
    )
    r = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"field": "labels.instance", "value": "db9"}],
            "ends_at": "2026-11-02T10:00:00Z",
            "comment": "disk swap",
        },
    )
    assert r.status_code == 201, r.text
    silence_id = r.json()["id"]
    payload = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "Slow", "team": "pay"}, "startsAt": "2026-11-02T07:59:00Z"},
            {"status": "firing", "labels": {"alertname": "Disk", "instance": "db9"}},
        ],
    }
    r = api.post("/api/v1/route-test", json={"payload": payload, "integration_key": checkout})
    assert r.status_code == 200, r.text
    routed, silenced = r.json()["events"]
    assert routed["rule"] == "to-payments"
    assert routed["service"] == "payments"
    assert routed["outcome"] == "created"
    assert routed["priority"] == "P2"
    assert silenced["outcome"] == "silenced"
    assert silenced["silenced_by"] == silence_id
    # After the silence ends, the same event would page.
    later = api.post(
        "/api/v1/route-test", json={"payload": payload, "integration_key": checkout, "at": "2026-11-02T11:00:00Z"}
    )
    assert later.json()["events"][1]["outcome"] == "created"
    with api.runtime.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AlertEvent)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == 0
    unknown = api.post("/api/v1/route-test", json={"payload": payload, "integration_key": "x" * 20})
    assert unknown.status_code == 422
    assert "unknown integration key" in unknown.json()["detail"]


def test_a_rule_routing_to_an_archived_service_never_fails_ingestion(api: ApiHarness, services: dict[str, str]) -> None:
    from tocsin.admin import service as admin
    from tocsin.services import service as service_service

    body = {"name": "to-payments", "matchers": [], "actions": {"service": "payments"}}
    assert put(api, "/api/v1/event-rules", body).status_code == 200
    assert send(api, services["checkout"], event("before")) == ["created"]  # compiles and caches the rules
    (before,) = incidents(api)
    assert api.post(f"/api/v1/incidents/{before.id}/resolve").status_code == 200  # a service with open incidents stays
    with api.runtime.db.unit_of_work() as s:
        admin.archive_service(s, service_service.get_service(s, "payments"), now=api.clock.now())
    assert send(api, services["checkout"], event("after")) == ["created"]
    kept, incident = incidents(api)
    assert kept.id == before.id, "the archived service keeps its incident"
    with api.runtime.db.reader() as s:
        checkout = service_service.get_service(s, "checkout-api")
    assert incident.service_id == checkout.id


def test_route_test_says_into_which_incident_it_groups_and_which_alert_inhibits(
    api: ApiHarness, services: dict[str, str]
) -> None:
    key = services["payments"]
    assert put(api, "/api/v1/services/payments/grouping", {"group_by": ["cluster"]}).status_code == 200
    inhibit = {
        "name": "node-down",
        "source": [{"field": "labels.alertname", "value": "NodeDown"}],
        "target": [{"field": "labels.alertname", "value": "PodCrash"}],
        "equal": ["node"],
    }
    assert put(api, "/api/v1/inhibit-rules", inhibit).status_code == 200
    send(api, key, event("grp", cluster="eu1"), event("node", alertname="NodeDown", node="n1"))
    first = incidents(api)[0]
    with api.runtime.db.reader() as s:
        source_id = s.execute(select(Alert.id).where(Alert.dedup_key == "node")).scalar_one()

    am = {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"cluster": "eu1"}}]}
    with api.runtime.db.unit_of_work() as s:
        from tocsin.services import service as service_service

        am_key = service_service.add_integration(
            s, service_service.get_service(s, "payments"), name="prom", type="alertmanager", now=api.clock.now()
        ).key
    r = api.post("/api/v1/route-test", json={"payload": am, "integration_key": am_key})
    assert r.status_code == 200, r.text
    (joined,) = r.json()["events"]
    assert joined["outcome"] == "grouped"
    assert joined["grouped_into"] == first.number
    assert joined["grouped_by"] == "labels"
    crash = {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "PodCrash", "node": "n1"}}],
    }
    r = api.post("/api/v1/route-test", json={"payload": crash, "integration_key": am_key})
    (muted,) = r.json()["events"]
    assert muted["outcome"] == "inhibited"
    assert muted["inhibited_by"]["alert_id"] == source_id
    assert muted["inhibited_by"]["rule"] == "node-down"


def test_route_test_reports_resolve_events_too(api: ApiHarness, services: dict[str, str]) -> None:
    payload = {"version": "4", "status": "resolved", "alerts": [{"status": "resolved", "labels": {"alertname": "X"}}]}
    body = {"payload": payload, "integration_key": services["checkout"]}
    (unknown,) = api.post("/api/v1/route-test", json=body).json()["events"]
    assert unknown["outcome"] == "ignored"  # no open alert with that key
    firing = {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}
    assert api.client.post(f"/integrations/{services['checkout']}/alertmanager", json=firing).status_code == 202
    (known,) = api.post("/api/v1/route-test", json=body).json()["events"]
    assert known["outcome"] == "resolved"
    assert incidents(api)[0].status == "triggered"  # the simulation resolved nothing for real


def test_only_admins_change_rules_and_deleting_a_rule_takes_effect(api: ApiHarness, services: dict[str, str]) -> None:
    responder = api.token_for("rita@example.com")
    body = {"name": "mute", "matchers": [{"field": "labels.env", "value": "dev"}], "actions": {"suppress": True}}
    refused = api.client.put("/api/v1/event-rules", json=body, headers=api.headers(responder))
    assert refused.status_code == 403
    assert put(api, "/api/v1/event-rules", body).status_code == 200
    assert api.get("/api/v1/event-rules", token=responder).status_code == 200
    assert send(api, services["checkout"], event("a", env="dev")) == ["suppressed"]
    assert api.delete("/api/v1/event-rules/mute").status_code == 204
    assert api.delete("/api/v1/event-rules/mute").status_code == 404
    assert send(api, services["checkout"], event("b", env="dev")) == ["created"]
    inhibit = {
        "name": "i",
        "source": [{"field": "labels.a", "value": "b"}],
        "target": [{"field": "labels.c", "value": "d"}],
    }
    assert put(api, "/api/v1/inhibit-rules", inhibit).status_code == 200
    assert [r["name"] for r in api.get("/api/v1/inhibit-rules").json()] == ["i"]
    assert api.delete("/api/v1/inhibit-rules/i").status_code == 204
    assert api.get("/api/v1/inhibit-rules").json() == []
