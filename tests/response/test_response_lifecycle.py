"""The response status beside the paging state: the one move table, milestones, phases, reopen (ADR 0020)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.core.errors import InvalidTransition
from tocsin.escalation import repository as escalation_repo
from tocsin.events.models import IncidentEvent
from tocsin.incidents import lifecycle
from tocsin.incidents.lifecycle import IncidentStatus as P
from tocsin.incidents.lifecycle import ResponseStatus as R
from tocsin.services.models import Service

WORKING = [R.INVESTIGATING, R.IDENTIFIED, R.MITIGATED, R.MONITORING]


def expected_response_moves() -> set[tuple[R, R]]:
    """The table written out from the issue's words, independently of how lifecycle builds it."""
    allowed = set()
    for current in [R.TRIAGE, *WORKING]:
        allowed |= {(current, t) for t in WORKING if t != current}
        allowed.add((current, R.RESOLVED))
    allowed |= {(R.TRIAGE, R.DECLINED), (R.TRIAGE, R.MERGED), (R.TRIAGE, R.CANCELED)}
    allowed |= {(w, R.MERGED) for w in WORKING}
    allowed |= {(R.RESOLVED, R.CLOSED), (R.RESOLVED, R.INVESTIGATING)}
    return allowed


@pytest.mark.parametrize(("current", "target"), list(itertools.product(R, R)))
def test_every_response_move_is_allowed_or_refused_as_the_table_says(current: R, target: R) -> None:
    paging = P.RESOLVED if current in lifecycle.ENDED else P.ACKNOWLEDGED
    if (current, target) in expected_response_moves():
        move = lifecycle.response_move(paging, current, target)
        assert move.response == target
        if target in lifecycle.ENDED:
            assert move.status == P.RESOLVED
        elif current == R.RESOLVED:
            assert move.status == P.TRIGGERED, "reopening pages again"
        else:
            assert move.status == paging
    else:
        with pytest.raises(InvalidTransition):
            lifecycle.response_move(paging, current, target)


@pytest.mark.parametrize(
    ("paging", "response", "target", "expected"),
    [
        (P.TRIGGERED, R.TRIAGE, P.ACKNOWLEDGED, R.INVESTIGATING),
        (P.TRIGGERED, R.IDENTIFIED, P.ACKNOWLEDGED, R.IDENTIFIED),
        (P.ACKNOWLEDGED, R.MITIGATED, P.TRIGGERED, R.MITIGATED),
        (P.ACKNOWLEDGED, R.MONITORING, P.RESOLVED, R.RESOLVED),
        (P.TRIGGERED, R.TRIAGE, P.RESOLVED, R.RESOLVED),
    ],
)
def test_paging_moves_carry_the_response(paging: P, response: R, target: P, expected: R) -> None:
    assert lifecycle.paging_move(paging, response, target).response == expected


def test_paging_cannot_move_an_ended_response() -> None:
    with pytest.raises(InvalidTransition, match="reopen"):
        lifecycle.paging_move(P.ACKNOWLEDGED, R.CLOSED, P.TRIGGERED)


def put(api: ApiHarness, url: str, **kw: Any) -> httpx.Response:
    return api.client.put(url, headers=api.headers(), **kw)


def moves(api: ApiHarness, incident: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["kind"], e["message"]) for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]


def test_a_response_from_triage_to_closed_with_one_entry_per_move(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    assert incident["response_status"] == "triage"
    assert incident["milestones"]["reported"] is not None
    assert incident["milestones"]["detected"] is None

    acked = ok(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"))
    assert (acked["status"], acked["response_status"]) == ("acknowledged", "investigating")
    url = f"/api/v1/incidents/{incident['id']}/response"
    for target in ("identified", "mitigated", "monitoring"):
        api.clock.advance(timedelta(minutes=10))
        moved = ok(api.post(url, json={"status": target}))
        assert (moved["status"], moved["response_status"]) == ("acknowledged", target)
    mitigated_at = api.clock.now() - timedelta(minutes=10)
    assert moved["milestones"]["mitigated"].startswith(mitigated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    resolved = ok(api.post(url, json={"status": "resolved", "message": "fixed the pool"}))
    assert (resolved["status"], resolved["response_status"]) == ("resolved", "resolved")
    closed = ok(api.post(url, json={"status": "closed"}))
    assert closed["response_status"] == "closed"
    assert closed["milestones"]["closed"] is not None

    kinds = [k for k, _ in moves(api, incident)]
    assert kinds == [
        "triggered",
        "acknowledged",
        "response_changed",
        "response_changed",
        "response_changed",
        "resolved",
        "response_changed",
    ]
    problem(api.post(url, json={"status": "investigating"}), 409)
    problem(api.post(f"/api/v1/incidents/{incident['id']}/reopen"), 409)
    problem(api.post(url, json={"status": "sleeping"}), 422)


def test_declining_in_triage_stops_paging(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    declined = ok(api.post(f"/api/v1/incidents/{incident['id']}/response", json={"status": "declined"}))
    assert (declined["status"], declined["response_status"]) == ("resolved", "declined")
    problem(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"), 409)
    with api.runtime.db.reader() as s:
        [event] = s.scalars(select(IncidentEvent).where(IncidentEvent.type == "incident.response_changed")).all()
    assert event.changes == {"response_status": ["triage", "declined"], "status": ["triggered", "resolved"]}


def test_reopening_pages_again_and_clears_later_milestones(api: ApiHarness) -> None:
    ok(api.post("/api/v1/users", json={"email": "gina@example.com", "name": "Gina"}), 201)
    policy = ok(
        api.post(
            "/api/v1/escalation-policies",
            json={"name": "db-oncall", "steps": [{"targets": [{"kind": "user", "ref": "gina@example.com"}]}]},
        ),
        201,
    )
    service = make_service(api, "checkout")
    with api.runtime.db.unit_of_work() as s:
        s.get(Service, service["id"]).escalation_policy_id = policy["id"]  # type: ignore[union-attr]
    incident = declare(api, service["id"])
    ok(api.post(f"/api/v1/incidents/{incident['id']}/resolve"))
    with api.runtime.db.reader() as s:
        escalation = escalation_repo.of_incident(s, incident["id"])
        assert escalation is not None
        assert escalation.status == "stopped"

    api.clock.advance(timedelta(hours=1))
    reopened = ok(api.post(f"/api/v1/incidents/{incident['id']}/reopen", json={"message": "it is back"}))
    assert (reopened["status"], reopened["response_status"]) == ("triggered", "investigating")
    assert reopened["resolved_at"] is None
    assert reopened["milestones"]["resolved"] is None
    assert moves(api, incident)[-1] == ("reopened", "it is back")
    with api.runtime.db.reader() as s:
        escalation = escalation_repo.of_incident(s, incident["id"])
        assert escalation is not None
        assert escalation.status == "active", "paging starts again"


def test_milestones_are_corrected_with_a_reason_and_kept_in_order(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    ok(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"))
    api.clock.advance(timedelta(minutes=10))
    base = f"/api/v1/incidents/{incident['id']}/milestones"
    earlier = (api.clock.now() - timedelta(hours=2)).isoformat()

    fixed = ok(put(api, f"{base}/impact_started", json={"at": earlier, "reason": "errors began at 10:00"}))
    assert fixed["milestones"]["impact_started"].startswith(earlier[:16])
    last = moves(api, incident)[-1]
    assert last == ("milestone_edited", "errors began at 10:00")

    later = (api.clock.now() - timedelta(minutes=1)).isoformat()
    mitigated = ok(put(api, f"{base}/mitigated", json={"at": later, "reason": "failover"}))
    assert mitigated["milestones"]["mitigated"].startswith(later[:16])
    too_early = (api.clock.now() - timedelta(hours=3)).isoformat()
    refused = problem(put(api, f"{base}/mitigated", json={"at": too_early, "reason": "typo"}), 422)
    assert "mitigated" in refused["detail"]
    assert "before" in refused["detail"]
    problem(put(api, f"{base}/launched", json={"at": later, "reason": "x"}), 422)
    problem(put(api, f"{base}/detected", json={"at": later}), 422)
    future = (api.clock.now() + timedelta(hours=1)).isoformat()
    problem(put(api, f"{base}/impact_ended", json={"at": future, "reason": "x"}), 422)
    unchanged = ok(api.get(f"/api/v1/incidents/{incident['id']}"))
    assert unchanged["milestones"]["mitigated"].startswith(later[:16])


def test_time_in_each_phase_of_the_nist_model(api: ApiHarness) -> None:
    service = make_service(api, "vault")
    incident = declare(api, service["id"], "Leaked key", phase_model="nist")
    assert (incident["phase_model"], incident["phase"]) == ("nist", "Detection & Analysis")
    api.clock.advance(timedelta(minutes=30))
    ok(api.post(f"/api/v1/incidents/{incident['id']}/response", json={"status": "mitigated"}))
    api.clock.advance(timedelta(minutes=45))
    times = {
        p["phase"]: (p["seconds"], p["current"]) for p in ok(api.get(f"/api/v1/incidents/{incident['id']}/phases"))
    }
    assert times == {
        "Preparation": (0.0, False),
        "Detection & Analysis": (1800.0, False),
        "Containment, Eradication & Recovery": (2700.0, True),
        "Post-Incident Activity": (0.0, False),
        "Closed": (0.0, False),
    }
    switched = ok(api.patch(f"/api/v1/incidents/{incident['id']}", json={"phase_model": "default"}))
    assert switched["phase"] == "Mitigated"


def test_acknowledging_an_unowned_incident_makes_the_person_its_owner(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    assert incident["assigned_to"] is None
    acked = ok(api.post(f"/api/v1/incidents/{incident['id']}/acknowledge"))
    assert acked["assigned_to"]["id"] == api.admin_id

    gina = ok(api.post("/api/v1/users", json={"email": "gina@example.com", "name": "Gina"}), 201)
    other = declare(api, service["id"], "Second")
    ok(api.post(f"/api/v1/incidents/{other['id']}/reassign", json={"user": "gina@example.com"}))
    still = ok(api.post(f"/api/v1/incidents/{other['id']}/acknowledge"))
    assert still["assigned_to"]["id"] == gina["id"], "an owner already set is kept"
