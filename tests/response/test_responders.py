"""Responders paged into an incident (user, schedule, policy, skill), their answers through the API, skills and
"find an expert" — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.events.models import IncidentEvent
from tocsin.incidents.models import TimelineEntry
from tocsin.notify.models import Notification
from tocsin.response import responders
from tocsin.response.models import ResponderRequest


def person(api: ApiHarness, email: str, name: str, *, skills: list[str] | None = None) -> dict[str, Any]:
    user = ok(api.post("/api/v1/users", json={"email": email, "name": name}), 201)
    method = ok(
        api.post(f"/api/v1/users/{email}/contact-methods", json={"name": "mail", "type": "email", "address": email}),
        201,
    )
    ok(
        api.post(
            f"/api/v1/users/{email}/notification-rules", json={"urgency": "high", "contact_method_id": method["id"]}
        ),
        201,
    )
    if skills is not None:
        ok(api.client.put(f"/api/v1/users/{email}/skills", json={"skills": skills}, headers=api.headers()))
    return user  # type: ignore[no-any-return]


def token_of(api: ApiHarness, user_id: int) -> str:
    from tocsin.users import service as users

    with api.runtime.db.unit_of_work() as s:
        _, secret = users.create_token(s, users.get_user(s, user_id), name="t", now=api.clock.now())
    return secret


def counts(api: ApiHarness) -> tuple[int, int, int]:
    """Requests, notifications and timeline entries: what a refused request must leave as it was."""
    with api.runtime.db.reader() as s:
        return (
            s.scalar(select(func.count()).select_from(ResponderRequest)) or 0,
            s.scalar(select(func.count()).select_from(Notification)) or 0,
            s.scalar(select(func.count()).select_from(TimelineEntry)) or 0,
        )


def test_a_user_is_paged_into_an_incident_and_accepts(api: ApiHarness) -> None:
    dana = person(api, "dana@example.com", "Dana")
    incident = declare(api, make_service(api, "checkout")["id"])
    base = f"/api/v1/incidents/{incident['id']}/responders"

    (asked,) = ok(api.post(base, json={"user": "dana@example.com", "message": "DB locks, need you"}), 201)
    assert (asked["user_id"], asked["status"], asked["via"]) == (dana["id"], "requested", "user")
    with api.runtime.db.reader() as s:
        (sent,) = s.scalars(select(Notification).where(Notification.kind == "responder"))
    assert sent.user_id == dana["id"]
    assert sent.incident_id == incident["id"]
    assert sent.payload["text"] == f"You are asked to join incident #{incident['number']}: DB locks, need you"
    assert ok(api.get(base))[0]["id"] == asked["id"]
    problem(api.post(base, json={"user": "dana@example.com"}), 409)  # asked already

    # Only Dana (or an admin) answers; another responder may not.
    stranger = api.token_for("sam@example.com")
    problem(api.client.post(f"{base}/{asked['id']}/accept", headers=api.headers(stranger)), 403)
    dana_token = token_of(api, dana["id"])
    accepted = ok(api.client.post(f"{base}/{asked['id']}/accept", headers=api.headers(dana_token)))
    assert (accepted["status"], accepted["answered_via"]) == ("accepted", "api")
    problem(api.client.post(f"{base}/{asked['id']}/decline", headers=api.headers(dana_token)), 409)
    problem(api.post(f"{base}/999999/accept"), 404)

    timeline = ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))
    kinds = [e["kind"] for e in timeline]
    assert "responder_requested" in kinds
    assert "responder_accepted" in kinds
    joined = next(e for e in timeline if e["kind"] == "responder_accepted")
    assert joined["message"] == "Dana joined the response (via api)"
    with api.runtime.db.reader() as s:
        assert responders.participants(s, incident["id"]) == {dana["id"]}
        events = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident["id"])).all()
    answered = [e for e in events if e.type == "incident.responder_accepted"]
    assert len(answered) == 1
    assert answered[0].changes == {"responder_request": ["requested", "accepted"]}
    assert "incident.responder_requested" in [e.type for e in events]


def test_a_declined_request_is_kept_and_can_be_asked_again(api: ApiHarness) -> None:
    person(api, "dana@example.com", "Dana")
    incident = declare(api, make_service(api, "checkout")["id"])
    base = f"/api/v1/incidents/{incident['id']}/responders"
    (asked,) = ok(api.post(base, json={"user": "dana@example.com"}), 201)
    assert ok(api.post(f"{base}/{asked['id']}/decline"))["status"] == "declined"  # an admin answers for her
    (again,) = ok(api.post(base, json={"user": "dana@example.com"}), 201)
    assert [r["status"] for r in ok(api.get(base))] == ["declined", "requested"]
    assert again["id"] != asked["id"]


def test_a_schedule_and_a_policy_resolve_to_who_is_on_call_now(api: ApiHarness) -> None:
    dana = person(api, "dana@example.com", "Dana")
    eli = person(api, "eli@example.com", "Eli")
    layer = {"rotation": "weekly", "start": "2026-11-02T00:00:00Z", "users": ["eli@example.com", "dana@example.com"]}
    ok(api.post("/api/v1/schedules", json={"name": "dba", "layers": [layer]}), 201)
    policy = {
        "name": "dba-policy",
        "steps": [
            {"targets": [{"kind": "schedule", "ref": "dba"}, {"kind": "user", "ref": "dana@example.com"}]},
            {"targets": [{"kind": "user", "ref": "admin@example.com"}]},
        ],
    }
    ok(api.post("/api/v1/escalation-policies", json=policy), 201)
    incident = declare(api, make_service(api, "checkout")["id"])
    base = f"/api/v1/incidents/{incident['id']}/responders"

    (by_schedule,) = ok(api.post(base, json={"schedule": "dba", "message": "who owns the DB?"}), 201)
    assert (by_schedule["user_id"], by_schedule["via"], by_schedule["via_ref"]) == (eli["id"], "schedule", "dba")
    # The policy's first step: the schedule's on-call (Eli, asked already) and Dana; only Dana is new.
    (by_policy,) = ok(api.post(base, json={"policy": "dba-policy"}), 201)
    assert (by_policy["user_id"], by_policy["via"]) == (dana["id"], "policy")
    problem(api.post(base, json={"policy": "dba-policy"}), 409)


def test_unknown_targets_are_refused_and_nothing_is_created(api: ApiHarness) -> None:
    person(api, "dana@example.com", "Dana", skills=["postgres"])
    incident = declare(api, make_service(api, "checkout")["id"])
    base = f"/api/v1/incidents/{incident['id']}/responders"
    before = counts(api)
    cases = [
        ({"user": "nobody@example.com"}, 422, "no user 'nobody@example.com'"),
        ({"schedule": "nope"}, 422, "no schedule 'nope'"),
        ({"policy": "nope"}, 422, "no escalation policy 'nope'"),
        ({"skill": "cobol"}, 422, "nobody has skill 'cobol'"),
        ({"skill": "Not A Slug"}, 422, "not a lowercase slug"),
        ({"user": "dana@example.com", "skill": "postgres"}, 422, "exactly one"),
        ({}, 422, "exactly one"),
        ({"user": "dana@example.com", "message": "x" * 1001}, 422, "message"),
    ]
    for body, status, words in cases:
        answer = problem(api.post(base, json=body), status)
        assert words in str(answer), (body, answer)
    problem(api.post("/api/v1/incidents/999999/responders", json={"user": "dana@example.com"}), 404)
    ok(api.post(f"/api/v1/incidents/{incident['id']}/resolve"))
    after_resolve = counts(api)
    assert "reopen" in problem(api.post(base, json={"user": "dana@example.com"}), 409)["detail"]
    assert counts(api) == after_resolve
    assert after_resolve[0] == before[0] == 0


def test_skills_are_set_checked_and_found_with_the_on_call_first(api: ApiHarness) -> None:
    ana = person(api, "ana@example.com", "Ana", skills=["postgres", "networking"])
    ben = person(api, "ben@example.com", "Ben", skills=["postgres"])
    cid = person(api, "cid@example.com", "Cid", skills=["postgres"])
    person(api, "dee@example.com", "Dee", skills=["forensics"])
    layer = {"rotation": "weekly", "start": "2026-11-02T00:00:00Z", "users": ["cid@example.com"]}
    ok(api.post("/api/v1/schedules", json={"name": "primary", "layers": [layer]}), 201)
    service = make_service(api, "checkout")["id"]
    # Ana carries two open incidents (assigned one, holds a role on another), Ben none, Cid one but is on call.
    first = declare(api, service, title="one")
    second = declare(api, service, title="two")
    third = declare(api, service, title="three")
    ok(api.post(f"/api/v1/incidents/{first['id']}/reassign", json={"user": "ana@example.com"}))
    ok(api.post(f"/api/v1/incidents/{second['id']}/roles", json={"role": "Scribe", "user": "ana@example.com"}))
    ok(api.post(f"/api/v1/incidents/{third['id']}/roles", json={"role": "Scribe", "user": "cid@example.com"}))

    found = ok(api.get("/api/v1/experts", params={"skill": "postgres"}))
    assert [(e["name"], e["on_call"], e["load"]) for e in found] == [
        ("Cid", True, 1),
        ("Ben", False, 0),
        ("Ana", False, 2),
    ]
    assert ok(api.get("/api/v1/experts", params={"skill": "cobol"})) == []
    problem(api.get("/api/v1/experts", params={"skill": "Bad Skill"}), 422)

    base = f"/api/v1/incidents/{first['id']}/responders"
    (picked,) = ok(api.post(base, json={"skill": "postgres", "on_call_first": True}), 201)
    assert (picked["user_id"], picked["via"], picked["via_ref"]) == (cid["id"], "skill", "postgres")
    other = f"/api/v1/incidents/{second['id']}/responders"
    (least,) = ok(api.post(other, json={"skill": "postgres", "on_call_first": False}), 201)
    assert least["user_id"] == ben["id"]

    assert ok(api.get(f"/api/v1/users/{ana['id']}/skills"))["skills"] == ["networking", "postgres"]
    problem(
        api.client.put("/api/v1/users/ana@example.com/skills", json={"skills": ["Postgres!"]}, headers=api.headers()),
        422,
    )
    assert ok(api.get("/api/v1/users/ana@example.com/skills"))["skills"] == ["networking", "postgres"]
    ana_token = token_of(api, ana["id"])
    mine = api.client.put(
        "/api/v1/users/me/skills", json={"skills": ["kafka", "postgres", "kafka"]}, headers=api.headers(ana_token)
    )
    assert ok(mine)["skills"] == ["kafka", "postgres"]
    refused = api.client.put(f"/api/v1/users/{ben['id']}/skills", json={"skills": []}, headers=api.headers(ana_token))
    problem(refused, 403)
    assert ok(api.get(f"/api/v1/users/{ben['id']}/skills"))["skills"] == ["postgres"]
