"""Escalation policies, contact methods, notification rules, test notifications and paging by hand over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import ApiHarness
from tests.factories import make_service
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.incidents import service as incidents
from tocsin.notify.models import Notification


@pytest.fixture
def team(api: ApiHarness) -> dict[str, str]:
    tokens = {name: api.token_for(f"{name}@example.com") for name in ("ann", "ben")}
    r = api.post(
        "/api/v1/schedules",
        json={
            "name": "primary",
            "layers": [{"rotation": "weekly", "start": "2026-11-02T00:00:00Z", "users": ["ben@example.com"]}],
        },
    )
    assert r.status_code == 201
    return tokens


def policy_body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "checkout",
        "repeat": 1,
        "steps": [
            {"targets": [{"kind": "schedule", "ref": "primary"}], "delay": "5m"},
            {"targets": [{"kind": "user", "ref": "ann@example.com"}], "delay": 1800},
        ],
        **extra,
    }


def test_policy_create_read_and_replace(api: ApiHarness, team: dict[str, str]) -> None:
    r = api.post("/api/v1/escalation-policies", json=policy_body())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["repeat"] == 1
    assert [s["delay_seconds"] for s in created["steps"]] == [300, 1800]
    assert created["steps"][0]["targets"][0]["kind"] == "schedule"
    assert api.get("/api/v1/escalation-policies/checkout").json() == created
    assert [p["name"] for p in api.get("/api/v1/escalation-policies").json()] == ["checkout"]
    replaced = api.client.put(
        "/api/v1/escalation-policies/checkout",
        json=policy_body(repeat=0, steps=[{"targets": [{"kind": "user", "ref": "ben@example.com"}], "delay": "1h30m"}]),
        headers=api.headers(),
    )
    assert replaced.status_code == 200, replaced.text
    assert [s["delay_seconds"] for s in replaced.json()["steps"]] == [5400]
    assert replaced.json()["repeat"] == 0


BAD_POLICIES: list[tuple[dict[str, Any], int, str]] = [
    ({"steps": []}, 422, "steps"),
    ({"repeat": 10}, 422, "repeat"),
    ({"steps": [{"targets": [{"kind": "user", "ref": "ann@example.com"}], "delay": "soon"}]}, 422, "'soon'"),
    ({"steps": [{"targets": [{"kind": "user", "ref": "ann@example.com"}], "delay": -5}]}, 422, "negative"),
    ({"steps": [{"targets": [{"kind": "schedule", "ref": "nope"}]}]}, 404, "schedule nope"),
    ({"steps": [{"targets": [{"kind": "team", "ref": "nope"}]}]}, 404, "team nope"),
    ({"steps": [{"targets": [{"kind": "robot", "ref": "x"}]}]}, 422, "kind"),
]


def test_bad_policies_get_a_clear_error(api: ApiHarness, team: dict[str, str]) -> None:
    # One app for all cases: each case is a request, not a fixture's worth of setup.
    for change, status, words in BAD_POLICIES:
        r = api.post("/api/v1/escalation-policies", json=policy_body(**change))
        assert r.status_code == status, (change, r.text)
        assert words in r.json()["detail"], (change, r.text)
    assert api.get("/api/v1/escalation-policies").json() == []


def test_policy_names_are_unique_and_only_admins_write(api: ApiHarness, team: dict[str, str]) -> None:
    assert api.post("/api/v1/escalation-policies", json=policy_body()).status_code == 201
    assert api.post("/api/v1/escalation-policies", json=policy_body()).status_code == 409
    assert api.post("/api/v1/escalation-policies", json=policy_body(name="x"), token=team["ann"]).status_code == 403


def test_contact_methods_rules_and_test_message(api: ApiHarness, team: dict[str, str]) -> None:
    ann = team["ann"]
    r = api.post(
        "/api/v1/users/ann@example.com/contact-methods", json={"type": "email", "address": "ann@example.com"}, token=ann
    )
    assert r.status_code == 201, r.text
    cm = r.json()
    assert cm["verified"] is True
    listed = api.get("/api/v1/users/ann@example.com/contact-methods", token=ann).json()
    assert [c["id"] for c in listed] == [cm["id"]]
    rule = api.post(
        "/api/v1/users/ann@example.com/notification-rules",
        json={"urgency": "low", "contact_method_id": cm["id"], "delay": "1h"},
        token=ann,
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["delay_seconds"] == 3600
    rules = api.get("/api/v1/users/ann@example.com/notification-rules", token=ann).json()
    assert [(x["urgency"], x["delay_seconds"]) for x in rules] == [("low", 3600)]
    sent = api.post(f"/api/v1/contact-methods/{cm['id']}/test", token=ann)
    assert sent.status_code == 202
    assert sent.json()["status"] == "pending"
    assert count_tests(api) == 1


def test_people_change_only_their_own_contact_methods(api: ApiHarness, team: dict[str, str]) -> None:
    ann, ben = team["ann"], team["ben"]
    cm = api.post(
        "/api/v1/users/ann@example.com/contact-methods", json={"type": "email", "address": "ann@example.com"}, token=ann
    ).json()
    r = api.post(
        "/api/v1/users/ann@example.com/contact-methods", json={"type": "email", "address": "x@example.com"}, token=ben
    )
    assert r.status_code == 403
    assert api.post(f"/api/v1/contact-methods/{cm['id']}/test", token=ben).status_code == 403
    assert count_tests(api) == 0  # the refused test left nothing queued
    r = api.post(
        "/api/v1/users/ben@example.com/notification-rules",
        json={"urgency": "high", "contact_method_id": cm["id"]},
        token=ben,
    )
    assert r.status_code == 422
    assert "does not belong" in r.json()["detail"]
    admin = api.post(
        "/api/v1/users/ben@example.com/contact-methods", json={"type": "email", "address": "ben@example.com"}
    )
    assert admin.status_code == 201


BAD_CONTACT_METHODS: list[tuple[dict[str, str], str]] = [
    ({"type": "pigeon", "address": "roof"}, "contact method type"),
    ({"type": "email", "address": "not-an-address"}, "not an email address"),
    ({"type": "webhook", "address": "ftp://hooks.test/x"}, "http(s) URL"),
    ({"type": "email", "address": ""}, "address"),
]


def test_bad_contact_methods(api: ApiHarness, team: dict[str, str]) -> None:
    for body, words in BAD_CONTACT_METHODS:
        r = api.post("/api/v1/users/ann@example.com/contact-methods", json=body, token=team["ann"])
        assert r.status_code == 422, (body, r.text)
        assert words in r.json()["detail"], (body, r.text)
    assert api.get("/api/v1/users/ann@example.com/contact-methods").json() == []


def test_bad_rules_and_unknown_contact_method(api: ApiHarness, team: dict[str, str]) -> None:
    r = api.post(
        "/api/v1/users/ann@example.com/notification-rules",
        json={"urgency": "high", "contact_method_id": 1, "delay": "1y"},
    )
    assert r.status_code == 422
    assert "'1y'" in r.json()["detail"]
    r = api.post("/api/v1/users/ann@example.com/notification-rules", json={"urgency": "urgent", "contact_method_id": 1})
    assert r.status_code == 422
    assert api.post("/api/v1/contact-methods/999999/test").status_code == 404


def test_service_policy_and_escalating_by_hand(api: ApiHarness, team: dict[str, str]) -> None:
    assert api.post("/api/v1/escalation-policies", json=policy_body(repeat=0)).status_code == 201
    with api.runtime.db.unit_of_work() as s:
        _, integration = make_service(s, api.clock.now(), name="checkout-api")
        key = integration.key
    r = api.client.put(
        "/api/v1/services/checkout-api/escalation-policy", json={"escalation_policy": "checkout"}, headers=api.headers()
    )
    assert r.status_code == 200, r.text
    missing = api.client.put(
        "/api/v1/services/checkout-api/escalation-policy", json={"escalation_policy": "nope"}, headers=api.headers()
    )
    assert missing.status_code == 404
    with api.runtime.db.unit_of_work() as s:
        ingest_batch(
            s, [Submission(key, events=[NormalizedEvent("trigger", "k1", summary="down")])], now=api.clock.now()
        )
    # The worker is off: escalating by hand fires the pending first step (the schedule: ben), then the next.
    first = api.post("/api/v1/incidents/%231/escalate")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "triggered"
    assert api.post("/api/v1/incidents/%231/escalate").status_code == 200
    timeline = api.get("/api/v1/incidents/%231/notifications", token=team["ann"])
    assert timeline.status_code == 200
    assert timeline.json() == []  # nobody here has notification rules: nothing to send, nothing queued
    with api.runtime.db.reader() as s:
        steps = [e.message for e in incidents.timeline(s, incidents.get(s, "#1").id) if e.kind == "escalated"]
    assert steps == ["Step 1: notifying ben@example.com", "Step 2: notifying ann@example.com"]
    assert api.post("/api/v1/incidents/%2399/escalate").status_code == 404


def count_tests(api: ApiHarness) -> int:
    with api.runtime.db.reader() as s:
        return int(
            s.execute(select(func.count()).select_from(Notification).where(Notification.kind == "test")).scalar_one()
        )
