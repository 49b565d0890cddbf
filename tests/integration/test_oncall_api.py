"""On-call over HTTP on a real app and database: schedules, final shifts, gaps, overrides, who is on call now
(per schedule, per escalation policy and per person), and clear errors for bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ApiHarness

# The api fixture's clock: Monday 2026-11-02 08:00 UTC.
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def people(api: ApiHarness) -> dict[str, int]:
    ids = {}
    for name in ("ann", "ben", "cat"):
        api.token_for(f"{name}@example.com")
        ids[name] = api.get(f"/api/v1/users/{name}@example.com/oncall").json()["user"]["id"]
    return ids


def make_schedule(api: ApiHarness, name: str, layers: list[dict[str, Any]], tz: str = "UTC") -> dict[str, Any]:
    r = api.post("/api/v1/schedules", json={"name": name, "timezone": tz, "layers": layers})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def daily(*users: str, start: datetime = MONDAY, **extra: Any) -> dict[str, Any]:
    return {"rotation": "daily", "start": iso(start), "users": [f"{u}@example.com" for u in users], **extra}


def test_schedule_on_call_now_and_final_shifts(api: ApiHarness, people: dict[str, int]) -> None:
    sched = make_schedule(api, "primary", [daily("ann", "ben", start=MONDAY + timedelta(hours=9))])
    # The layer starts at 09:00: before that nobody is on call, and the schedule says so.
    assert sched["on_call_now"] == []
    assert sched["has_gaps"] is True
    assert [(parse(g["start"]), parse(g["end"])) for g in sched["gaps"]] == [
        (MONDAY + timedelta(hours=8), MONDAY + timedelta(hours=9))
    ]
    r = api.get(
        "/api/v1/schedules/primary/shifts",
        params={"start": iso(MONDAY + timedelta(hours=9)), "end": iso(MONDAY + timedelta(days=3, hours=9))},
    )
    assert r.status_code == 200
    shifts = r.json()
    assert [s["user_id"] for s in shifts] == [people["ann"], people["ben"], people["ann"]]
    assert [parse(s["start"]) for s in shifts] == [MONDAY + timedelta(days=d, hours=9) for d in range(3)]
    api.clock.set(MONDAY + timedelta(days=1, hours=10))
    assert api.get(f"/api/v1/schedules/{sched['id']}").json()["on_call_now"] == [people["ben"]]


def test_a_deliberate_gap_is_listed_and_flagged(api: ApiHarness, people: dict[str, int]) -> None:
    business = daily("ann", "ben", restrictions=[{"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}])
    make_schedule(api, "office", [business], tz="Europe/Berlin")
    body = api.get("/api/v1/schedules/office").json()
    assert body["has_gaps"] is True
    # Two weeks of Berlin office hours leave 10 weekday nights and 2 weekends uncovered, plus the part of today
    # before 09:00 Berlin (08:00 UTC now is 09:00 Berlin: the first gap is tonight).
    gaps = [(parse(g["start"]), parse(g["end"])) for g in body["gaps"]]
    assert gaps[0] == (MONDAY + timedelta(hours=16), MONDAY + timedelta(days=1, hours=8))
    assert all(b > a for a, b in gaps)
    listed = api.get("/api/v1/schedules/office/gaps").json()
    assert [(parse(g["start"]), parse(g["end"])) for g in listed] == gaps
    full = make_schedule(api, "full", [daily("cat")])
    assert full["has_gaps"] is False
    assert full["gaps"] == []


def test_overrides_create_list_and_delete(api: ApiHarness, people: dict[str, int]) -> None:
    make_schedule(api, "primary", [daily("ann", "ben")])
    window = {"start": iso(MONDAY + timedelta(hours=7)), "end": iso(MONDAY + timedelta(hours=12))}
    r = api.post("/api/v1/schedules/primary/overrides", json={"user": "cat@example.com", **window})
    assert r.status_code == 201, r.text
    override = r.json()
    assert api.get("/api/v1/schedules/primary").json()["on_call_now"] == [people["cat"]]
    shifts = api.get(
        "/api/v1/schedules/primary/shifts", params={"start": iso(MONDAY), "end": iso(MONDAY + timedelta(days=1))}
    ).json()
    assert [(s["user_id"], s["is_override"]) for s in shifts] == [
        (people["ann"], False),
        (people["cat"], True),
        (people["ann"], False),
    ]
    assert [o["id"] for o in api.get("/api/v1/schedules/primary/overrides").json()] == [override["id"]]
    assert api.delete(f"/api/v1/schedules/primary/overrides/{override['id']}").status_code == 204
    assert api.get("/api/v1/schedules/primary").json()["on_call_now"] == [people["ann"]]
    missing = api.delete(f"/api/v1/schedules/primary/overrides/{override['id']}")
    assert missing.status_code == 404
    assert "override" in missing.json()["detail"]


def test_replacing_override_only_covers_the_replaced_person(api: ApiHarness, people: dict[str, int]) -> None:
    make_schedule(api, "primary", [daily("ann", "ben")])
    r = api.post(
        "/api/v1/schedules/primary/overrides",
        json={
            "user": "cat@example.com",
            "replaces": "ben@example.com",
            "start": iso(MONDAY),
            "end": iso(MONDAY + timedelta(days=2)),
        },
    )
    assert r.status_code == 201
    shifts = api.get(
        "/api/v1/schedules/primary/shifts", params={"start": iso(MONDAY), "end": iso(MONDAY + timedelta(days=2))}
    ).json()
    assert [s["user_id"] for s in shifts] == [people["ann"], people["cat"]]


def test_on_call_now_per_schedule_and_per_policy(api: ApiHarness, people: dict[str, int]) -> None:
    sched = make_schedule(api, "primary", [daily("ben", "ann")])
    r = api.post(
        "/api/v1/escalation-policies",
        json={
            "name": "checkout",
            "steps": [
                {"targets": [{"kind": "schedule", "ref": "primary"}, {"kind": "user", "ref": "cat@example.com"}]},
                {"targets": [{"kind": "user", "ref": "ann@example.com"}], "delay": "10m"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    entries = api.get("/api/v1/oncall").json()
    by_schedule = {e["schedule"]["name"]: [u["id"] for u in e["users"]] for e in entries if e["schedule"]}
    by_policy = {e["policy"]["name"]: [u["id"] for u in e["users"]] for e in entries if e["policy"]}
    assert by_schedule == {"primary": [people["ben"]]}
    assert by_policy == {"checkout": [people["ben"], people["cat"]]}
    tomorrow = api.get("/api/v1/oncall", params={"at": iso(MONDAY + timedelta(days=1, hours=1))}).json()
    assert {e["schedule"]["name"]: [u["id"] for u in e["users"]] for e in tomorrow if e["schedule"]} == {
        "primary": [people["ann"]]
    }
    assert sched["id"] > 0


def test_a_persons_current_and_upcoming_shifts(api: ApiHarness, people: dict[str, int]) -> None:
    # Ann's primary shift under way began at midnight, before the clock's "now": its real start is shown.
    make_schedule(api, "primary", [daily("ann", "ben", start=MONDAY - timedelta(days=2))])
    make_schedule(api, "secondary", [{**daily("ann", "cat"), "rotation": "weekly"}])
    body = api.get("/api/v1/users/ann@example.com/oncall").json()
    assert body["user"]["id"] == people["ann"]
    assert body["on_call_now"] is True
    shifts = [(s["schedule"]["name"], parse(s["start"]), parse(s["end"]), s["current"]) for s in body["shifts"]]
    current = [s for s in shifts if s[3]]
    assert [(name, start) for name, start, _, _ in current] == [("primary", MONDAY), ("secondary", MONDAY)]
    primary = [s for s in shifts if s[0] == "primary"]
    assert [start for _, start, _, _ in primary] == [MONDAY + timedelta(days=d) for d in range(0, 15, 2)]
    assert all(start < api.clock.now() + timedelta(days=14) for _, start, _, _ in shifts)
    ben = api.get("/api/v1/users/ben@example.com/oncall").json()
    assert ben["on_call_now"] is False
    assert parse(ben["shifts"][0]["start"]) == MONDAY + timedelta(days=1)
    assert api.get("/api/v1/users/nobody@example.com/oncall").status_code == 404


def put(api: ApiHarness, url: str, body: dict[str, Any], token: str) -> Any:
    return api.client.put(url, json=body, headers=api.headers(token))


def test_handoff_preference_and_personal_feed_are_the_persons_own(api: ApiHarness, people: dict[str, int]) -> None:
    ann_token = api.token_for("ann2@example.com")
    r = put(api, "/api/v1/users/ann2@example.com/oncall/preferences", {"handoff_notifications": True}, ann_token)
    assert r.status_code == 200, r.text
    assert r.json()["handoff_notifications"] is True
    other = put(api, "/api/v1/users/ben@example.com/oncall/preferences", {"handoff_notifications": True}, ann_token)
    assert other.status_code == 403
    url = api.post("/api/v1/users/ann2@example.com/oncall/ical-url", token=ann_token).json()["ical_url"]
    assert url.startswith("http://tocsin.test/ical/users/")
    assert api.get("/api/v1/users/ann2@example.com/oncall", token=ann_token).json()["ical_url"] == url
    assert (
        api.get("/api/v1/users/ann2@example.com/oncall", token=api.token_for("eve@example.com")).json()["ical_url"]
        is None
    )
    rotated = api.post("/api/v1/users/ann2@example.com/oncall/ical-url", params={"rotate": "true"}, token=ann_token)
    assert rotated.json()["ical_url"] != url


BAD_LAYERS: list[tuple[dict[str, Any], int, str]] = [
    ({"rotation": "fortnightly"}, 422, "rotation"),
    ({"rotation": "hourly"}, 422, "needs a shift length"),
    ({"rotation": "custom", "shift_length": "5x"}, 422, "not a duration: '5x'"),
    ({"rotation": "custom", "shift_length": 0}, 422, "shift length"),
    ({"restrictions": [{"start": "9am", "end": "17:00"}]}, 422, "a restriction is"),
    ({"restrictions": [{"start": "09:00", "end": "17:00", "days": [7]}]}, 422, "a restriction is"),
    ({"restrictions": [{"start": "09:00", "end": "17:00", "timezone": "Mars/Olympus"}]}, 422, "restriction"),
    ({"end": iso(MONDAY - timedelta(days=1))}, 422, "end must come after start"),
    ({"users": ["ghost@example.com"]}, 404, "ghost@example.com"),
    ({"users": []}, 422, "users"),
]


def test_bad_layers_get_a_clear_error(api: ApiHarness, people: dict[str, int]) -> None:
    # One app for all cases: each case is a request, not a fixture's worth of setup.
    for layer, status, words in BAD_LAYERS:
        r = api.post("/api/v1/schedules", json={"name": "bad", "layers": [{**daily("ann"), **layer}]})
        assert r.status_code == status, (layer, r.text)
        assert words in r.json()["detail"], (layer, r.text)
        assert api.get("/api/v1/schedules/bad").status_code == 404


def test_other_bad_input(api: ApiHarness, people: dict[str, int]) -> None:
    r = api.post("/api/v1/schedules", json={"name": "x", "timezone": "Europe/Atlantis"})
    assert r.status_code == 422
    assert "Europe/Atlantis" in r.json()["detail"]
    make_schedule(api, "primary", [daily("ann")])
    assert api.post("/api/v1/schedules", json={"name": "primary"}).status_code == 409
    backwards = {"start": iso(MONDAY + timedelta(hours=2)), "end": iso(MONDAY)}
    r = api.get("/api/v1/schedules/primary/shifts", params=backwards)
    assert r.status_code == 422
    assert "end of the range" in r.json()["detail"]
    r = api.post("/api/v1/schedules/primary/overrides", json={"user": "ben@example.com", **backwards})
    assert r.status_code == 422
    assert "end after it starts" in r.json()["detail"]
    window = {"start": iso(MONDAY), "end": iso(MONDAY + timedelta(hours=1))}
    r = api.post(
        "/api/v1/schedules/primary/overrides",
        json={"user": "ben@example.com", "replaces": "ben@example.com", **window},
    )
    assert r.status_code == 422
    assert "cannot replace its own user" in r.json()["detail"]
    assert api.get("/api/v1/schedules/nope/shifts").status_code == 404
    assert api.get("/api/v1/schedules/primary/gaps", params={"days": 0}).status_code == 422
