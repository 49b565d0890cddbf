"""Silences, maintenance windows, inhibition, grouping, merge and split, flapping, reminders and the noise report,
on SQLite and PostgreSQL through the real ingest writer and HTTP API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import ApiHarness
from tests.factories import make_service
from tocsin.alerts import silence_service
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.escalation.models import Escalation
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import contacts
from tocsin.notify.models import Notification


def trigger(key: str, summary: str = "CPU high", **labels: str) -> NormalizedEvent:
    return NormalizedEvent(action="trigger", dedup_key=key, summary=summary, severity="error", labels=labels)


def resolve(key: str) -> NormalizedEvent:
    return NormalizedEvent(action="resolve", dedup_key=key)


def send(api: ApiHarness, integration_key: str, *events: NormalizedEvent) -> list[str]:
    result = api.runtime.committer.submit_sync(Submission(integration_key=integration_key, events=list(events)))
    assert result.found
    return result.outcomes


def put(api: ApiHarness, url: str, body: dict[str, Any]) -> Any:
    return api.client.put(url, json=body, headers=api.headers())


@pytest.fixture
def key(api: ApiHarness) -> str:
    with api.runtime.db.unit_of_work() as s:
        _, integration = make_service(s, api.clock.now(), name="checkout-api")
    return integration.key


def incidents(api: ApiHarness) -> list[Incident]:
    with api.runtime.db.reader() as s:
        return list(s.execute(select(Incident).order_by(Incident.number)).scalars())


def alerts(api: ApiHarness) -> dict[str, Alert]:
    with api.runtime.db.reader() as s:
        return {a.dedup_key: a for a in s.execute(select(Alert).order_by(Alert.id)).scalars()}


def kinds(api: ApiHarness, incident_id: int) -> list[str]:
    with api.runtime.db.reader() as s:
        stmt = select(TimelineEntry.kind).where(TimelineEntry.incident_id == incident_id).order_by(TimelineEntry.id)
        return list(s.execute(stmt).scalars())


def test_silence_stores_alerts_but_opens_no_incident_until_it_ends(api: ApiHarness, key: str) -> None:
    bad = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"field": "labels.host", "op": "=~", "value": "db("}],
            "ends_at": "2026-11-02T09:00:00Z",
            "comment": "x",
        },
    )
    assert bad.status_code == 422
    assert "bad regular expression" in bad.json()["detail"]
    past = api.post("/api/v1/silences", json={"matchers": [], "ends_at": "2026-11-02T07:00:00Z", "comment": "x"})
    assert past.status_code == 422
    assert "has passed" in past.json()["detail"]
    r = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"field": "labels.host", "op": "=~", "value": "db[0-9]+"}],
            "ends_at": "2026-11-02T09:00:00Z",
            "comment": "replacing disks",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["author"] == "admin@example.com"
    assert send(api, key, trigger("a", host="db1"), trigger("b", host="web1")) == ["silenced", "created"]
    found = alerts(api)
    assert found["a"].suppressed == "silence"
    assert found["a"].suppressed_by == {"silence_id": r.json()["id"]}
    assert found["a"].incident_id is None
    assert len(incidents(api)) == 1
    listed = {a["dedup_key"]: a for a in api.get("/api/v1/alerts").json()["items"]}
    assert listed["a"]["suppressed"] == "silence"
    assert listed["b"]["suppressed"] is None
    # Ending the silence early: the next new alert pages again.
    assert api.delete(f"/api/v1/silences/{r.json()['id']}").status_code == 200
    assert send(api, key, resolve("a"), trigger("a", host="db1")) == ["resolved", "created"]
    assert len(incidents(api)) == 2
    assert api.get("/api/v1/silences").json() == []
    assert len(api.get("/api/v1/silences?include_expired=true").json()) == 1


def test_recurring_maintenance_window_of_a_service(api: ApiHarness, key: str) -> None:
    r = api.post(
        "/api/v1/silences",
        json={
            "service": "checkout-api",
            "starts_at": "2026-11-01T07:30:00Z",
            "recurrence": "FREQ=DAILY",
            "duration_seconds": 3600,
            "comment": "nightly batch",
        },
    )
    assert r.status_code == 201, r.text
    assert send(api, key, trigger("in-window")) == ["silenced"]  # 08:00 is inside 07:30-08:30
    api.clock.advance(timedelta(hours=1))
    assert send(api, key, trigger("after")) == ["created"]
    unknown = api.post(
        "/api/v1/silences", json={"service": "nope", "recurrence": "FREQ=DAILY", "duration_seconds": 60, "comment": "x"}
    )
    assert unknown.status_code == 422
    assert "unknown service 'nope'" in unknown.json()["detail"]


def test_inhibition_mutes_targets_with_equal_labels_while_the_source_fires(api: ApiHarness, key: str) -> None:
    r = put(
        api,
        "/api/v1/inhibit-rules",
        {
            "name": "cluster-down",
            "source": [{"field": "labels.alertname", "value": "ClusterDown"}],
            "target": [{"field": "labels.alertname", "op": "!=", "value": "ClusterDown"}],
            "equal": ["cluster"],
        },
    )
    assert r.status_code == 200, r.text
    assert put(api, "/api/v1/inhibit-rules", {"name": "x", "source": [], "target": [], "equal": []}).status_code == 422
    assert send(api, key, trigger("src", alertname="ClusterDown", cluster="eu1")) == ["created"]
    outcomes = send(
        api, key, trigger("t1", alertname="Slow", cluster="eu1"), trigger("t2", alertname="Slow", cluster="us1")
    )
    assert outcomes == ["inhibited", "created"]
    found = alerts(api)
    assert found["t1"].suppressed == "inhibition"
    assert found["t1"].suppressed_by is not None
    assert found["t1"].suppressed_by["alert_id"] == found["src"].id
    assert found["t1"].suppressed_by["rule"] == "cluster-down"
    # Once the source resolves, targets page again.
    send(api, key, resolve("src"))
    assert send(api, key, trigger("t3", alertname="Slow", cluster="eu1")) == ["created"]


def test_grouping_by_labels_within_the_window(api: ApiHarness, key: str) -> None:
    r = put(api, "/api/v1/services/checkout-api/grouping", {"group_by": ["cluster"], "window_seconds": 600})
    assert r.status_code == 200, r.text
    assert put(api, "/api/v1/services/checkout-api/grouping", {"window_seconds": 0}).status_code == 422
    assert send(api, key, trigger("a", cluster="eu1"), trigger("b", cluster="eu1"), trigger("c", cluster="us1")) == [
        "created",
        "grouped",
        "created",
    ]
    api.clock.advance(timedelta(minutes=5))
    assert send(api, key, trigger("d", cluster="eu1")) == ["grouped"]
    eu, us = incidents(api)
    assert (eu.alert_count, us.alert_count) == (3, 1)
    assert kinds(api, eu.id) == ["triggered", "alert_grouped", "alert_grouped"]
    # Resolving one grouped alert keeps the incident open; resolving all resolves it.
    send(api, key, resolve("a"), resolve("b"))
    assert incidents(api)[0].status == "triggered"
    send(api, key, resolve("d"))
    assert incidents(api)[0].status == "resolved"
    api.clock.advance(timedelta(minutes=11))
    assert send(api, key, trigger("e", cluster="us1")) == ["created"]  # us1's incident is older than the window


def test_grouping_by_content(api: ApiHarness, key: str) -> None:
    put(api, "/api/v1/services/checkout-api/grouping", {"by_content": True, "threshold": 0.6})
    outcomes = send(
        api,
        key,
        trigger("a", "Disk full on db1 volume 3"),
        trigger("b", "Disk full on db7 volume 9"),
        trigger("c", "Certificate expires soon"),
    )
    assert outcomes == ["created", "grouped", "created"]


def test_merge_and_split_move_alerts_and_write_both_timelines(api: ApiHarness, key: str) -> None:
    send(api, key, trigger("a"), trigger("b"), trigger("c"))
    one, two, three = incidents(api)
    r = api.post(f"/api/v1/incidents/{two.id}/merge", json={"into": f"#{one.number}"})
    assert r.status_code == 200, r.text
    assert r.json()["into"]["alert_count"] == 2
    assert api.post(f"/api/v1/incidents/{one.id}/merge", json={"into": f"#{one.number}"}).status_code == 422
    merged = {i.id: i for i in incidents(api)}
    assert merged[two.id].status == "resolved"
    assert "merged" in kinds(api, one.id)
    assert kinds(api, two.id)[-2:] == ["merged", "resolved"]
    b = alerts(api)["b"]
    assert b.incident_id == one.id
    r = api.post(f"/api/v1/incidents/{one.id}/split", json={"alert_ids": [b.id]})
    assert r.status_code == 200, r.text
    created = r.json()["created"]
    assert created["alert_count"] == 1
    assert alerts(api)["b"].incident_id == created["id"]
    assert kinds(api, one.id)[-1] == "split"
    assert kinds(api, created["id"]) == ["triggered", "split"]
    a = alerts(api)["a"]
    refused = api.post(f"/api/v1/incidents/{one.id}/split", json={"alert_ids": [a.id]})
    assert refused.status_code == 422
    assert "empty" in refused.json()["detail"]
    foreign = api.post(f"/api/v1/incidents/{three.id}/split", json={"alert_ids": [a.id]})
    assert foreign.status_code == 422


def test_flapping_alert_stops_paging_with_a_timeline_entry(api: ApiHarness, key: str) -> None:
    r = put(api, "/api/v1/noise-settings", {"flapping": {"max_changes": 3, "window_seconds": 600}})
    assert r.status_code == 200, r.text
    outcomes: list[str] = []
    for _ in range(3):
        outcomes += send(api, key, trigger("flappy"))
        api.clock.advance(30)
        outcomes += send(api, key, resolve("flappy"))
        api.clock.advance(30)
    assert outcomes == ["created", "resolved", "created", "resolved", "flapping", "resolved"]
    last = incidents(api)[-1]
    assert kinds(api, last.id)[:2] == ["triggered", "flapping"]
    with api.runtime.db.reader() as s:
        esc = s.execute(select(Escalation).where(Escalation.incident_id == last.id)).scalar_one_or_none()
    assert esc is None or esc.status == "stopped"
    # Quiet for longer than the window: stable again, it pages.
    api.clock.advance(timedelta(minutes=11))
    assert send(api, key, trigger("flappy")) == ["created"]


def test_silence_reminder_goes_to_its_author_once(api: ApiHarness, key: str) -> None:
    with api.runtime.db.unit_of_work() as s:
        contacts.add_contact_method(
            s, user_id=api.admin_id, name="mail", type="email", address="admin@example.com", now=api.clock.now()
        )
    r = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"field": "labels.a", "value": "b"}],
            "ends_at": "2026-11-02T08:40:00Z",
            "comment": "deploy",
        },
    )
    assert r.status_code == 201
    now = api.clock.now()
    with api.runtime.db.unit_of_work() as s:
        assert silence_service.remind_authors(s, now=now) == 0  # 40 min left: too early
        assert silence_service.next_reminder(s, now=now) == now + timedelta(minutes=25)
    with api.runtime.db.unit_of_work() as s:
        assert silence_service.remind_authors(s, now=now + timedelta(minutes=26)) == 1
    with api.runtime.db.unit_of_work() as s:
        assert silence_service.remind_authors(s, now=now + timedelta(minutes=27)) == 0
    with api.runtime.db.reader() as s:
        (n,) = s.execute(select(Notification)).scalars()
    assert n.user_id == api.admin_id
    assert n.kind == "status"
    assert "ends in 14 min" in n.payload["text"]


def test_noise_report_counts_from_stored_data(api: ApiHarness, key: str) -> None:
    put(api, "/api/v1/services/checkout-api/grouping", {"group_by": ["cluster"], "window_seconds": 600})
    put(
        api,
        "/api/v1/event-rules",
        {"name": "mute", "matchers": [{"field": "labels.env", "value": "dev"}], "actions": {"suppress": True}},
    )
    send(
        api,
        key,
        trigger("a", cluster="eu1"),
        trigger("a", cluster="eu1"),
        trigger("b", cluster="eu1"),
        trigger("c", env="dev"),
    )
    (incident,) = incidents(api)
    api.post(f"/api/v1/incidents/{incident.id}/acknowledge")
    api.post(f"/api/v1/incidents/{incident.id}/resolve")
    r = api.get("/api/v1/noise", params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"})
    assert r.status_code == 200, r.text
    body = r.json()
    totals = body["totals"]
    assert (totals["events"], totals["alerts"], totals["incidents"]) == (4, 3, 1)
    assert totals["suppressed"] == {"dedup": 1, "grouping": 1, "inhibition": 0, "silence": 0, "flapping": 0, "rule": 1}
    assert body["services"][0]["service"] == "checkout-api"
    assert body["integrations"][0]["events"] == 4
    assert body["noisiest"][0] == {"service": "checkout-api", "alert": "CPU high", "alerts": 3, "events": 4}
    assert body["closed_without_note"] == {"acknowledged_and_resolved": 1, "without_note": 1, "share": 1.0}
    bad = api.get("/api/v1/noise", params={"since": "2026-11-03T00:00:00Z", "until": "2026-11-02T00:00:00Z"})
    assert bad.status_code == 422
