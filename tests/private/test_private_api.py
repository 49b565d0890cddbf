"""Private incidents through the API (ADR 0022), on SQLite and PostgreSQL: every incident route walked as an
outsider answers exactly as for an unknown incident and changes nothing; participants (by every source), members
of the private team and admins read it; lists, counts, search and alerts leave it out for everyone else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.access.test_route_roles import INCIDENT_CASES
from tests.audit.route_cases import State
from tests.conftest import ApiHarness
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.incidents import service as incidents
from tocsin.incidents import visibility
from tocsin.incidents.schemas import Actor
from tocsin.notify.models import Notification
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

READS = [
    "/api/v1/incidents/{ref}",
    "/api/v1/incidents/{ref}/timeline",
    "/api/v1/incidents/{ref}/alerts",
    "/api/v1/incidents/{ref}/tasks",
    "/api/v1/incidents/{ref}/roles",
    "/api/v1/incidents/{ref}/phases",
    "/api/v1/incidents/{ref}/notifications",
    "/api/v1/incidents/{ref}/participants",
]


@dataclass
class Org:
    tokens: dict[str, str]
    ids: dict[str, int]
    service_id: int
    key: str


def _org(api: ApiHarness) -> Org:
    """Team ``ops`` owns ``checkout``; Max (ops) declares; Olly is in ops too but takes no part; Pat (ops) takes
    part; Sue is in ``sec``, the team named for the incident; Wes is in another team."""
    tokens = {name: api.token_for(f"{name}@example.com") for name in ("max", "olly", "pat", "sue", "wes")}
    tokens["admin"] = api.token
    with api.runtime.db.unit_of_work() as s:
        now = api.clock.now()
        ops = teams.create_team(s, name="ops", now=now)
        sec = teams.create_team(s, name="sec", now=now)
        web = teams.create_team(s, name="web", now=now)
        for name in ("max", "olly", "pat"):
            teams.set_member(s, ops, users.get_user(s, f"{name}@example.com"))
        teams.set_member(s, sec, users.get_user(s, "sue@example.com"))
        teams.set_member(s, web, users.get_user(s, "wes@example.com"))
        service = services.create_service(s, name="checkout", team_id=ops.id, now=now)
        key = services.add_integration(s, service, name="events", type="pagerduty_v2", now=now).key
        ids = {name: users.get_user(s, f"{name}@example.com").id for name in ("max", "olly", "pat", "sue", "wes")}
    return Org(tokens=tokens, ids=ids, service_id=service.id, key=key)


def _declare(api: ApiHarness, org: Org, title: str, **extra: Any) -> dict[str, Any]:
    body = {"service_id": org.service_id, "title": title, **extra}
    r = api.post("/api/v1/incidents", json=body, token=org.tokens["max"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def _snapshot(api: ApiHarness, incident_id: int) -> tuple[Any, ...]:
    with api.runtime.db.reader() as s:
        incident = incidents.get(s, incident_id)
        entries = len(incidents.timeline(s, incident_id))
        return (
            incident.title,
            incident.status,
            incident.response_status,
            incident.updated_at,
            incident.private,
            entries,
        )


def _same_as_unknown(api: ApiHarness, method: str, path: str, body: Any, token: str, ref: str) -> None:
    """The answer for this private incident equals the answer for an incident that does not exist."""
    hidden = api.client.request(method, path, json=body, headers=api.headers(token))
    unknown_ref = "999999"
    unknown = api.client.request(
        method, path.replace(f"/incidents/{ref}", f"/incidents/{unknown_ref}", 1), json=body, headers=api.headers(token)
    )
    assert hidden.status_code == 404, f"{method} {path}: {hidden.status_code} {hidden.text}"
    assert unknown.status_code == 404, f"{method} {path} (unknown): {unknown.status_code} {unknown.text}"
    assert hidden.headers["content-type"] == unknown.headers["content-type"]
    assert re.sub(r"\d+", "N", hidden.text) == re.sub(r"\d+", "N", unknown.text), (hidden.text, unknown.text)


def test_declared_private_with_its_team(api: ApiHarness) -> None:
    org = _org(api)
    found = _declare(api, org, "credential leak", private=True, private_team="sec")
    assert found["private"] is True
    with api.runtime.db.reader() as s:
        assert found["private_team_id"] == teams.get_team(s, "sec").id
    # An unknown team, or a team for a public incident, is the request's mistake; nothing is declared.
    before = len(api.get("/api/v1/incidents?status=triggered").json()["items"])
    bad = api.post(
        "/api/v1/incidents",
        json={"service_id": org.service_id, "title": "x", "private": True, "private_team": "nope"},
        token=org.tokens["max"],
    )
    assert bad.status_code == 422
    assert "nope" in bad.text
    bad = api.post(
        "/api/v1/incidents",
        json={"service_id": org.service_id, "title": "x", "private_team": "sec"},
        token=org.tokens["max"],
    )
    assert bad.status_code == 422
    assert len(api.get("/api/v1/incidents?status=triggered").json()["items"]) == before


class _Refs(dict[str, Any]):
    """The walk's references: any a case keeps from an earlier step (a converted incident, a responder request)
    names the private incident here, whose routes must all answer as an unknown incident's do."""

    def __missing__(self, key: str) -> Any:
        return self["incident"]


def test_every_incident_route_is_not_found_for_an_outsider_and_changes_nothing(api: ApiHarness) -> None:
    org = _org(api)
    private = _declare(api, org, "credential leak", private=True, private_team="sec")
    other = _declare(api, org, "forensics copy", private=True, private_team="sec")
    task = api.post(f"/api/v1/incidents/{private['id']}/tasks", json={"title": "rotate keys"}, token=org.tokens["max"])
    assert task.status_code == 201, task.text
    state: State = _Refs(incident=private["id"], incident2=private["id"], task=task.json()["id"])
    ref = str(private["id"])
    walked = 0
    for outsider in ("olly", "wes"):
        before = _snapshot(api, private["id"])
        for case in INCIDENT_CASES:
            if "/incidents/{ref}" not in case.route:
                continue
            path = case.path(state) if callable(case.path) else case.path
            body = case.body(state) if callable(case.body) else case.body
            if case.route.endswith("/merge"):
                body = {"into": str(other["id"])}
            _same_as_unknown(api, case.method, path, body, org.tokens[outsider], ref)
            walked += 1
        for route in READS:
            _same_as_unknown(api, "GET", route.replace("{ref}", ref), None, org.tokens[outsider], ref)
        for route in (
            f"/api/v1/incidents/{ref}/visibility",
            f"/api/v1/incidents/{ref}/participants/olly@example.com",
        ):
            body = {"private": False, "reason": "peek"} if route.endswith("visibility") else None
            _same_as_unknown(api, "POST", route, body, org.tokens[outsider], ref)
        # By number too.
        _same_as_unknown(api, "GET", f"/api/v1/incidents/%23{private['number']}", None, org.tokens[outsider], ref)
        assert _snapshot(api, private["id"]) == before
    assert walked >= 20


@pytest.mark.parametrize("who", ["pat", "sue", "admin", "max"])
def test_participants_the_private_team_and_admins_read_it(api: ApiHarness, who: str) -> None:
    org = _org(api)
    private = _declare(api, org, "credential leak", private=True, private_team="sec")
    added = api.post(f"/api/v1/incidents/{private['id']}/participants/pat@example.com", token=org.tokens["max"])
    assert added.status_code == 201, added.text
    assert "pat@example.com" in [p["name"] for p in added.json()["added_by_hand"]]
    for route in READS:
        r = api.get(route.replace("{ref}", str(private["id"])), token=org.tokens[who])
        assert r.status_code == 200, f"{who} {route}: {r.text}"
    listed = api.get("/api/v1/incidents?status=triggered&q=credential", token=org.tokens[who]).json()["items"]
    assert [i["id"] for i in listed] == [private["id"]]


def test_members_of_the_service_team_act_only_once_they_take_part(api: ApiHarness) -> None:
    org = _org(api)
    private = _declare(api, org, "credential leak", private=True)
    note = f"/api/v1/incidents/{private['id']}/notes"
    assert api.post(note, json={"text": "me?"}, token=org.tokens["olly"]).status_code == 404
    api.post(f"/api/v1/incidents/{private['id']}/participants/olly@example.com", token=org.tokens["max"])
    assert api.post(note, json={"text": "on it"}, token=org.tokens["olly"]).status_code == 201
    # Sue reads it (her team is named for it) once the team is set, but acting takes the service's team.
    r = api.post(
        f"/api/v1/incidents/{private['id']}/visibility",
        json={"private": True, "team": "sec", "reason": "security team runs forensics"},
        token=org.tokens["max"],
    )
    assert r.status_code == 200, r.text
    assert api.get(f"/api/v1/incidents/{private['id']}", token=org.tokens["sue"]).status_code == 200
    assert api.post(note, json={"text": "x"}, token=org.tokens["sue"]).status_code == 403
    # Removing Olly hides it from him again; removing someone not added by hand is a 404.
    r = api.delete(f"/api/v1/incidents/{private['id']}/participants/olly@example.com", token=org.tokens["max"])
    assert r.status_code == 200, r.text
    # Olly wrote a note, so he acted in its timeline: he is still a participant.
    assert api.get(f"/api/v1/incidents/{private['id']}", token=org.tokens["olly"]).status_code == 200
    again = api.delete(f"/api/v1/incidents/{private['id']}/participants/olly@example.com", token=org.tokens["max"])
    assert again.status_code == 404


def test_every_participant_source_makes_a_participant(api: ApiHarness) -> None:
    org = _org(api)
    actor = Actor(label="Max", source="api", user_id=org.ids["max"])
    private = _declare(api, org, "credential leak", private=True)
    path = f"/api/v1/incidents/{private['id']}"

    def sees(name: str) -> bool:
        return api.get(path, token=org.tokens[name]).status_code == 200

    assert not sees("wes")
    # Owner.
    r = api.post(f"{path}/reassign", json={"user": "wes@example.com"}, token=org.tokens["max"])
    assert r.status_code == 200, r.text
    assert sees("wes")
    assert not sees("olly")
    # Role holder.
    with api.runtime.db.unit_of_work() as s:
        from tocsin.response import roles

        roles.assign(s, private["id"], "Scribe", "olly@example.com", actor=actor, now=api.clock.now())
    assert sees("olly")
    assert not sees("pat")
    # Task assignee.
    r = api.post(f"{path}/tasks", json={"title": "image disks", "assignee": "pat@example.com"}, token=org.tokens["max"])
    assert r.status_code == 201, r.text
    assert sees("pat")
    # Paged for it.
    assert not sees("sue")
    with api.runtime.db.unit_of_work() as s:
        from tocsin.notify import contacts

        cm = contacts.add_contact_method(
            s, user_id=org.ids["sue"], name="m", type="email", address="sue@example.com", now=api.clock.now()
        )
        s.add(
            Notification(
                incident_id=private["id"],
                user_id=org.ids["sue"],
                contact_method_id=cm.id,
                idempotency_key="private-test-page",
                kind="page",
                status="sent",
                created_at=api.clock.now(),
                next_attempt_at=api.clock.now(),
            )
        )
    assert sees("sue")
    with api.runtime.db.reader() as s:
        incident = incidents.get(s, private["id"])
        everyone = visibility.participants(s, incident)
    assert everyone == {org.ids[n] for n in ("max", "wes", "olly", "pat", "sue")}


def test_making_it_public_and_private_needs_a_reason_and_is_in_the_timeline(api: ApiHarness) -> None:
    org = _org(api)
    found = _declare(api, org, "payroll bug")
    path = f"/api/v1/incidents/{found['id']}/visibility"
    assert api.post(path, json={"private": True}, token=org.tokens["max"]).status_code == 422
    assert api.post(path, json={"private": True, "reason": "  "}, token=org.tokens["max"]).status_code == 422
    assert api.post(path, json={"private": False, "reason": "x"}, token=org.tokens["max"]).status_code == 409
    bad_team = api.post(path, json={"private": True, "team": "nope", "reason": "x"}, token=org.tokens["max"])
    assert bad_team.status_code == 422
    assert "nope" in bad_team.text
    assert api.get(f"/api/v1/incidents/{found['id']}", token=org.tokens["wes"]).status_code == 200
    r = api.post(path, json={"private": True, "team": "sec", "reason": "salaries"}, token=org.tokens["max"])
    assert r.status_code == 200
    assert r.json()["private"] is True
    assert api.get(f"/api/v1/incidents/{found['id']}", token=org.tokens["wes"]).status_code == 404
    r = api.post(path, json={"private": False, "reason": "fixed, nothing sensitive left"}, token=org.tokens["max"])
    assert r.status_code == 200
    assert r.json()["private"] is False
    assert r.json()["private_team_id"] is None
    assert api.get(f"/api/v1/incidents/{found['id']}", token=org.tokens["wes"]).status_code == 200
    entries = api.get(f"/api/v1/incidents/{found['id']}/timeline").json()
    moves = [(e["kind"], e["data"]["reason"]) for e in entries if e["kind"] == "visibility_changed"]
    assert moves == [("visibility_changed", "salaries"), ("visibility_changed", "fixed, nothing sensitive left")]


def test_lists_counts_search_and_alerts_leave_it_out(api: ApiHarness) -> None:
    org = _org(api)
    public = _declare(api, org, "checkout slow")
    private = _declare(api, org, "checkout credential leak", private=True, private_team="sec")
    with api.runtime.db.unit_of_work() as s:
        ingest_batch(
            s, [Submission(org.key, events=[NormalizedEvent("trigger", "k1", summary="disk")])], now=api.clock.now()
        )
    with api.runtime.db.unit_of_work() as s:
        from sqlalchemy import select

        from tocsin.alerts.models import Alert

        alert = s.execute(select(Alert)).scalars().one()
        alerted_public = alert.incident_id
        # Move the alert into the private incident, as merging would.
        alert.incident_id = private["id"]
    alert_id = alert.id

    def listed(name: str, query: str = "status=triggered") -> list[int]:
        return [i["id"] for i in api.get(f"/api/v1/incidents?{query}", token=org.tokens[name]).json()["items"]]

    def open_count(name: str) -> int:
        (svc,) = api.get("/api/v1/services", token=org.tokens[name]).json()
        return int(svc["open_incidents"])

    everything = {public["id"], private["id"], alerted_public}
    assert set(listed("admin")) == everything
    assert set(listed("sue")) == everything
    assert set(listed("olly")) == everything - {private["id"]}
    assert listed("olly", "q=credential") == []
    assert listed("sue", "q=credential") == [private["id"]]
    assert listed("olly", f"service_id={org.service_id}&q=checkout") == [public["id"]]
    assert open_count("admin") == 3
    assert open_count("sue") == 3
    assert open_count("olly") == 2
    # Paging through a list never reaches it either.
    page = api.get("/api/v1/incidents?limit=1", token=org.tokens["olly"]).json()
    seen = [i["id"] for i in page["items"]]
    while page["next_cursor"]:
        page = api.get(f"/api/v1/incidents?limit=1&cursor={page['next_cursor']}", token=org.tokens["olly"]).json()
        seen += [i["id"] for i in page["items"]]
    assert private["id"] not in seen
    assert len(seen) == 2
    # Its alerts.
    assert alert_id not in [a["id"] for a in api.get("/api/v1/alerts", token=org.tokens["olly"]).json()["items"]]
    assert alert_id in [a["id"] for a in api.get("/api/v1/alerts", token=org.tokens["sue"]).json()["items"]]
    hidden = api.get(f"/api/v1/alerts/{alert_id}", token=org.tokens["olly"])
    unknown = api.get("/api/v1/alerts/999999", token=org.tokens["olly"])
    assert hidden.status_code == unknown.status_code == 404
    assert re.sub(r"\d+", "N", hidden.text) == re.sub(r"\d+", "N", unknown.text)
    assert api.get(f"/api/v1/alerts/{alert_id}", token=org.tokens["sue"]).status_code == 200


def test_team_scope_and_privacy_compose(scoped_api: ApiHarness) -> None:
    """With ``teams_see_all`` off, a private incident is still read by a participant of another team, and a public
    one of ops stays hidden from him."""
    api = scoped_api
    org = _org(api)
    public = _declare(api, org, "checkout slow")
    private = _declare(api, org, "checkout leak", private=True)
    api.post(f"/api/v1/incidents/{private['id']}/participants/wes@example.com", token=org.tokens["max"])
    assert api.get(f"/api/v1/incidents/{public['id']}", token=org.tokens["wes"]).status_code == 404
    assert api.get(f"/api/v1/incidents/{private['id']}", token=org.tokens["wes"]).status_code == 200
    ids = [i["id"] for i in api.get("/api/v1/incidents?status=triggered", token=org.tokens["wes"]).json()["items"]]
    assert ids == [private["id"]]
    # Olly (ops) reads the public one, not the private one.
    ids = [i["id"] for i in api.get("/api/v1/incidents?status=triggered", token=org.tokens["olly"]).json()["items"]]
    assert ids == [public["id"]]
