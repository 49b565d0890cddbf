"""Every write route of the API against the five roles of a team-scoped organisation (``route_roles.py``),
walked through the request cases of the audit walk on SQLite and PostgreSQL: the roles a route refuses get a 403
and change nothing, then the least privileged role it allows performs the case. A route missing from the table
fails ``test_every_write_route_has_its_roles``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.access.route_roles import TABLE
from tests.audit.route_cases import CASES, INCIDENT_ROUTES, Case, State, _keep, _keep_delivery_and_send_it
from tests.audit.test_audit_routes import _write_routes, receiver  # noqa: F401 (a fixture)
from tests.conftest import ApiHarness
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

OPS = "ops"

# The walk's objects belong to the team ``ops``; its silences name their service, as everyone's but admins' must.
BODY_FOR_TEAM: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("POST", "/api/v1/services"): lambda b: {**b, "team": OPS},
    ("POST", "/api/v1/schedules"): lambda b: {**b, "team": OPS},
    ("POST", "/api/v1/escalation-policies"): lambda b: {**b, "team": OPS},
    ("PUT", "/api/v1/escalation-policies/{ref}"): lambda b: {**b, "team": OPS},
    ("POST", "/api/v1/silences"): lambda b: {**b, "service": "checkout"},
    ("PUT", "/api/v1/silences/{silence_id}"): lambda b: {**b, "service": "checkout"},
}


def _incident(state: State, key: str) -> str:
    return str(state[key])


# On a second service of the team, so that ``checkout`` can still be deleted (a service with incidents cannot).
def _keep_first(name: str) -> Callable[[State, Any, ApiHarness], None]:
    """The id of the first of the list a route answers with."""

    def keep(state: State, body: Any, _: ApiHarness) -> None:
        state[name] = body[0]["id"]

    return keep


def _a_stakeholder_group(state: State, api: ApiHarness) -> None:
    """A group every incident reaches, so that an update has somewhere to go."""
    from tocsin.stakeholders import service as stakeholders

    with api.runtime.db.unit_of_work() as s:
        if stakeholders.find_group(s, "walk") is None:
            spec = stakeholders.GroupSpec(name="walk", emails=["walk@example.org"])
            stakeholders.create_group(s, spec, now=api.clock.now())


def _attach_playbooks(state: State, api: ApiHarness) -> None:
    """What the workflows event consumer does when an incident opens: the matching playbooks are frozen onto it."""
    from tocsin.incidents import service as incidents
    from tocsin.workflows import service as workflows

    with api.runtime.db.unit_of_work() as s:
        workflows.attach_playbooks(s, incidents.get(s, state["incident2"]), now=api.clock.now())


INCIDENT_CASES = [
    Case(
        "PUT",
        "/api/v1/services/{ref}/escalation-policy",
        "/api/v1/services/storefront/escalation-policy",
        None,
        {"escalation_policy": "p1"},
    ),
    Case(
        "POST",
        "/api/v1/incidents",
        "/api/v1/incidents",
        None,
        lambda s: {"service_id": s["service_id"], "title": "checkout is down"},
        _keep("incident"),
    ),
    Case(
        "POST",
        "/api/v1/incidents",
        "/api/v1/incidents",
        None,
        lambda s: {"service_id": s["service_id"], "title": "checkout is slow"},
        _keep("incident2"),
    ),
    Case("PATCH", "/api/v1/incidents/{ref}", lambda s: f"/api/v1/incidents/{s['incident']}", None, {"title": "down"}),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/notes",
        lambda s: f"/api/v1/incidents/{s['incident']}/notes",
        None,
        {"text": "on it"},
    ),
    Case("POST", "/api/v1/incidents/{ref}/escalate", lambda s: f"/api/v1/incidents/{s['incident']}/escalate", None),
    Case(
        "POST", "/api/v1/incidents/{ref}/acknowledge", lambda s: f"/api/v1/incidents/{s['incident']}/acknowledge", None
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/reassign",
        lambda s: f"/api/v1/incidents/{s['incident']}/reassign",
        None,
        {"user": "bob@example.com"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/split",
        lambda s: f"/api/v1/incidents/{s['incident']}/split",
        None,
        {"alert_ids": [1]},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/merge",
        lambda s: f"/api/v1/incidents/{s['incident']}/merge",
        None,
        lambda s: {"into": str(s["incident2"])},
    ),
    Case("POST", "/api/v1/incidents/{ref}/resolve", lambda s: f"/api/v1/incidents/{s['incident2']}/resolve", None),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/reopen",
        lambda s: f"/api/v1/incidents/{s['incident2']}/reopen",
        None,
        {"message": "back again"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/response",
        lambda s: f"/api/v1/incidents/{s['incident2']}/response",
        None,
        {"status": "mitigated"},
    ),
    Case(
        "PUT",
        "/api/v1/incidents/{ref}/milestones/{name}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/milestones/impact_started",
        None,
        {"at": "2026-11-02T07:00:00Z", "reason": "graphs"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/tasks",
        lambda s: f"/api/v1/incidents/{s['incident2']}/tasks",
        None,
        {"title": "Fail over"},
        _keep("task"),
    ),
    Case(
        "PATCH",
        "/api/v1/incidents/{ref}/tasks/{task_id}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/tasks/{s['task']}",
        None,
        {"status": "done"},
    ),
    Case(
        "PUT",
        "/api/v1/checklist-templates/{name}",
        "/api/v1/checklist-templates/drill",
        None,
        {"items": [{"title": "Open a bridge"}]},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/checklists",
        lambda s: f"/api/v1/incidents/{s['incident2']}/checklists",
        None,
        {"template": "drill"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/roles",
        lambda s: f"/api/v1/incidents/{s['incident2']}/roles",
        None,
        {"role": "Scribe", "user": "bob@example.com"},
    ),
    Case(
        "DELETE",
        "/api/v1/incidents/{ref}/roles/{role}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/roles/Scribe",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/stakeholder-updates",
        lambda s: f"/api/v1/incidents/{s['incident2']}/stakeholder-updates",
        None,
        {"template": "{{incident.title}}: we are on it"},
        prepare=_a_stakeholder_group,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/clocks",
        lambda s: f"/api/v1/incidents/{s['incident2']}/clocks",
        None,
        {"regime": "gdpr-33"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/clocks/{regime}/submissions",
        lambda s: f"/api/v1/incidents/{s['incident2']}/clocks/gdpr-33/submissions",
        None,
        {"deadline": "notification", "summary": "Notified the authority"},
    ),
    # The service desk: a report by an observer, a request worked, paged, converted, and an incident turned back.
    Case(
        "POST",
        "/api/v1/reports",
        "/api/v1/reports",
        None,
        lambda s: {"service_id": s["service_id"], "summary": "Printer out of toner", "kind": "need"},
    ),
    Case(
        "POST",
        "/api/v1/service-requests",
        "/api/v1/service-requests",
        None,
        lambda s: {"service_id": s["service_id"], "title": "Access to the billing dashboard"},
        _keep("request", "number"),
    ),
    Case(
        "PATCH",
        "/api/v1/service-requests/{ref}",
        lambda s: f"/api/v1/service-requests/{s['request']}",
        None,
        {"assignee": "bob@example.com"},
    ),
    Case(
        "POST",
        "/api/v1/service-requests/{ref}/transition",
        lambda s: f"/api/v1/service-requests/{s['request']}/transition",
        None,
        {"status": "in_progress"},
    ),
    Case(
        "POST",
        "/api/v1/service-requests/{ref}/page",
        lambda s: f"/api/v1/service-requests/{s['request']}/page",
        None,
        {"message": "needed for the audit"},
    ),
    Case(
        "POST",
        "/api/v1/service-requests/{ref}/convert",
        lambda s: f"/api/v1/service-requests/{s['request']}/convert",
        None,
        remember=_keep("converted"),
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/convert-to-request",
        lambda s: f"/api/v1/incidents/{s['converted']}/convert-to-request",
        None,
        {"message": "routine after all"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/participants/{user}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/participants/bob@example.com",
        None,
    ),
    Case(
        "DELETE",
        "/api/v1/incidents/{ref}/participants/{user}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/participants/bob@example.com",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/responders",
        lambda s: f"/api/v1/incidents/{s['incident2']}/responders",
        None,
        {"user": "admin@example.com", "message": "need a second pair of eyes"},
        _keep_first("responder"),
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/responders/{request_id}/accept",
        lambda s: f"/api/v1/incidents/{s['incident2']}/responders/{s['responder']}/accept",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/responders",
        lambda s: f"/api/v1/incidents/{s['incident2']}/responders",
        None,
        {"user": "bob@example.com"},
        _keep_first("responder2"),
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/responders/{request_id}/decline",
        lambda s: f"/api/v1/incidents/{s['incident2']}/responders/{s['responder2']}/decline",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/workflows/{name}/run",
        lambda s: f"/api/v1/incidents/{s['incident2']}/workflows/walk-flow/run",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/actions/{name}/run",
        lambda s: f"/api/v1/incidents/{s['incident2']}/actions/walk-restart/run",
        None,
        None,
        _keep("action_run"),
    ),
    Case(
        "POST",
        "/api/v1/action-runs/{run_id}/approve",
        lambda s: f"/api/v1/action-runs/{s['action_run']}/approve",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/playbooks/{name}/steps/{index}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/playbooks/walk-book/steps/0",
        None,
        {"done": True},
        prepare=_attach_playbooks,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/type",
        lambda s: f"/api/v1/incidents/{s['incident2']}/type",
        None,
        {"type": "Desktop sprint"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/major",
        lambda s: f"/api/v1/incidents/{s['incident2']}/major",
        None,
        {"major": True, "reason": "all regions"},
    ),
    Case(
        "PUT",
        "/api/v1/incidents/{ref}/services/{service}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/services/checkout",
        None,
    ),
    Case(
        "DELETE",
        "/api/v1/incidents/{ref}/services/{service}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/services/checkout",
        None,
    ),
    # Learning (ADR 0029): the postmortem of the walk's second incident, reviewed by the team's member.
    Case(
        "POST",
        "/api/v1/incidents/{ref}/postmortem",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem",
        None,
        {"reviewers": ["max@example.com"]},
    ),
    Case(
        "PATCH",
        "/api/v1/incidents/{ref}/postmortem",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem",
        None,
        {"due_at": "2026-11-20T12:00:00Z"},
    ),
    Case(
        "PUT",
        "/api/v1/incidents/{ref}/postmortem/sections/{key}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem/sections/summary",
        None,
        {"body": "The pool ran dry.", "version": 1},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/postmortem/meetings",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem/meetings",
        None,
        {"starts_at": "2026-11-05T14:00:00Z"},
        _keep("meeting"),
    ),
    Case(
        "PUT",
        "/api/v1/incidents/{ref}/postmortem/meetings/{meeting_id}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem/meetings/{s['meeting']}",
        None,
        {"attended": ["max@example.com"], "decisions": "cap the pool"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/postmortem/status",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem/status",
        None,
        {"status": "in_review"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/postmortem/approve",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem/approve",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/action-items",
        lambda s: f"/api/v1/incidents/{s['incident2']}/action-items",
        None,
        {"title": "Cap the pool", "owner": "max@example.com"},
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/postmortem/problem",
        lambda s: f"/api/v1/incidents/{s['incident2']}/postmortem/problem",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/chat-room",
        lambda s: f"/api/v1/incidents/{s['incident2']}/chat-room",
        None,
        {"platform": "slack"},
    ),
    Case(
        "DELETE",
        "/api/v1/incidents/{ref}/chat-rooms/{platform}/members/{person}",
        lambda s: f"/api/v1/incidents/{s['incident2']}/chat-rooms/slack/members/nobody@example.com",
        None,
    ),
    Case(
        "POST",
        "/api/v1/incidents/{ref}/assist",
        lambda s: f"/api/v1/incidents/{s['incident2']}/assist",
        None,
        {"purpose": "summary"},
    ),
    # Last of the incident cases: once private, the incident is not found by those who may not act on it.
    Case(
        "POST",
        "/api/v1/incidents/{ref}/visibility",
        lambda s: f"/api/v1/incidents/{s['incident2']}/visibility",
        None,
        {"private": True, "team": "ops", "reason": "forensics"},
    ),
    # The policy is archived later, which a live service using it would prevent.
    Case(
        "PUT",
        "/api/v1/services/{ref}/escalation-policy",
        "/api/v1/services/storefront/escalation-policy",
        None,
        {"escalation_policy": None},
    ),
]


def _send_test_delivery(state: State, body: Any, api: ApiHarness) -> None:
    """As the audit walk's, but this walk's incidents are news for the subscription too: they are sent first."""
    state["delivery"] = body["id"]
    api.runtime.providers.register(WebhookProvider(guard=UrlGuard(["127.0.0.1"]), clock=api.clock, timeout=5))
    engine = api.runtime.build_engine(owner="role-walk")
    for module in engine.modules:
        if isinstance(module, EventDeliveryModule):
            module.gap = timedelta(0)
    engine.run_until_idle()
    sent = api.get(f"/api/v1/webhook-subscriptions/{state['subscription']}/deliveries").json()
    assert ("webhook.test", "delivered") in [(d["event_type"], d["status"]) for d in sent]


def _walk() -> list[Case]:
    """The audit walk's cases, with the incident routes once the service has its policy, and the team deleted
    last (so that its managers, not only admins, can be seen deleting its schedule and policy)."""
    cases: list[Case] = []
    last: list[Case] = []
    for case in CASES:
        (last if (case.method, case.route) == ("DELETE", "/api/v1/teams/{ref}") else cases).append(case)
        if (case.method, case.route) == ("PUT", "/api/v1/services/{ref}/escalation-policy"):
            cases.extend(INCIDENT_CASES)
    return cases + last


def test_every_write_route_has_its_roles(api: ApiHarness) -> None:
    routes = _write_routes(api)
    missing = routes - TABLE.keys()
    assert not missing, f"write routes without their roles in tests/access/route_roles.py: {sorted(missing)}"
    assert TABLE.keys() - routes == set(), "roles for routes the app no longer has"
    walked = {(c.method, c.route) for c in _walk()}
    assert walked == routes, f"routes the walk does not call: {sorted(routes - walked)}"
    assert walked >= INCIDENT_ROUTES


def _people(api: ApiHarness) -> dict[str, str]:
    tokens = {
        "other": api.token_for("wes@example.com"),
        "member": api.token_for("max@example.com"),
        "manager": api.token_for("mia@example.com"),
        "observer": api.token_for("olga@example.com", role="observer"),
        "admin": api.token,
    }
    with api.runtime.db.unit_of_work() as s:
        web = teams.create_team(s, name="web", now=api.clock.now())
        teams.set_member(s, web, users.get_user(s, "wes@example.com"), "manager")
        # An observer who manages a team still only reads: the organisation role caps the team role.
        teams.set_member(s, web, users.get_user(s, "olga@example.com"), "manager")
    return tokens


def _join_ops(api: ApiHarness) -> int:
    with api.runtime.db.unit_of_work() as s:
        ops = teams.get_team(s, OPS)
        teams.set_member(s, ops, users.get_user(s, "mia@example.com"), "manager")
        teams.set_member(s, ops, users.get_user(s, "max@example.com"), "member")
        teams.set_member(s, ops, users.get_user(s, "olga@example.com"), "member")
        storefront = services.create_service(s, name="storefront", team_id=ops.id, now=api.clock.now())
    return storefront.id


def test_each_role_gets_what_the_table_says(api: ApiHarness, receiver: str) -> None:  # noqa: F811
    tokens = _people(api)
    state: State = {"receiver": receiver}
    for case in _walk():
        key = (case.method, case.route)
        allowed = TABLE[key]
        if case.prepare is not None:
            case.prepare(state, api)
        path = case.path(state) if callable(case.path) else case.path
        body = case.body(state) if callable(case.body) else case.body
        if key in BODY_FOR_TEAM:
            body = BODY_FOR_TEAM[key](body)
        label = f"{case.method} {path}"
        for role, token in tokens.items():
            if role in allowed.roles:
                continue
            refused = api.client.request(case.method, path, json=body, headers=api.headers(token))
            assert refused.status_code == allowed.refused, f"{label} as {role}: {refused.status_code} {refused.text}"
            assert refused.headers["content-type"].startswith("application/problem+json"), label
        runner = "bob" if case.as_bob else allowed.who_runs()
        token = state["token_secret"] if case.as_bob else tokens[runner]
        response = api.client.request(case.method, path, json=body, headers=api.headers(token))
        if allowed.status is not None:
            assert response.status_code == allowed.status, f"{label} as {runner}: {response.text}"
            continue
        assert response.status_code < 300, f"{label} as {runner}: {response.status_code} {response.text}"
        payload = response.json() if response.content else None
        if case.remember is _keep_delivery_and_send_it:
            _send_test_delivery(state, payload, api)
        elif case.remember is not None:
            case.remember(state, payload, api)
        if key == ("PUT", "/api/v1/teams/{ref}/members/{user}"):
            state["service_id"] = _join_ops(api)
