"""Archive, deactivate and delete over HTTP: history is never deleted, and what stops working stops at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.conftest import declare, make_integration, make_service, ok, problem
from tests.conftest import ApiHarness


def _event(summary: str = "disk full") -> dict[str, Any]:
    return {"summary": summary, "severity": "critical"}


def test_an_archived_service_keeps_its_incidents_and_refuses_events(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    key = make_integration(api, "checkout", "generic")["key"]
    assert api.client.post(f"/integrations/{key}/generic", json=_event()).status_code == 202
    incident = declare(api, service["id"], "checkout is down")

    refused = problem(api.post("/api/v1/services/checkout/archive"), 409)["detail"]
    assert f"#{incident['number']}" in refused
    for open_incident in ok(api.get(f"/api/v1/incidents?service_id={service['id']}&status=triggered"))["items"]:
        ok(api.post(f"/api/v1/incidents/{open_incident['id']}/resolve"))

    archived = ok(api.post("/api/v1/services/checkout/archive"))
    assert archived["archived_at"] is not None
    assert "checkout" not in [s["name"] for s in ok(api.get("/api/v1/services"))]
    assert "checkout" in [s["name"] for s in ok(api.get("/api/v1/services?include_archived=true"))]
    # The history stays readable, by id and in lists.
    assert ok(api.get(f"/api/v1/incidents/{incident['id']}"))["title"] == "checkout is down"
    assert ok(api.get(f"/api/v1/services/{service['id']}"))["archived_at"] is not None
    # Its key answers as an unknown one.
    assert api.client.post(f"/integrations/{key}/generic", json=_event()).status_code == 404
    assert "archive it instead" in problem(api.delete("/api/v1/services/checkout"), 409)["detail"]
    body = {"service_id": service["id"], "title": "by hand"}
    assert "archived" in problem(api.post("/api/v1/incidents", json=body), 422)["detail"]

    ok(api.post("/api/v1/services/checkout/unarchive"))
    assert api.client.post(f"/integrations/{key}/generic", json=_event()).status_code == 202


def test_a_service_without_history_is_deleted(api: ApiHarness) -> None:
    make_service(api, "spare")
    make_integration(api, "spare", "generic")
    ok(api.delete("/api/v1/services/spare"), 204)
    problem(api.get("/api/v1/services/spare"), 404)


def test_integrations_are_edited_archived_and_deleted_only_without_alerts(api: ApiHarness) -> None:
    make_service(api, "checkout")
    used = make_integration(api, "checkout", "generic", key="used-key-0123456789")
    idle = make_integration(api, "checkout", "alertmanager")
    assert api.client.post("/integrations/used-key-0123456789/generic", json=_event()).status_code == 202

    renamed = ok(api.patch(f"/api/v1/integrations/{used['id']}", json={"name": "nagios", "key": "new-key-0123456789"}))
    assert (renamed["name"], renamed["key"]) == ("nagios", "new-key-0123456789")
    assert api.client.post("/integrations/used-key-0123456789/generic", json=_event()).status_code == 404
    assert "16 to 64" in problem(api.patch(f"/api/v1/integrations/{used['id']}", json={"key": "short"}), 422)["detail"]

    ok(api.post(f"/api/v1/integrations/{used['id']}/archive"))
    assert api.client.post("/integrations/new-key-0123456789/generic", json=_event()).status_code == 404
    assert [i["id"] for i in ok(api.get("/api/v1/services/checkout/integrations"))] == [idle["id"]]
    assert "archive it instead" in problem(api.delete(f"/api/v1/integrations/{used['id']}"), 409)["detail"]
    ok(api.post(f"/api/v1/integrations/{used['id']}/unarchive"))
    assert api.client.post("/integrations/new-key-0123456789/generic", json=_event()).status_code == 202
    ok(api.delete(f"/api/v1/integrations/{idle['id']}"), 204)


def _schedule(api: ApiHarness, name: str, users: list[str]) -> dict[str, Any]:
    start = (api.clock.now() - timedelta(days=1)).isoformat()
    body = {"name": name, "layers": [{"rotation": "daily", "start": start, "users": users}]}
    data: dict[str, Any] = ok(api.post("/api/v1/schedules", json=body), 201)
    return data


def _policy(api: ApiHarness, name: str, steps: list[list[dict[str, str]]]) -> dict[str, Any]:
    body = {"name": name, "steps": [{"targets": targets, "delay": "5m"} for targets in steps]}
    data: dict[str, Any] = ok(api.post("/api/v1/escalation-policies", json=body), 201)
    return data


def test_schedules_and_policies_are_edited_archived_and_deleted_when_unused(api: ApiHarness) -> None:
    api.token_for("ann@example.com")
    _schedule(api, "primary", ["ann@example.com"])
    _policy(api, "checkout", [[{"kind": "schedule", "ref": "primary"}]])
    make_service(api, "checkout")
    ok(
        api.client.put(
            "/api/v1/services/checkout/escalation-policy", json={"escalation_policy": "checkout"}, headers=api.headers()
        )
    )

    patched = ok(api.patch("/api/v1/schedules/primary", json={"name": "main", "timezone": "Europe/Berlin"}))
    assert (patched["name"], patched["timezone"]) == ("main", "Europe/Berlin")
    assert (
        "Mars/Olympus" in problem(api.patch("/api/v1/schedules/main", json={"timezone": "Mars/Olympus"}), 422)["detail"]
    )

    assert "'checkout'" in problem(api.delete("/api/v1/schedules/main"), 409)["detail"]
    assert ok(api.post("/api/v1/schedules/main/archive"))["archived_at"] is not None
    assert ok(api.get("/api/v1/schedules")) == []
    assert [s["name"] for s in ok(api.get("/api/v1/schedules?include_archived=true"))] == ["main"]
    assert ok(api.get("/api/v1/schedules/main"))["on_call_now"] == [], "an archived schedule pages nobody"
    ok(api.post("/api/v1/schedules/main/unarchive"))
    assert len(ok(api.get("/api/v1/schedules/main"))["on_call_now"]) == 1

    assert "'checkout'" in problem(api.post("/api/v1/escalation-policies/checkout/archive"), 409)["detail"]
    ok(
        api.client.put(
            "/api/v1/services/checkout/escalation-policy", json={"escalation_policy": None}, headers=api.headers()
        )
    )
    ok(api.post("/api/v1/escalation-policies/checkout/archive"))
    assert ok(api.get("/api/v1/escalation-policies")) == []
    ok(api.delete("/api/v1/escalation-policies/checkout"), 204)
    ok(api.delete("/api/v1/schedules/main"), 204)
    problem(api.get("/api/v1/schedules/main"), 404)


def test_deactivation_shows_its_gaps_first_then_cuts_tokens_at_once(api: ApiHarness) -> None:
    ann = api.token_for("ann@example.com")
    api.token_for("ben@example.com")
    _schedule(api, "solo", ["ann@example.com"])
    _schedule(api, "pair", ["ann@example.com", "ben@example.com"])
    _policy(
        api,
        "db",
        [
            [{"kind": "user", "ref": "ann@example.com"}],
            [{"kind": "user", "ref": "ann@example.com"}, {"kind": "user", "ref": "ben@example.com"}],
        ],
    )
    assert ok(api.get("/api/v1/users/me", token=ann))["email"] == "ann@example.com"

    plan = ok(api.post("/api/v1/users/ann@example.com/deactivate?dry_run=true"))
    assert plan["dry_run"] is True
    gaps = {s["name"]: s["gaps"] for s in plan["schedules"]}
    assert set(gaps) == {"solo", "pair"}
    assert len(gaps["solo"]) == 1, "alone in the rotation: the whole horizon is a gap"
    assert gaps["pair"]
    assert len(gaps["pair"]) < 14
    assert plan["policies"] == [{"id": plan["policies"][0]["id"], "name": "db", "steps": [1, 2], "empty_steps": [1]}]
    assert ok(api.get("/api/v1/users/me", token=ann))["deactivated_at"] is None, "a dry run changes nothing"

    done = ok(api.post("/api/v1/users/ann@example.com/deactivate"))
    assert done["user"]["deactivated_at"] is not None
    assert "deactivated" in problem(api.get("/api/v1/users/me", token=ann), 401)["detail"]
    assert ok(api.get("/api/v1/schedules/solo"))["on_call_now"] == []
    assert ok(api.get("/api/v1/schedules/solo"))["has_gaps"] is True

    ok(api.post("/api/v1/users/ann@example.com/reactivate"))
    assert ok(api.get("/api/v1/users/me", token=ann))["deactivated_at"] is None


def test_the_last_admin_is_never_demoted_deactivated_or_deleted(api: ApiHarness) -> None:
    for attempt in (
        api.patch("/api/v1/users/me", json={"role": "observer"}),
        api.post(f"/api/v1/users/{api.admin_id}/deactivate?dry_run=true"),
        api.post(f"/api/v1/users/{api.admin_id}/deactivate"),
        api.delete(f"/api/v1/users/{api.admin_id}"),
    ):
        assert "last active admin" in problem(attempt, 409)["detail"]
    # A deactivated admin does not count: the guard looks at active admins.
    api.token_for("second@example.com", "admin")
    ok(api.post("/api/v1/users/second@example.com/deactivate"))
    problem(api.post(f"/api/v1/users/{api.admin_id}/deactivate"), 409)
    ok(api.post("/api/v1/users/second@example.com/reactivate"))
    ok(api.post(f"/api/v1/users/{api.admin_id}/deactivate"))


def test_only_people_nothing_names_are_deleted(api: ApiHarness) -> None:
    api.token_for("ann@example.com")
    api.token_for("ben@example.com")
    _schedule(api, "solo", ["ann@example.com"])
    assert "schedule 'solo'" in problem(api.delete("/api/v1/users/ann@example.com"), 409)["detail"]
    ok(api.delete("/api/v1/users/ben@example.com"), 204)
    problem(api.get("/api/v1/users/ben@example.com"), 404)
    responder = api.token_for("carl@example.com")
    problem(api.delete("/api/v1/users/ann@example.com", token=responder), 403)
    problem(api.post("/api/v1/users/ann@example.com/deactivate", token=responder), 403)
