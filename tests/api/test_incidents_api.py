"""The incident endpoints through the real application: filters, pagination, actions, timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.conftest import declare, make_integration, make_service, ok, problem
from tests.conftest import ApiHarness

ITEM_FIELDS = {
    "id",
    "number",
    "title",
    "status",
    "urgency",
    "severity",
    "priority",
    "service",
    "created_at",
    "acknowledged_at",
    "resolved_at",
    "alert_count",
}


def ids(page: dict[str, Any]) -> list[int]:
    return [i["id"] for i in page["items"]]


def test_list_item_shape(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"], "Checkout is down", severity="SEV1", urgency="high")
    page = ok(api.get("/api/v1/incidents"))
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    (item,) = page["items"]
    assert set(item) >= ITEM_FIELDS
    assert item["service"] == {"id": service["id"], "name": "checkout"}
    assert (item["id"], item["number"], item["title"]) == (incident["id"], 1, "Checkout is down")
    assert (item["status"], item["urgency"], item["severity"], item["priority"]) == ("triggered", "high", "SEV1", "P1")
    assert item["acknowledged_at"] is None
    assert item["resolved_at"] is None
    assert item["alert_count"] == 0
    assert item["created_at"].startswith("2026-11-02T08:00:00")


def test_alert_count_follows_events(api: ApiHarness) -> None:
    make_service(api, "checkout")
    integration = make_integration(api, "checkout", "generic")
    for host in ("web-1", "web-2"):
        sent = api.client.post(
            f"/integrations/{integration['key']}/generic",
            json={"summary": f"{host} down", "dedup_key": host, "group": "web"},
        )
        assert sent.status_code == 202, sent.text
    items = ok(api.get("/api/v1/incidents"))["items"]
    assert sum(i["alert_count"] for i in items) == 2
    alerts = ok(api.get(f"/api/v1/incidents/{items[0]['id']}/alerts"))
    assert {a["dedup_key"] for a in alerts} <= {"web-1", "web-2"}
    assert alerts


def test_filters(api: ApiHarness) -> None:
    checkout = make_service(api, "checkout")
    search = make_service(api, "search")
    a = declare(api, checkout["id"], "Checkout latency high", urgency="high", priority="P2")
    api.clock.advance(timedelta(hours=1))
    b = declare(api, search["id"], "Search index stale", urgency="low", priority="P4")
    api.clock.advance(timedelta(hours=1))
    c = declare(api, checkout["id"], "Payment provider 100% errors", urgency="low", priority="P4")
    ok(api.post(f"/api/v1/incidents/{a['id']}/acknowledge"))
    ok(api.post(f"/api/v1/incidents/{b['id']}/resolve"))

    def listed(query: str) -> set[int]:
        return set(ids(ok(api.get(f"/api/v1/incidents?{query}"))))

    assert listed("") == {a["id"], b["id"], c["id"]}
    assert listed("status=acknowledged") == {a["id"]}
    assert listed("status=triggered&status=acknowledged") == {a["id"], c["id"]}
    assert listed(f"service_id={checkout['id']}") == {a["id"], c["id"]}
    assert listed(f"service_id={search['id']}&urgency=low") == {b["id"]}
    assert listed("urgency=low") == {b["id"], c["id"]}
    assert listed("since=2026-11-02T08:30:00Z") == {b["id"], c["id"]}
    assert listed("until=2026-11-02T08:30:00Z") == {a["id"]}
    assert listed("since=2026-11-02T08:30:00Z&until=2026-11-02T09:30:00Z") == {b["id"]}
    assert listed("since=2026-11-02T09:30:00%2B01:00") == {b["id"], c["id"]}, "offsets are honoured"
    assert listed("q=LATENCY") == {a["id"]}
    assert listed("q=100%25") == {c["id"]}, "LIKE wildcards in q are literal"
    assert listed("q=_") == set()
    assert listed("q=nothing-matches") == set()
    assert listed("priority=P2") == {a["id"]}


def test_bad_filters_are_rejected(api: ApiHarness) -> None:
    for query, field in (
        ("status=open", "status"),
        ("urgency=urgent", "urgency"),
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("service_id=abc", "service_id"),
    ):
        assert field in problem(api.get(f"/api/v1/incidents?{query}"), 422)["detail"], query
    assert "cursor" in problem(api.get("/api/v1/incidents?cursor=garbage"), 400)["detail"]


def test_status_filters_name_the_statuses_they_accept(api: ApiHarness) -> None:
    for url in ("/api/v1/incidents?status=open", "/api/v1/alerts?status=open"):
        detail = problem(api.get(url), 422)["detail"]
        assert "status" in detail, url
        assert "'triggered', 'acknowledged' or 'resolved'" in detail, detail
    make_service(api, "checkout")
    integration = make_integration(api, "checkout", "generic")
    sent = api.client.post(f"/integrations/{integration['key']}/generic", json={"summary": "down", "dedup_key": "a"})
    assert sent.status_code == 202, sent.text
    (alert,) = ok(api.get("/api/v1/alerts?status=triggered"))["items"]
    assert alert["status"] == "triggered"
    assert ok(api.get("/api/v1/alerts?status=resolved"))["items"] == []
    (entry,) = ok(api.get(f"/api/v1/incidents/{alert['incident_id']}/timeline"))
    assert entry["kind"] == "triggered"


def test_cursor_pagination_visits_every_item_once(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    created = [declare(api, service["id"], f"incident {n}")["id"] for n in range(11)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = ok(api.get(f"/api/v1/incidents?{query}"))
        pages += 1
        seen.extend(ids(page))
        cursor = page["next_cursor"]
        # An incident declared while paging must not shift the pages already handed out.
        if pages == 1:
            declare(api, service["id"], "arrives mid-listing")
        if cursor is None:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert seen == sorted(created, reverse=True), "newest first, no item twice or missed"


def test_pagination_with_a_filter(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    made = [declare(api, service["id"], f"incident {n}", urgency="low" if n % 2 else "high")["id"] for n in range(9)]
    low = [i for n, i in enumerate(made) if n % 2]
    first = ok(api.get("/api/v1/incidents?urgency=low&limit=2"))
    second = ok(api.get(f"/api/v1/incidents?urgency=low&limit=2&cursor={first['next_cursor']}"))
    assert second["next_cursor"] is None
    assert ids(first) + ids(second) == sorted(low, reverse=True)


def test_get_by_id_and_number(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    declare(api, service["id"], "first")
    second = declare(api, service["id"], "second")
    assert second["number"] == 2
    assert ok(api.get(f"/api/v1/incidents/{second['id']}"))["title"] == "second"
    assert ok(api.get("/api/v1/incidents/%232"))["id"] == second["id"]
    assert ok(api.get("/api/v1/incidents/number:2"))["id"] == second["id"]
    problem(api.get("/api/v1/incidents/%23999"), 404)
    problem(api.get("/api/v1/incidents/999999"), 404)
    assert "abc" in problem(api.get("/api/v1/incidents/abc"), 400)["detail"]
    problem(api.get("/api/v1/incidents/%23abc"), 400)


def test_acknowledge_resolve_and_invalid_transitions(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    api.clock.advance(timedelta(minutes=3))
    acked = ok(api.post("/api/v1/incidents/%231/acknowledge"))
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_at"].startswith("2026-11-02T08:03:00")
    assert "already acknowledged" in problem(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"), 409)["detail"]
    api.clock.advance(timedelta(minutes=2))
    resolved = ok(api.post(f"/api/v1/incidents/{incident['id']}/resolve", json={"message": "rolled back"}))
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"].startswith("2026-11-02T08:05:00")
    body = problem(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"), 409)
    assert "resolved" in body["detail"]
    assert body["title"] == "Invalid transition"
    problem(api.post(f"/api/v1/incidents/{incident['id']}/resolve"), 409)
    problem(api.post("/api/v1/incidents/424242/acknowledge"), 404)

    kinds = [(e["kind"], e["message"]) for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]
    assert [k for k, _ in kinds] == ["triggered", "acknowledged", "resolved"]
    assert kinds[-1][1] == "rolled back"


def test_notes_and_timeline(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    note = ok(api.post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": "looking at the database"}), 201)
    assert (note["kind"], note["message"], note["source"]) == ("note", "looking at the database", "api")
    assert note["actor"] == "Admin"
    assert note["actor_user_id"] == api.admin_id
    assert "text" in problem(api.post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": ""}), 422)["detail"]
    problem(api.post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": "   "}), 422)

    entries = ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))
    assert [e["kind"] for e in entries] == ["triggered", "note"]
    after = ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline?after={entries[0]['id']}"))
    assert [e["id"] for e in after] == [note["id"]]
    problem(api.get("/api/v1/incidents/424242/timeline"), 404)


def test_reassign_to_a_user_and_to_a_policy(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    ok(api.post("/api/v1/users", json={"email": "gina@example.com", "name": "Gina"}), 201)
    incident = declare(api, service["id"])
    ok(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"))

    moved = ok(api.post(f"/api/v1/incidents/{incident['id']}/reassign", json={"user": "gina@example.com"}))
    assert moved["assigned_to"]["name"] == "Gina"
    assert moved["status"] == "triggered", "the new owner is paged and has to acknowledge"

    policy = ok(
        api.post(
            "/api/v1/escalation-policies",
            json={"name": "db-oncall", "steps": [{"targets": [{"kind": "user", "ref": "gina@example.com"}]}]},
        ),
        201,
    )
    ok(api.post(f"/api/v1/incidents/{incident['id']}/reassign", json={"escalation_policy": "db-oncall"}))
    kinds = [e for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline")) if e["kind"] == "reassigned"]
    assert [e["message"] for e in kinds] == ["Assigned to Gina", "Handed to escalation policy db-oncall"]
    assert kinds[1]["data"]["policy"] == policy["id"]

    url = f"/api/v1/incidents/{incident['id']}/reassign"
    problem(api.post(url, json={}), 422)
    problem(api.post(url, json={"user": "gina@example.com", "escalation_policy": "db-oncall"}), 422)
    problem(api.post(url, json={"user": "nobody@example.com"}), 404)
    ok(api.post(f"/api/v1/incidents/{incident['id']}/resolve"))
    assert "resolved" in problem(api.post(url, json={"user": "gina@example.com"}), 422)["detail"]


def test_declare_by_hand(api: ApiHarness) -> None:
    service = make_service(api, "checkout", urgency="low")
    incident = declare(api, service["id"], "  Fraud spike  ", description="seen by support", severity="SEV2")
    assert (incident["title"], incident["description"]) == ("Fraud spike", "seen by support")
    assert incident["urgency"] == "low", "the service's urgency is the default"
    assert incident["status"] == "triggered"
    assert incident["number"] == 1
    timeline = ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))
    assert timeline[0]["actor_user_id"] == api.admin_id

    assert "service" in problem(api.post("/api/v1/incidents", json={"service_id": 424242, "title": "x"}), 422)["detail"]
    body = problem(api.post("/api/v1/incidents", json={"service_id": service["id"], "title": ""}), 422)
    assert "title" in body["detail"]
    body = problem(
        api.post("/api/v1/incidents", json={"service_id": service["id"], "title": "x", "severity": "bad"}), 422
    )
    assert "severity" in body["detail"]


def test_patch_incident(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"], severity="SEV3")
    patched = ok(api.patch(f"/api/v1/incidents/{incident['id']}", json={"severity": "SEV1", "title": "Worse"}))
    assert (patched["severity"], patched["title"]) == ("SEV1", "Worse")
    assert (
        "priority" in problem(api.patch(f"/api/v1/incidents/{incident['id']}", json={"priority": "P9"}), 422)["detail"]
    )


def test_observers_read_but_do_not_act(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    observer = api.token_for("olga@example.com", "observer")
    responder = api.token_for("rui@example.com", "responder")
    ok(api.get("/api/v1/incidents", token=observer))
    ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline", token=observer))
    base = f"/api/v1/incidents/{incident['id']}"
    for method, url, body in (
        ("post", "/api/v1/incidents", {"service_id": service["id"], "title": "x"}),
        ("post", f"{base}/acknowledge", None),
        ("post", f"{base}/resolve", None),
        ("post", f"{base}/notes", {"text": "hi"}),
        ("post", f"{base}/reassign", {"user": "me"}),
        ("patch", base, {"title": "x"}),
    ):
        problem(getattr(api, method)(url, json=body, token=observer), 403)
    assert ok(api.get(base))["status"] == "triggered"
    assert ok(api.post(f"{base}/acknowledge", token=responder))["status"] == "acknowledged"
