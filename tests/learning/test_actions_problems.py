"""Action items, problems, recurrence and private incidents (ADR 0029) on SQLite and PostgreSQL: SMART warnings
without refusal, unknown owners refused, transitions, lists per person and team, overdue reminders by the engine with
the fake clock; problems from several incidents and from a postmortem, known errors shown on new incidents, their
resolution on the incidents' timelines; a recurrence flagged on both incidents with the owner told; everything of a
private incident hidden from those who do not see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import make_service, ok, problem
from tests.conftest import ApiHarness
from tests.learning.conftest import deliver_events, incident, notices, person, resolve, timeline
from tocsin.engine.modules.learning import LearningModule
from tocsin.teams import service as teams
from tocsin.users import service as users

ITEMS = "/api/v1/incidents/{}/action-items"


def test_action_items_warn_until_smart_and_refuse_unknown_owners(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = incident(api, service["id"])
    bare = ok(api.post(ITEMS.format(found["id"]), json={"title": "Look into pools"}), 201)
    assert bare["status"] == "open"
    assert bare["kind"] == "prevent"
    assert any("no owner" in w for w in bare["warnings"])
    assert any("no due date" in w for w in bare["warnings"])
    assert any("measurable" in w for w in bare["warnings"])
    person(api, "omar@example.com")
    past = ok(
        api.post(
            ITEMS.format(found["id"]),
            json={
                "title": "Cap the pool",
                "owner": "omar@example.com",
                "due_at": "2026-10-01T00:00:00Z",
                "success_criterion": "pool size alert fires in staging",
                "kind": "mitigate",
                "priority": "high",
            },
        ),
        201,
    )
    assert past["warnings"] == ["the due date is past"], "a past due date warns, it does not refuse"
    problem(api.post(ITEMS.format(found["id"]), json={"title": "x", "owner": "ghost@example.com"}), 422)
    problem(api.post(ITEMS.format(found["id"]), json={"title": "x", "team": "nobody"}), 422)
    problem(api.post(ITEMS.format(found["id"]), json={"title": "x", "kind": "blame"}), 422)
    problem(api.post(ITEMS.format(found["id"]), json={"title": "x", "body": "b" * 20_500}), 413)
    move = f"/api/v1/action-items/{past['id']}/status"
    problem(api.post(move, json={"status": "wont_do"}), 422)  # needs a reason
    ok(api.post(move, json={"status": "in_progress"}))
    done = ok(api.post(move, json={"status": "done"}))
    assert done["done_at"]
    assert done["warnings"] == []
    problem(api.post(move, json={"status": "in_progress"}), 409)
    ok(api.post(f"/api/v1/action-items/{bare['id']}/status", json={"status": "wont_do", "reason": "duplicate"}))
    listed = ok(api.get(ITEMS.format(found["id"])))
    assert [i["status"] for i in listed] == ["wont_do", "done"]
    edited = ok(
        api.client.put(
            f"/api/v1/action-items/{bare['id']}",
            headers=api.headers(),
            json={"title": "Look into pools", "owner": "omar@example.com"},
        )
    )
    assert edited["owner_user_id"] is not None


def test_open_items_per_person_and_team_and_overdue_reminders(api: ApiHarness) -> None:
    with api.runtime.db.unit_of_work() as s:
        ops = teams.create_team(s, name="ops", now=api.clock.now())
    service = make_service(api, "checkout", team="ops")
    found = incident(api, service["id"])
    omar = person(api, "omar@example.com")
    person(api, "rita@example.com")
    due = api.clock.now() + timedelta(days=2)
    first = ok(
        api.post(
            ITEMS.format(found["id"]),
            json={"title": "Cap the pool", "owner": "omar@example.com", "due_at": due.isoformat()},
        ),
        201,
    )
    ok(api.post(ITEMS.format(found["id"]), json={"title": "Runbook", "owner": "rita@example.com"}), 201)
    mine = ok(api.get("/api/v1/action-items?owner=omar@example.com"))
    assert [i["title"] for i in mine] == ["Cap the pool"]
    assert first["team_id"] == ops.id, "the service's team by default"
    assert len(ok(api.get("/api/v1/action-items?team=ops"))) == 2
    problem(api.get("/api/v1/action-items?owner=ghost@example.com"), 422)
    module = LearningModule(api.runtime.db, smtp=None)
    assert module.run_once(api.clock.now()) == 0
    assert module.next_due() == due
    api.clock.set(due + timedelta(minutes=1))
    assert module.run_once(api.clock.now()) == 1
    (sent,) = notices(api, f"action-item-overdue:{first['id']}:")
    assert sent.user_id == omar
    assert "Cap the pool" in sent.payload["text"]
    api.clock.advance(timedelta(hours=1))
    module.run_once(api.clock.now())
    assert len(notices(api, "action-item-overdue:")) == 1, "once per due date"


def test_problems_known_errors_and_their_resolution(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    other = make_service(api, "search")
    a = incident(api, service["id"], "Checkout 502s")
    b = incident(api, service["id"], "Checkout times out")
    made = ok(
        api.post(
            "/api/v1/problems",
            json={"title": "Pool exhaustion", "incidents": [str(a["id"]), str(b["id"])], "pattern": "checkout"},
        ),
        201,
    )
    assert made["incident_ids"] == [a["id"], b["id"]]
    assert made["service_ids"] == [service["id"]]
    move = f"/api/v1/problems/{made['id']}/status"
    problem(api.post(move, json={"status": "known_error"}), 422)  # a known error needs a workaround
    ok(
        api.client.put(
            f"/api/v1/problems/{made['id']}",
            headers=api.headers(),
            json={"title": "Pool exhaustion", "workaround": "Restart the checkout pods.", "pattern": "checkout"},
        )
    )
    ok(api.post(move, json={"status": "known_error"}))
    deliver_events(api)
    matching = incident(api, service["id"], "CHECKOUT is slow")
    elsewhere = incident(api, other["id"], "Checkout banner broken")
    unrelated = incident(api, service["id"], "Payments fail")
    deliver_events(api)
    shown = ok(api.get(f"/api/v1/incidents/{matching['id']}/learning"))["known_errors"]
    assert [k["workaround"] for k in shown] == ["Restart the checkout pods."]
    assert ok(api.get(f"/api/v1/incidents/{elsewhere['id']}/learning"))["known_errors"] == []
    assert ok(api.get(f"/api/v1/incidents/{unrelated['id']}/learning"))["known_errors"] == []
    (note,) = timeline(api, matching["id"], "problem")
    assert "Restart the checkout pods." in note
    linked = ok(api.post(f"/api/v1/problems/{made['id']}/incidents", json={"incident": str(matching["id"])}))
    assert matching["id"] in linked["incident_ids"]
    ok(api.post(move, json={"status": "resolved"}))
    for ref in (a["id"], b["id"], matching["id"]):
        assert timeline(api, ref, "problem")[-1] == f'Problem #{made["id"]} "Pool exhaustion" resolved'
    problem(api.post(move, json={"status": "known_error"}), 409)
    assert [p["id"] for p in ok(api.get("/api/v1/problems?status=resolved"))] == [made["id"]]


def test_a_problem_from_a_postmortem_takes_its_root_cause_and_items(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = incident(api, service["id"], "Checkout 502s")
    pm = ok(api.post(f"/api/v1/incidents/{found['id']}/postmortem", json={}), 201)
    version = next(s for s in pm["sections"] if s["key"] == "root_cause")["version"]
    ok(
        api.client.put(
            f"/api/v1/incidents/{found['id']}/postmortem/sections/root_cause",
            headers=api.headers(),
            json={"body": "No pool limit.", "version": version},
        )
    )
    item = ok(api.post(ITEMS.format(found["id"]), json={"title": "Cap the pool"}), 201)
    made = ok(api.post(f"/api/v1/incidents/{found['id']}/postmortem/problem"), 201)
    assert made["root_cause"] == "No pool limit."
    assert made["incident_ids"] == [found["id"]]
    assert made["action_item_ids"] == [item["id"]]


def test_a_recurrence_is_flagged_and_the_owner_told(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    owner = person(api, "omar@example.com")
    first = incident(api, service["id"], "Checkout 502s on pod 7")
    ok(api.post(f"/api/v1/incidents/{first['id']}/postmortem", json={"owner": "omar@example.com"}), 201)
    item = ok(api.post(ITEMS.format(first["id"]), json={"title": "Cap the pool"}), 201)
    resolve(api, first["id"])
    like_but_open = incident(api, service["id"], "checkout 502s on pod 9")
    deliver_events(api)
    assert ok(api.get(f"/api/v1/incidents/{like_but_open['id']}/learning"))["recurrences"] == []
    ok(api.post(f"/api/v1/action-items/{item['id']}/status", json={"status": "done"}))
    again = incident(api, service["id"], "Checkout 502s on pod 12!")
    unlike = incident(api, service["id"], "Checkout slow")
    deliver_events(api)
    assert ok(api.get(f"/api/v1/incidents/{again['id']}/learning"))["recurrences"] == [
        {"relation": "recurs", "incident_id": first["id"]}
    ]
    assert ok(api.get(f"/api/v1/incidents/{first['id']}/learning"))["recurrences"] == [
        {"relation": "recurred_as", "incident_id": again["id"]}
    ]
    assert ok(api.get(f"/api/v1/incidents/{unlike['id']}/learning"))["recurrences"] == []
    assert timeline(api, again["id"], "recurred")
    assert timeline(api, first["id"], "recurred")
    (told,) = notices(api, "recurred:")
    assert told.user_id == owner
    assert "fix may not have held" in told.payload["text"]
    deliver_events(api)
    assert len(notices(api, "recurred:")) == 1


def test_everything_of_a_private_incident_is_hidden_from_outsiders(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    with api.runtime.db.unit_of_work() as s:
        sec = teams.create_team(s, name="sec", now=api.clock.now())
    insider = api.token_for("ines@example.com")
    outsider = api.token_for("otto@example.com")
    with api.runtime.db.unit_of_work() as s:
        teams.set_member(s, sec, users.get_user(s, "ines@example.com"), "member")
    secret = incident(api, service["id"], "Credential leak", private=True, private_team="sec")
    ok(api.post(f"/api/v1/incidents/{secret['id']}/postmortem", json={}), 201)
    item = ok(api.post(ITEMS.format(secret["id"]), json={"title": "Rotate keys"}), 201)
    made = ok(api.post("/api/v1/problems", json={"title": "Leaky logs", "incidents": [str(secret["id"])]}), 201)
    for url in (
        f"/api/v1/incidents/{secret['id']}/postmortem",
        f"/api/v1/incidents/{secret['id']}/postmortem/export?format=md",
        ITEMS.format(secret["id"]),
        f"/api/v1/action-items/{item['id']}",
        f"/api/v1/problems/{made['id']}",
    ):
        problem(api.get(url, token=outsider), 404)
        assert api.get(url, token=insider).status_code == 200, url
    assert ok(api.get("/api/v1/action-items", token=outsider)) == []
    assert [i["id"] for i in ok(api.get("/api/v1/action-items", token=insider))] == [item["id"]]
    assert ok(api.get("/api/v1/problems", token=outsider)) == []
    problem(api.post(f"/api/v1/action-items/{item['id']}/status", json={"status": "done"}, token=outsider), 404)
    problem(api.post("/api/v1/problems", json={"title": "x", "incidents": [str(secret["id"])]}, token=outsider), 404)
    assert datetime(2026, 1, 1, tzinfo=UTC) < api.clock.now()


def test_an_alert_that_fires_again_recurs_whatever_its_title(api: ApiHarness) -> None:
    from tocsin.alerts.schemas import NormalizedEvent, Submission
    from tocsin.alerts.service import ingest_batch
    from tocsin.services import service as services

    with api.runtime.db.unit_of_work() as s:
        made = services.create_service(s, name="ledger", now=api.clock.now())
        key = services.add_integration(s, made, name="events", type="pagerduty_v2", now=api.clock.now()).key

    def fire(summary: str) -> int:
        with api.runtime.db.unit_of_work() as s:
            ingest_batch(
                s,
                [Submission(key, events=[NormalizedEvent("trigger", "ledger-disk", summary=summary)])],
                now=api.clock.now(),
            )
        items = ok(api.get("/api/v1/incidents?status=triggered"))["items"]
        return int(max(i["id"] for i in items))

    first = fire("Disk 95% full on ledger-db1")
    ok(api.post(ITEMS.format(first), json={"title": "Grow the volume"}), 201)
    item = ok(api.get(ITEMS.format(first)))[0]
    ok(api.post(f"/api/v1/action-items/{item['id']}/status", json={"status": "done"}))
    resolve(api, first)
    deliver_events(api)
    again = fire("Ledger volume nearly exhausted")
    deliver_events(api)
    assert ok(api.get(f"/api/v1/incidents/{again}/learning"))["recurrences"] == [
        {"relation": "recurs", "incident_id": first}
    ]
