"""Every object that can be created can be edited and archived or deleted through the API."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import ok, problem
from tests.conftest import ApiHarness

# object: (how it is created, how it is edited, how it is retired). Layers, memberships, event and inhibit rules
# and grouping are written whole by PUT and removed by DELETE (or PUT of an empty list, for layers).
LIFECYCLE = {
    "user": (("POST", "/api/v1/users"), ("PATCH", "/api/v1/users/{ref}"), ("POST", "/api/v1/users/{ref}/deactivate")),
    "user (hard)": (("POST", "/api/v1/users"), ("PATCH", "/api/v1/users/{ref}"), ("DELETE", "/api/v1/users/{ref}")),
    "team": (("POST", "/api/v1/teams"), ("PATCH", "/api/v1/teams/{ref}"), ("DELETE", "/api/v1/teams/{ref}")),
    "membership": (
        ("PUT", "/api/v1/teams/{ref}/members/{user}"),
        ("PUT", "/api/v1/teams/{ref}/members/{user}"),
        ("DELETE", "/api/v1/teams/{ref}/members/{user}"),
    ),
    "schedule": (
        ("POST", "/api/v1/schedules"),
        ("PATCH", "/api/v1/schedules/{ref}"),
        ("POST", "/api/v1/schedules/{ref}/archive"),
    ),
    "schedule (hard)": (
        ("POST", "/api/v1/schedules"),
        ("PATCH", "/api/v1/schedules/{ref}"),
        ("DELETE", "/api/v1/schedules/{ref}"),
    ),
    "layers": (
        ("PUT", "/api/v1/schedules/{ref}/layers"),
        ("PUT", "/api/v1/schedules/{ref}/layers"),
        ("PUT", "/api/v1/schedules/{ref}/layers"),
    ),
    "override": (
        ("POST", "/api/v1/schedules/{ref}/overrides"),
        ("PATCH", "/api/v1/schedules/{ref}/overrides/{override_id}"),
        ("DELETE", "/api/v1/schedules/{ref}/overrides/{override_id}"),
    ),
    "escalation policy": (
        ("POST", "/api/v1/escalation-policies"),
        ("PUT", "/api/v1/escalation-policies/{ref}"),
        ("POST", "/api/v1/escalation-policies/{ref}/archive"),
    ),
    "escalation policy (hard)": (
        ("POST", "/api/v1/escalation-policies"),
        ("PUT", "/api/v1/escalation-policies/{ref}"),
        ("DELETE", "/api/v1/escalation-policies/{ref}"),
    ),
    "service": (
        ("POST", "/api/v1/services"),
        ("PATCH", "/api/v1/services/{ref}"),
        ("POST", "/api/v1/services/{ref}/archive"),
    ),
    "service (hard)": (
        ("POST", "/api/v1/services"),
        ("PATCH", "/api/v1/services/{ref}"),
        ("DELETE", "/api/v1/services/{ref}"),
    ),
    "integration": (
        ("POST", "/api/v1/services/{ref}/integrations"),
        ("PATCH", "/api/v1/integrations/{integration_id}"),
        ("POST", "/api/v1/integrations/{integration_id}/archive"),
    ),
    "integration (hard)": (
        ("POST", "/api/v1/services/{ref}/integrations"),
        ("PATCH", "/api/v1/integrations/{integration_id}"),
        ("DELETE", "/api/v1/integrations/{integration_id}"),
    ),
    "status page": (
        ("POST", "/api/v1/status-pages"),
        ("PATCH", "/api/v1/status-pages/{page}"),
        ("DELETE", "/api/v1/status-pages/{page}"),
    ),
    "status component group": (
        ("POST", "/api/v1/status-pages/{page}/groups"),
        ("PATCH", "/api/v1/status-pages/{page}/groups/{group_id}"),
        ("DELETE", "/api/v1/status-pages/{page}/groups/{group_id}"),
    ),
    "runbook": (
        ("POST", "/api/v1/runbooks"),
        ("PUT", "/api/v1/runbooks/{ref}"),
        ("DELETE", "/api/v1/runbooks/{ref}"),
    ),
    "stakeholder group": (
        ("POST", "/api/v1/stakeholder-groups"),
        ("PUT", "/api/v1/stakeholder-groups/{ref}"),
        ("DELETE", "/api/v1/stakeholder-groups/{ref}"),
    ),
    "status component": (
        ("POST", "/api/v1/status-pages/{page}/components"),
        ("PATCH", "/api/v1/status-pages/{page}/components/{component_id}"),
        ("DELETE", "/api/v1/status-pages/{page}/components/{component_id}"),
    ),
    # retired by moving it to completed (kept, as published)
    "scheduled maintenance": (
        ("POST", "/api/v1/status-pages/{page}/maintenances"),
        ("PATCH", "/api/v1/status-pages/{page}/maintenances/{maintenance_id}"),
        ("PATCH", "/api/v1/status-pages/{page}/maintenances/{maintenance_id}"),
    ),
    "contact method": (
        ("POST", "/api/v1/users/{ref}/contact-methods"),
        ("PATCH", "/api/v1/contact-methods/{cm_id}"),
        ("DELETE", "/api/v1/contact-methods/{cm_id}"),
    ),
    "notification rule": (
        ("POST", "/api/v1/users/{ref}/notification-rules"),
        ("PATCH", "/api/v1/notification-rules/{rule_id}"),
        ("DELETE", "/api/v1/notification-rules/{rule_id}"),
    ),
    "event rule": (
        ("PUT", "/api/v1/event-rules"),
        ("PUT", "/api/v1/event-rules"),
        ("DELETE", "/api/v1/event-rules/{name}"),
    ),
    "inhibit rule": (
        ("PUT", "/api/v1/inhibit-rules"),
        ("PUT", "/api/v1/inhibit-rules"),
        ("DELETE", "/api/v1/inhibit-rules/{name}"),
    ),
    "grouping": (
        ("PUT", "/api/v1/services/{ref}/grouping"),
        ("PUT", "/api/v1/services/{ref}/grouping"),
        ("DELETE", "/api/v1/services/{ref}/grouping"),
    ),
    "silence or maintenance window": (
        ("POST", "/api/v1/silences"),
        ("PUT", "/api/v1/silences/{silence_id}"),
        ("DELETE", "/api/v1/silences/{silence_id}"),
    ),
    # A task is retired by marking it skipped (or done): its history stays on the incident.
    "incident task": (
        ("POST", "/api/v1/incidents/{ref}/tasks"),
        ("PATCH", "/api/v1/incidents/{ref}/tasks/{task_id}"),
        ("PATCH", "/api/v1/incidents/{ref}/tasks/{task_id}"),
    ),
    # A request is retired by moving it to fulfilled or rejected: its history stays.
    "service request": (
        ("POST", "/api/v1/service-requests"),
        ("PATCH", "/api/v1/service-requests/{ref}"),
        ("POST", "/api/v1/service-requests/{ref}/transition"),
    ),
    # A service's public report link is rotated (made again) and revoked.
    "public report link": (
        ("POST", "/api/v1/services/{ref}/desk/public-link"),
        ("POST", "/api/v1/services/{ref}/desk/public-link"),
        ("DELETE", "/api/v1/services/{ref}/desk/public-link"),
    ),
    "workflow": (
        ("PUT", "/api/v1/workflows/{name}"),
        ("PUT", "/api/v1/workflows/{name}"),
        ("DELETE", "/api/v1/workflows/{name}"),
    ),
    "playbook": (
        ("PUT", "/api/v1/playbooks/{name}"),
        ("PUT", "/api/v1/playbooks/{name}"),
        ("DELETE", "/api/v1/playbooks/{name}"),
    ),
    "remediation action": (
        ("PUT", "/api/v1/remediation-actions/{name}"),
        ("PUT", "/api/v1/remediation-actions/{name}"),
        ("DELETE", "/api/v1/remediation-actions/{name}"),
    ),
    "workflow channel": (
        ("PUT", "/api/v1/workflow-channels/{name}"),
        ("PUT", "/api/v1/workflow-channels/{name}"),
        ("DELETE", "/api/v1/workflow-channels/{name}"),
    ),
    "drill scenario": (
        ("PUT", "/api/v1/drill-scenarios/{name}"),
        ("PUT", "/api/v1/drill-scenarios/{name}"),
        ("DELETE", "/api/v1/drill-scenarios/{name}"),
    ),
    "action item": (
        ("POST", "/api/v1/incidents/{ref}/action-items"),
        ("PUT", "/api/v1/action-items/{item_id}"),
        ("POST", "/api/v1/action-items/{item_id}/status"),  # won't do, with a reason
    ),
    "problem": (
        ("POST", "/api/v1/problems"),
        ("PUT", "/api/v1/problems/{problem_id}"),
        ("POST", "/api/v1/problems/{problem_id}/status"),  # resolved
    ),
    "tracker connection": (
        ("POST", "/api/v1/trackers/connections"),
        ("PATCH", "/api/v1/trackers/connections/{connection_id}"),
        ("DELETE", "/api/v1/trackers/connections/{connection_id}"),
    ),
    "webhook subscription": (
        ("POST", "/api/v1/webhook-subscriptions"),
        ("PATCH", "/api/v1/webhook-subscriptions/{subscription_id}"),
        ("DELETE", "/api/v1/webhook-subscriptions/{subscription_id}"),
    ),
}
# Created, and then only ever appended to or revoked by design: history, not configuration.
NOT_CONFIGURATION = {
    "/api/v1/incidents",
    # published on a status page and kept with its updates; a subscriber is removed, not edited
    "/api/v1/status-pages/{page}/incidents",
    "/api/v1/status-pages/{page}/incidents/{incident_id}/updates",
    "/api/v1/status-pages/{page}/subscribers",
    "/api/v1/incidents/{ref}/notes",
    "/api/v1/incidents/{ref}/chat-room",  # a war room asked for: engine state, archived with its incident
    "/api/v1/incidents/{ref}/stakeholder-updates",  # an update sent, kept on the incident's timeline (history)
    # A classification under a regime and a submission to the regulator: on the incident's timeline (history).
    "/api/v1/incidents/{ref}/clocks",
    "/api/v1/incidents/{ref}/clocks/{regime}/submissions",
    "/api/v1/incidents/{ref}/checklists",  # adds tasks, each retired as above
    "/api/v1/incidents/{ref}/participants/{user}",  # a person on an incident, removed by DELETE; in its timeline
    "/api/v1/incidents/{ref}/responders",  # a page into an incident, then answered: its history
    "/api/v1/drills",  # a drill that ran (ended by POST /drills/{id}/end), kept with its report
    "/api/v1/tokens",
    "/api/v1/reports",  # what a report became is an incident or a service request, each with its history
    "/api/v1/service-requests/{ref}/convert",  # opens an incident (history)
    "/api/v1/incidents/{ref}/convert-to-request",  # opens a service request (history)
    # A run of a workflow or an action on an incident: history (the run log), not configuration.
    "/api/v1/incidents/{ref}/workflows/{name}/run",
    "/api/v1/incidents/{ref}/actions/{name}/run",
    # An incident's postmortem and its review meetings: its learning, kept (moved back to draft, never deleted).
    "/api/v1/incidents/{ref}/postmortem",
    "/api/v1/incidents/{ref}/postmortem/meetings",
    "/api/v1/incidents/{ref}/postmortem/problem",  # a problem, edited and resolved as above
}


def _operations(api: ApiHarness) -> dict[tuple[str, str], dict[str, object]]:
    """Every operation the API publishes, from its OpenAPI document: (METHOD, path) → operation."""
    paths = api.client.get("/openapi.json").json()["paths"]
    return {(method.upper(), path): op for path, item in paths.items() for method, op in item.items()}


def test_every_object_has_create_edit_and_retire_routes(api: ApiHarness) -> None:
    operations = _operations(api)
    missing = [(name, step) for name, steps in LIFECYCLE.items() for step in steps if step not in operations]
    assert missing == []
    # Walk the API for every operation that creates something: each is one of the objects above, or history.
    creators = {path for (method, path), op in operations.items() if method == "POST" and "201" in op["responses"]}  # type: ignore[operator]
    covered = {create[1] for create, _, _ in LIFECYCLE.values()}
    assert len(creators) > 5
    assert creators - covered - NOT_CONFIGURATION == set()


def test_contact_methods_and_rules_are_edited_disabled_and_deleted(api: ApiHarness) -> None:
    ann = api.token_for("ann@example.com")
    body = {"name": "mail", "type": "email", "address": "ann@example.com"}
    cm = ok(api.post("/api/v1/users/ann@example.com/contact-methods", json=body, token=ann), 201)
    rule = ok(
        api.post(
            "/api/v1/users/ann@example.com/notification-rules",
            json={"urgency": "high", "contact_method_id": cm["id"]},
            token=ann,
        ),
        201,
    )
    edited = ok(api.patch(f"/api/v1/contact-methods/{cm['id']}", json={"address": "ann@example.org"}, token=ann))
    assert edited["address"] == "ann@example.org"
    assert (
        "email"
        in problem(api.patch(f"/api/v1/contact-methods/{cm['id']}", json={"address": "nope"}, token=ann), 422)["detail"]
    )
    assert (
        ok(api.patch(f"/api/v1/notification-rules/{rule['id']}", json={"delay": "5m"}, token=ann))["delay_seconds"]
        == 300
    )
    assert (
        "urgency"
        in problem(api.patch(f"/api/v1/notification-rules/{rule['id']}", json={"urgency": "x"}, token=ann), 422)[
            "detail"
        ]
    )

    ben = api.token_for("ben@example.com")
    problem(api.patch(f"/api/v1/contact-methods/{cm['id']}", json={"disabled": True}, token=ben), 403)
    problem(api.delete(f"/api/v1/notification-rules/{rule['id']}", token=ben), 403)

    # Once paged, the method is history: disabled, not deleted.
    ok(api.post(f"/api/v1/contact-methods/{cm['id']}/test", token=ann), 202)
    assert "disable it instead" in problem(api.delete(f"/api/v1/contact-methods/{cm['id']}", token=ann), 409)["detail"]
    assert ok(api.patch(f"/api/v1/contact-methods/{cm['id']}", json={"disabled": True}, token=ann))["disabled"] is True
    ok(api.delete(f"/api/v1/notification-rules/{rule['id']}", token=ann), 204)
    assert ok(api.get("/api/v1/users/ann@example.com/notification-rules", token=ann)) == []

    spare = ok(
        api.post("/api/v1/users/ann@example.com/contact-methods", json={**body, "name": "spare"}, token=ann), 201
    )
    ok(api.delete(f"/api/v1/contact-methods/{spare['id']}", token=ann), 204)
    problem(api.delete(f"/api/v1/contact-methods/{spare['id']}", token=ann), 404)


def test_overrides_and_silences_are_edited_in_place(api: ApiHarness) -> None:
    api.token_for("ann@example.com")
    api.token_for("ben@example.com")
    now = api.clock.now()
    layer = {"rotation": "daily", "start": (now - timedelta(days=1)).isoformat(), "users": ["ann@example.com"]}
    ok(api.post("/api/v1/schedules", json={"name": "primary", "layers": [layer]}), 201)
    start, end = now + timedelta(hours=1), now + timedelta(hours=3)
    override = ok(
        api.post(
            "/api/v1/schedules/primary/overrides",
            json={"user": "ben@example.com", "start": start.isoformat(), "end": end.isoformat()},
        ),
        201,
    )
    longer = ok(
        api.patch(
            f"/api/v1/schedules/primary/overrides/{override['id']}",
            json={"end": (end + timedelta(hours=2)).isoformat()},
        )
    )
    assert longer["id"] == override["id"]
    assert longer["end"].startswith((end + timedelta(hours=2)).strftime("%Y-%m-%dT%H"))
    assert (
        "after it starts"
        in problem(
            api.patch(f"/api/v1/schedules/primary/overrides/{override['id']}", json={"end": start.isoformat()}), 422
        )["detail"]
    )

    silence = ok(
        api.post(
            "/api/v1/silences",
            json={
                "matchers": [{"field": "labels.env", "op": "=", "value": "staging"}],
                "ends_at": end.isoformat(),
                "comment": "upgrade",
            },
        ),
        201,
    )
    extended = ok(
        api.client.put(
            f"/api/v1/silences/{silence['id']}",
            json={
                "matchers": [{"field": "labels.env", "op": "=", "value": "staging"}],
                "ends_at": (end + timedelta(days=1)).isoformat(),
                "comment": "upgrade takes longer",
            },
            headers=api.headers(),
        )
    )
    assert (extended["id"], extended["comment"]) == (silence["id"], "upgrade takes longer")
    assert len(ok(api.get("/api/v1/silences"))) == 1
