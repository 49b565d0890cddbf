"""Incident types, categories, severity levels, the major flag, affected services and the bridge (ADR 0021)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.escalation.models import Escalation
from tocsin.incidents.models import Incident
from tocsin.response import types
from tocsin.response.models import IncidentType


def put(api: ApiHarness, url: str, **kw: Any) -> httpx.Response:
    return api.client.put(url, headers=api.headers(), **kw)


def paged_service(api: ApiHarness, name: str = "checkout") -> dict[str, Any]:
    ok(api.post("/api/v1/users", json={"email": "gina@example.com", "name": "Gina"}), 201)
    policy = ok(
        api.post(
            "/api/v1/escalation-policies",
            json={"name": "primary", "steps": [{"targets": [{"kind": "user", "ref": "gina@example.com"}]}]},
        ),
        201,
    )
    service = make_service(api, name)
    attached = api.client.put(
        f"/api/v1/services/{name}/escalation-policy", json={"escalation_policy": policy["name"]}, headers=api.headers()
    )
    ok(attached)
    return service


def incident_count(api: ApiHarness) -> int:
    with api.runtime.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Incident)) or 0)


def escalations_of(api: ApiHarness, incident_id: int) -> int:
    with api.runtime.db.reader() as s:
        return int(s.scalar(select(func.count()).where(Escalation.incident_id == incident_id)) or 0)


def timeline(api: ApiHarness, incident_id: int) -> list[dict[str, Any]]:
    return ok(api.get(f"/api/v1/incidents/{incident_id}/timeline"))  # type: ignore[no-any-return]


def test_the_shipped_vocabulary(api: ApiHarness) -> None:
    shipped = {t["name"]: t for t in ok(api.get("/api/v1/incident-types"))}
    assert list(shipped) == ["Desktop sprint", "Standard", "Big bang", "Security (CyberSec)"]
    assert (shipped["Desktop sprint"]["severity"], shipped["Desktop sprint"]["pages"]) == ("SEV5", False)
    assert (shipped["Standard"]["severity"], shipped["Standard"]["pages"]) == ("SEV3", True)
    big = shipped["Big bang"]
    assert (big["severity"], big["major"], big["required_roles"], big["update_cadence_minutes"]) == (
        "SEV1",
        True,
        ["Incident Commander"],
        30,
    )
    sec = shipped["Security (CyberSec)"]
    assert (sec["severity"], sec["phase_model"], sec["private"], sec["checklists"]) == (
        "SEV2",
        "nist",
        True,
        ["Forensics"],
    )
    forensics = [t for t in ok(api.get("/api/v1/checklist-templates")) if t["name"] == "Forensics"]
    assert next(i["title"] for i in forensics[0]["items"]) == "Preserve evidence"
    assert len(forensics[0]["items"]) == 5
    assert [s["name"] for s in ok(api.get("/api/v1/severities"))] == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    assert all(s["description"] for s in ok(api.get("/api/v1/severities")))
    categories = [c["name"] for c in ok(api.get("/api/v1/incident-categories"))]
    assert categories == sorted(["hardware", "software", "network", "database", "security", "access"])


def test_big_bang_is_major_sev1_and_asks_for_a_commander(api: ApiHarness) -> None:
    service = make_service(api)
    ok(api.post("/api/v1/users", json={"email": "ida@example.com", "name": "Ida"}), 201)
    ok(
        put(
            api,
            "/api/v1/incident-types/Big bang",
            json={**_type(api, "Big bang"), "conference_url": "https://meet.example.com/inc-{number}"},
        )
    )
    incident = declare(api, service["id"], type="Big bang")
    assert (incident["type"], incident["severity"], incident["major"]) == ("Big bang", "SEV1", True)
    assert incident["conference_url"] == f"https://meet.example.com/inc-{incident['number']}"
    tasks = ok(api.get(f"/api/v1/incidents/{incident['id']}/tasks"))["items"]
    assert [(t["title"], t["status"]) for t in tasks] == [("Assign Incident Commander", "open")]
    kinds = [e["kind"] for e in timeline(api, incident["id"])]
    assert "major" in kinds
    assert "type_changed" in kinds

    ok(
        api.post(
            f"/api/v1/incidents/{incident['id']}/roles", json={"role": "Incident Commander", "user": "ida@example.com"}
        )
    )
    tasks = ok(api.get(f"/api/v1/incidents/{incident['id']}/tasks"))["items"]
    assert [(t["title"], t["status"]) for t in tasks] == [("Assign Incident Commander", "done")]


def _type(api: ApiHarness, name: str) -> dict[str, Any]:
    found = next(t for t in ok(api.get("/api/v1/incident-types")) if t["name"] == name)
    return {k: v for k, v in found.items() if k not in ("id", "name")}


def test_a_severity_given_wins_over_the_type(api: ApiHarness) -> None:
    service = make_service(api)
    incident = declare(api, service["id"], type="Big bang", severity="SEV2")
    assert (incident["severity"], incident["major"]) == ("SEV2", True)


def test_security_takes_nist_phases_the_forensics_checklist_and_is_private_by_default(api: ApiHarness) -> None:
    service = make_service(api)
    incident = declare(api, service["id"], type="Security (CyberSec)")
    assert (incident["phase_model"], incident["severity"]) == ("nist", "SEV2")
    tasks = ok(api.get(f"/api/v1/incidents/{incident['id']}/tasks"))["items"]
    assert [t["checklist"] for t in tasks] == ["Forensics"] * 5
    with api.runtime.db.reader() as s:
        kind = types.get_type(s, "Security (CyberSec)")
        defaults = types.defaults_for(kind)
    assert (defaults.private, defaults.phase_model, defaults.checklists) == (True, "nist", ("Forensics",))


def test_a_desktop_sprint_opens_without_paging_and_does_not_page_when_reopened(api: ApiHarness) -> None:
    service = paged_service(api)
    standard = declare(api, service["id"], type="Standard")
    assert escalations_of(api, standard["id"]) == 1
    quiet = declare(api, service["id"], type="Desktop sprint", title="My laptop")
    assert (quiet["severity"], quiet["major"]) == ("SEV5", False)
    assert escalations_of(api, quiet["id"]) == 0
    ok(api.post(f"/api/v1/incidents/{quiet['id']}/resolve"))
    ok(api.post(f"/api/v1/incidents/{quiet['id']}/reopen", json={"message": "still broken"}))
    assert escalations_of(api, quiet["id"]) == 0
    # The auditor that re-arms lost escalations leaves it alone too.
    from tocsin.escalation import service as escalation

    with api.runtime.db.unit_of_work() as s:
        assert escalation.rearm_lost(s, now=api.clock.now()) == 0
    assert escalations_of(api, quiet["id"]) == 0


def test_unknown_names_are_422_listing_the_known_ones_and_nothing_is_opened(api: ApiHarness) -> None:
    service = make_service(api)
    before = incident_count(api)
    body = {"service_id": service["id"], "title": "x"}
    bad = problem(api.post("/api/v1/incidents", json={**body, "type": "Huge"}), 422)
    assert "Huge" in bad["detail"]
    assert "Big bang" in bad["detail"]
    bad = problem(api.post("/api/v1/incidents", json={**body, "severity": "SEV9"}), 422)
    assert "SEV9" in bad["detail"]
    assert "SEV1" in bad["detail"]
    bad = problem(api.post("/api/v1/incidents", json={**body, "category": "plumbing"}), 422)
    assert "plumbing" in bad["detail"]
    assert "network" in bad["detail"]
    problem(api.post("/api/v1/incidents", json={**body, "conference_url": "javascript:alert(1)"}), 422)
    problem(api.post("/api/v1/incidents", json={**body, "conference_url": "ftp://x.example.com"}), 422)
    assert incident_count(api) == before


def test_changing_type_category_bridge_and_severity_afterwards(api: ApiHarness) -> None:
    service = make_service(api)
    incident = declare(api, service["id"])
    assert incident["type"] is None
    url = f"/api/v1/incidents/{incident['id']}"
    changed = ok(
        api.patch(
            url, json={"type": "Big bang", "category": "network", "conference_url": "https://zoom.example.com/j/1"}
        )
    )
    assert (changed["type"], changed["category"], changed["conference_url"]) == (
        "Big bang",
        "network",
        "https://zoom.example.com/j/1",
    )
    assert "Type Big bang" in [e["message"] for e in timeline(api, incident["id"])]
    # Changing the type to one with required roles asks for them.
    tasks = ok(api.get(f"{url}/tasks"))["items"]
    assert [t["title"] for t in tasks] == ["Assign Incident Commander"]
    ok(api.post(f"{url}/type", json={"type": "Standard"}))
    assert ok(api.get(url))["type"] == "Standard"

    # Bad values change nothing, even beside good ones.
    for body in (
        {"title": "renamed", "severity": "SEV0"},
        {"title": "renamed", "category": "plumbing"},
        {"title": "renamed", "type": "Nope"},
        {"title": "renamed", "conference_url": "not a url"},
    ):
        problem(api.patch(url, json=body), 422)
    problem(api.post(f"{url}/type", json={"type": "Nope"}), 422)
    after = ok(api.get(url))
    assert (after["title"], after["type"], after["category"]) == (incident["title"], "Standard", "network")
    cleared = ok(api.patch(url, json={"conference_url": "", "category": ""}))
    assert (cleared["conference_url"], cleared["category"]) == ("", "")


def test_the_major_flag_by_hand_with_a_reason(api: ApiHarness) -> None:
    service = make_service(api)
    incident = declare(api, service["id"])
    url = f"/api/v1/incidents/{incident['id']}/major"
    problem(api.post(url, json={"major": True, "reason": ""}), 422)
    marked = ok(api.post(url, json={"major": True, "reason": "all regions down"}))
    assert marked["major"] is True
    problem(api.post(url, json={"major": True, "reason": "again"}), 409)
    assert "Marked as a major incident: all regions down" in [e["message"] for e in timeline(api, incident["id"])]
    listed = ok(api.get("/api/v1/incidents"))["items"]
    assert [i["major"] for i in listed if i["id"] == incident["id"]] == [True]
    assert ok(api.post(url, json={"major": False, "reason": "contained"}))["major"] is False


def test_affected_services(api: ApiHarness) -> None:
    checkout, payments, search = (
        make_service(api, "checkout"),
        make_service(api, "payments"),
        make_service(api, "search"),
    )
    incident = declare(api, checkout["id"])
    base = f"/api/v1/incidents/{incident['id']}/services"
    added = ok(api.client.put(f"{base}/payments", headers=api.headers()))
    assert [s["name"] for s in added["affected_services"]] == ["payments"]
    problem(api.client.put(f"{base}/payments", headers=api.headers()), 409)
    problem(api.client.put(f"{base}/checkout", headers=api.headers()), 409)
    problem(api.client.put(f"{base}/nowhere", headers=api.headers()), 404)
    ok(api.client.put(f"{base}/{search['id']}", headers=api.headers()))
    affecting = ok(api.get("/api/v1/incidents", params={"affects": payments["id"]}))["items"]
    assert [i["id"] for i in affecting] == [incident["id"]]
    removed = ok(api.delete(f"{base}/payments"))
    assert [s["name"] for s in removed["affected_services"]] == ["search"]
    problem(api.delete(f"{base}/payments"), 404)
    assert ok(api.get("/api/v1/incidents", params={"affects": payments["id"]}))["items"] == []
    messages = [e["message"] for e in timeline(api, incident["id"])]
    assert "Affects payments" in messages
    assert "No longer affects payments" in messages


def test_types_are_configured_and_refused_clearly(api: ApiHarness) -> None:
    spec = {"severity": "SEV4", "required_roles": ["Scribe"], "checklists": ["Forensics"], "pages": False}
    saved = ok(put(api, "/api/v1/incident-types/Vendor outage", json=spec))
    assert (saved["severity"], saved["required_roles"], saved["pages"]) == ("SEV4", ["Scribe"], False)
    bad = problem(put(api, "/api/v1/incident-types/Odd", json={"required_roles": ["Chief Wizard"]}), 422)
    assert "Chief Wizard" in bad["detail"]
    problem(put(api, "/api/v1/incident-types/Odd", json={"checklists": ["Nope"]}), 422)
    problem(put(api, "/api/v1/incident-types/Odd", json={"severity": "SEV7"}), 422)
    problem(put(api, "/api/v1/incident-types/Odd", json={"conference_url": "meet.example.com"}), 422)
    problem(put(api, "/api/v1/incident-types/Odd", json={"private_team": "ghosts"}), 422)
    assert "Odd" not in [t["name"] for t in ok(api.get("/api/v1/incident-types"))]
    responder = api.token_for("rita@example.com")
    problem(api.client.put("/api/v1/incident-types/Mine", headers=api.headers(responder), json={}), 403)

    declare(api, make_service(api)["id"], type="Vendor outage")
    problem(api.delete("/api/v1/incident-types/Vendor outage"), 409)
    ok(put(api, "/api/v1/incident-types/Unused", json={}))
    assert api.delete("/api/v1/incident-types/Unused").status_code == 204
    problem(api.delete("/api/v1/incident-types/Unused"), 404)
    with api.runtime.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(IncidentType).where(IncidentType.name == "Unused")) == 0


def test_severities_and_categories_are_configurable(api: ApiHarness) -> None:
    ok(put(api, "/api/v1/severities/SEV0", json={"description": "Existential", "position": 0}))
    ok(put(api, "/api/v1/severities/SEV1", json={"description": "Critical", "position": 1}))
    assert [s["name"] for s in ok(api.get("/api/v1/severities"))][:2] == ["SEV0", "SEV1"]
    service = make_service(api)
    incident = declare(api, service["id"], severity="SEV0")
    assert incident["severity"] == "SEV0"
    problem(api.delete("/api/v1/severities/SEV0"), 409)
    assert api.delete("/api/v1/severities/SEV5").status_code == 204
    bad = problem(
        api.post("/api/v1/incidents", json={"service_id": service["id"], "title": "x", "severity": "SEV5"}), 422
    )
    assert "SEV0" in bad["detail"]
    problem(put(api, "/api/v1/severities/way too long", json={}), 422)

    ok(put(api, "/api/v1/incident-categories/facilities", json={"description": "Power, cooling"}))
    incident = declare(api, service["id"], category="facilities")
    assert incident["category"] == "facilities"
    problem(api.delete("/api/v1/incident-categories/facilities"), 409)
    assert api.delete("/api/v1/incident-categories/access").status_code == 204
    problem(api.delete("/api/v1/incident-categories/access"), 404)


def test_an_event_rule_names_the_type_and_category_of_the_incident_an_alert_opens(api: ApiHarness) -> None:
    from tests.factories import make_service as stored_service
    from tocsin.alerts.schemas import NormalizedEvent, Submission

    with api.runtime.db.unit_of_work() as s:
        _, integration = stored_service(s, api.clock.now(), name="edge")
    rule = {
        "name": "kinds",
        "matchers": [{"field": "labels.kind", "op": "exists"}],
        "actions": {"incident_type": "{labels.kind}", "category": "{labels.area}"},
    }
    ok(put(api, "/api/v1/event-rules", json=rule))
    problem(put(api, "/api/v1/event-rules", json={**rule, "actions": {"incident_type": ["x"]}}), 422)

    def send(key: str, **labels: str) -> dict[str, Any]:
        event = NormalizedEvent(action="trigger", dedup_key=key, summary=key, severity="error", labels=labels)
        api.runtime.committer.submit_sync(Submission(integration_key=integration.key, events=[event]))
        return next(i for i in ok(api.get("/api/v1/incidents"))["items"] if i["title"] == key)

    big = send("all down", kind="Big bang", area="network")
    assert (big["type"], big["category"], big["major"]) == ("Big bang", "network", True)
    # The alert's severity stays the incident's (error → SEV2); the type's required role still asks for a holder.
    assert big["severity"] == "SEV2"
    assert [t["title"] for t in ok(api.get(f"/api/v1/incidents/{big['id']}/tasks"))["items"]] == [
        "Assign Incident Commander"
    ]
    # Names the lists do not know are left out: the alert still opens its incident.
    odd = send("odd", kind="Nope", area="plumbing")
    assert (odd["type"], odd["category"]) == (None, "")
    plain = send("plain")
    assert (plain["type"], plain["category"]) == (None, "")
