"""The route walk's table: one case per write route of the API, run in order as one scenario by
``tests/audit/test_audit_routes.py``, each with the audit entry it must leave (or why it leaves none)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.conftest import ApiHarness
from tocsin.db.encrypted import keyring_of
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.notify.models import Notification
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.statuspages.models import StatusPage as StatusPageRow

State = dict[str, Any]
WEBHOOK_URL = "https://hooks.chat.test/services/T000/B000/very-secret-path-7788"
RENEWED_WEBHOOK_URL = "https://hooks.chat.test/services/T000/B000/renewed-secret-path-6655"
SUBSCRIPTION_SECRET = "whsec_" + base64.b64encode(b"a key of thirty-two bytes, exact").decode()


@dataclass
class Case:
    method: str
    route: str  # the route's path template, as the app declares it
    path: Callable[[State], str] | str
    expect: tuple[str, str] | None  # (object type, action); None: not a configuration change
    body: Callable[[State], Any] | Any = None
    remember: Callable[[State, Any, ApiHarness], None] | None = None
    secrets: Callable[[State], list[str]] = field(default=lambda s: [])
    why_not: str = ""
    as_bob: bool = False  # called with Bob's own token instead of the admin's
    prepare: Callable[[State, ApiHarness], None] | None = None  # run before the request


def _keep(name: str, key: str = "id") -> Callable[[State, Any, ApiHarness], None]:
    def keep(state: State, body: Any, _: ApiHarness) -> None:
        state[name] = body[key]

    return keep


def _a_service_for_drills(state: State, api: ApiHarness) -> None:
    """A service of the drills' own with an integration (the walk's other service is deleted later on, which an
    incident of a drill would refuse); made before the walk's step looks for new audit entries."""
    from tocsin.services import service as services

    with api.runtime.db.unit_of_work() as s:
        service = services.create_service(s, name="drill-target", now=api.clock.now())
        services.add_integration(s, service, name="events", type="generic", now=api.clock.now())


def _an_incident_with_an_item(state: State, api: ApiHarness) -> None:
    """An incident with an action item, on a service of the walk's team when it has one (made before the walk's
    step looks for new audit entries)."""
    from tocsin.services import service as services
    from tocsin.teams import service as teams

    with api.runtime.db.unit_of_work() as s:
        team = next((t for t in teams.list_teams(s) if t.name == "ops"), None)
        service = services.create_service(
            s, name="learning-walk", team_id=team.id if team else None, now=api.clock.now()
        )
        service_id = service.id
    found = api.post("/api/v1/incidents", json={"service_id": service_id, "title": "pool exhausted"})
    assert found.status_code == 201, found.text
    state["learning_incident"] = found.json()["id"]
    item = api.post(f"/api/v1/incidents/{state['learning_incident']}/action-items", json={"title": "Cap the pool"})
    assert item.status_code == 201, item.text
    state["learning_item"] = item.json()["id"]


TRACKER_TOKEN = "jira-token-of-the-walk-9911"


def _a_remote_issue(state: State, api: ApiHarness) -> None:
    """A remote issue of the walk's tracker connection (what another domain asks for through the service)."""
    from tocsin.trackers import service as trackers

    with api.runtime.db.unit_of_work() as s:
        issue = trackers.request_issue(
            s, local_ref="action_item:1", connection=state["tracker"], title="Fix it", body="", now=api.clock.now()
        )
        state["remote_issue"] = issue.id


WALK_PASSWORD = "the walk's first passphrase 1"
ACTION_SECRET = "whsec_" + "QUNUSU9OIFNFQ1JFVCBPRiBUSElSVFktVFdPIEJZVEVT"


def _give_admin_a_password_and_a_session(state: State, api: ApiHarness) -> None:
    from tocsin.auth import sessions
    from tocsin.users import service as users
    from tocsin.users.passwords import hash_password

    with api.runtime.db.unit_of_work() as s:
        admin = users.get_user(s, api.admin_id)
        if admin.password_hash is None:
            admin.password_hash = hash_password(WALK_PASSWORD)
        sessions.new_session(s, user_id=admin.id, now=api.clock.now(), ip="192.0.2.7", user_agent="walk")
    with api.runtime.db.reader() as s:
        from tocsin.auth import accounts

        state["web_session"] = accounts.sessions_of(s, api.admin_id, now=api.clock.now())[-1].id


def _keep_code(state: State, _body: Any, api: ApiHarness) -> None:
    with api.runtime.db.reader() as s:
        sent = s.execute(select(Notification).where(Notification.kind == "verify")).scalars().all()
        # The text with the code is kept encrypted until it is sent (ADR 0017).
        text = keyring_of(s).open(sent[-1].payload["text"])
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None
    state["code"] = found.group(1)


def _keep_delivery_and_send_it(state: State, body: Any, api: ApiHarness) -> None:
    """Sends the queued test to the receiver on loopback, so that it can be redelivered (a pending one cannot)."""
    state["delivery"] = body["id"]
    api.runtime.providers.register(WebhookProvider(guard=UrlGuard(["127.0.0.1"]), clock=api.clock, timeout=5))
    engine = api.runtime.build_engine(owner="audit-walk")
    for module in engine.modules:
        if isinstance(module, EventDeliveryModule):
            module.gap = timedelta(0)
    engine.run_until_idle()
    sent = api.get(f"/api/v1/webhook-subscriptions/{state['subscription']}/deliveries").json()
    assert [(d["event_type"], d["status"]) for d in sent] == [("webhook.test", "delivered")]


PUBLISHED = "published on a status page, kept with its updates"


def _propose(state: State, api: ApiHarness) -> None:
    """Two proposals of automation on the walk's page, for a declared incident (one published, one discarded)."""
    from tocsin.statuspages.models import Impact, Proposal, ProposalStatus, UpdateStatus

    if "status_proposals" in state:
        return
    service = api.post("/api/v1/services", json={"name": "status-walk"}).json()
    incident = api.post("/api/v1/incidents", json={"service_id": service["id"], "title": "Checkout down"}).json()
    state["status_proposals"] = []
    with api.runtime.db.unit_of_work() as s:
        page = s.scalars(select(StatusPageRow).where(StatusPageRow.slug == "status")).one()
        for n in range(2):
            row = Proposal(
                page_id=page.id,
                key=f"walk:{n}:{incident['id']}",
                incident_id=incident["id"],
                kind="open",
                name="Checkout down",
                body="We are investigating.",
                update_status=UpdateStatus.INVESTIGATING,
                impact=Impact.MAJOR,
                component_statuses={},
                status=ProposalStatus.OPEN,
                created_at=api.clock.now(),
            )
            s.add(row)
            s.flush()
            state["status_proposals"].append(row.id)


LAYER = {"rotation": "weekly", "start": "2026-11-02T00:00:00Z", "users": ["bob@example.com"]}
POLICY = {"name": "p1", "steps": [{"targets": [{"kind": "user", "ref": "bob@example.com"}]}]}
NOT_CONFIG = "incident response, recorded in the incident's own timeline"

CASES: list[Case] = [
    Case(
        "POST",
        "/api/v1/users",
        "/api/v1/users",
        ("user", "user.created"),
        {"email": "bob@example.com", "name": "Bob", "role": "responder"},
        _keep("bob"),
    ),
    Case("PATCH", "/api/v1/users/{ref}", "/api/v1/users/bob@example.com", ("user", "user.updated"), {"name": "Rob"}),
    Case(
        "PUT",
        "/api/v1/users/{ref}/skills",
        "/api/v1/users/bob@example.com/skills",
        ("user_skill", "user_skill.created"),
        {"skills": ["postgres"]},
    ),
    Case("POST", "/api/v1/teams", "/api/v1/teams", ("team", "team.created"), {"name": "ops"}),
    Case("PATCH", "/api/v1/teams/{ref}", "/api/v1/teams/ops", ("team", "team.updated"), {"description": "night"}),
    Case(
        "PUT",
        "/api/v1/teams/{ref}/members/{user}",
        "/api/v1/teams/ops/members/bob@example.com",
        ("team_member", "team_member.created"),
        {"role": "member"},
    ),
    Case("POST", "/api/v1/services", "/api/v1/services", ("service", "service.created"), {"name": "checkout"}),
    Case("PATCH", "/api/v1/services/{ref}", "/api/v1/services/checkout", ("service", "service.updated"), {"tier": 2}),
    Case(
        "POST",
        "/api/v1/services/{ref}/integrations",
        "/api/v1/services/checkout/integrations",
        ("integration", "integration.created"),
        {"type": "grafana", "name": "mon", "signing_secret": "signing-secret-4455"},
        lambda s, b, _: s.update(integration=b["id"], integration_key=b["key"]),
        secrets=lambda s: ["signing-secret-4455", s["integration_key"]],
    ),
    Case(
        "PATCH",
        "/api/v1/integrations/{integration_id}",
        lambda s: f"/api/v1/integrations/{s['integration']}",
        ("integration", "integration.updated"),
        {"name": "monitoring"},
        secrets=lambda s: [s["integration_key"]],
    ),
    Case(
        "POST",
        "/api/v1/integrations/{integration_id}/archive",
        lambda s: f"/api/v1/integrations/{s['integration']}/archive",
        ("integration", "integration.updated"),
        secrets=lambda s: [s["integration_key"]],
    ),
    Case(
        "POST",
        "/api/v1/integrations/{integration_id}/unarchive",
        lambda s: f"/api/v1/integrations/{s['integration']}/unarchive",
        ("integration", "integration.updated"),
        secrets=lambda s: [s["integration_key"]],
    ),
    Case(
        "PUT",
        "/api/v1/services/{ref}/desk",
        "/api/v1/services/checkout/desk",
        ("service_desk", "service_desk.created"),
        {"desk_mode": "request"},
    ),
    Case(
        "POST",
        "/api/v1/services/{ref}/desk/public-link",
        "/api/v1/services/checkout/desk/public-link",
        ("service_desk", "service_desk.updated"),
        remember=_keep("desk_token", "token"),
        secrets=lambda s: [s["desk_token"]],
    ),
    Case(
        "DELETE",
        "/api/v1/services/{ref}/desk/public-link",
        "/api/v1/services/checkout/desk/public-link",
        ("service_desk", "service_desk.updated"),
    ),
    Case("POST", "/api/v1/services/{ref}/archive", "/api/v1/services/checkout/archive", ("service", "service.updated")),
    Case(
        "POST",
        "/api/v1/services/{ref}/unarchive",
        "/api/v1/services/checkout/unarchive",
        ("service", "service.updated"),
    ),
    Case(
        "POST",
        "/api/v1/tokens",
        "/api/v1/tokens",
        ("api_token", "api_token.created"),
        {"name": "ci", "user": "bob@example.com"},
        lambda s, b, _: s.update(token=b["id"], token_secret=b["token"]),
        secrets=lambda s: [s["token_secret"]],
    ),
    Case(
        "POST",
        "/api/v1/users/{ref}/contact-methods",
        "/api/v1/users/bob@example.com/contact-methods",
        ("contact_method", "contact_method.created"),
        {"name": "hook", "type": "webhook", "address": WEBHOOK_URL, "secret": "whsec-contact-9911"},
        _keep("webhook"),
        secrets=lambda s: ["very-secret-path", "whsec-contact-9911"],
    ),
    Case(
        "POST",
        "/api/v1/users/{ref}/notification-rules",
        "/api/v1/users/bob@example.com/notification-rules",
        ("notification_rule", "notification_rule.created"),
        lambda s: {"urgency": "high", "contact_method_id": s["webhook"]},
        _keep("rule"),
    ),
    Case(
        "PATCH",
        "/api/v1/notification-rules/{rule_id}",
        lambda s: f"/api/v1/notification-rules/{s['rule']}",
        ("notification_rule", "notification_rule.updated"),
        {"urgency": "low"},
    ),
    Case(
        "DELETE",
        "/api/v1/notification-rules/{rule_id}",
        lambda s: f"/api/v1/notification-rules/{s['rule']}",
        ("notification_rule", "notification_rule.deleted"),
    ),
    Case(
        "PATCH",
        "/api/v1/contact-methods/{cm_id}",
        lambda s: f"/api/v1/contact-methods/{s['webhook']}",
        ("contact_method", "contact_method.updated"),
        {"name": "chat hook", "address": RENEWED_WEBHOOK_URL},
        secrets=lambda s: ["very-secret-path", "renewed-secret-path"],
    ),
    Case(
        "POST",
        "/api/v1/users/{ref}/contact-methods",
        "/api/v1/users/bob@example.com/contact-methods",
        ("contact_method", "contact_method.created"),
        {"name": "spare", "type": "email", "address": "bob.spare@example.com"},
        _keep("spare"),
    ),
    Case(
        "DELETE",
        "/api/v1/contact-methods/{cm_id}",
        lambda s: f"/api/v1/contact-methods/{s['spare']}",
        ("contact_method", "contact_method.deleted"),
    ),
    Case(
        "PUT",
        "/api/v1/users/{ref}/oncall/preferences",
        "/api/v1/users/bob@example.com/oncall/preferences",
        ("user", "user.updated"),
        {"handoff_notifications": True},
    ),
    Case(
        "POST",
        "/api/v1/users/{ref}/oncall/ical-url",
        "/api/v1/users/bob@example.com/oncall/ical-url",
        ("user", "user.updated"),
        remember=lambda s, b, _: s.update(user_feed=b["ical_url"].rsplit("/", 1)[-1].removesuffix(".ics")),
        secrets=lambda s: [s["user_feed"]],
    ),
    Case(
        "POST",
        "/api/v1/users/{ref}/contact-methods",
        "/api/v1/users/bob@example.com/contact-methods",
        ("contact_method", "contact_method.created"),
        {"name": "phone", "type": "sms", "address": "+15550000003"},
        _keep("sms"),
        as_bob=True,
    ),
    Case(
        "POST",
        "/api/v1/contact-methods/{cm_id}/verify",
        lambda s: f"/api/v1/contact-methods/{s['sms']}/verify",
        None,
        remember=_keep_code,
        why_not="queues a code to the number; confirming it is the change",
        as_bob=True,
    ),
    Case(
        "POST",
        "/api/v1/contact-methods/{cm_id}/verify/confirm",
        lambda s: f"/api/v1/contact-methods/{s['sms']}/verify/confirm",
        ("contact_method", "contact_method.updated"),
        lambda s: {"code": s["code"]},
        as_bob=True,
    ),
    Case("DELETE", "/api/v1/tokens/{token_id}", lambda s: f"/api/v1/tokens/{s['token']}", ("api_token", "")),
    Case(
        "POST",
        "/api/v1/me/password",
        "/api/v1/me/password",
        ("user", "auth.password_changed"),
        {"current_password": WALK_PASSWORD, "new_password": "a second, longer passphrase 2"},
        prepare=_give_admin_a_password_and_a_session,
        secrets=lambda s: [WALK_PASSWORD, "a second, longer passphrase 2"],
    ),
    Case(
        "POST",
        "/api/v1/users/{ref}/password-reset",
        "/api/v1/users/bob@example.com/password-reset",
        ("user", "auth.password_reset"),
        remember=lambda s, b, _: s.update(temporary_password=b["temporary_password"]),
        secrets=lambda s: [s["temporary_password"]],
    ),
    Case(
        "DELETE",
        "/api/v1/me/sessions/{session_id}",
        lambda s: f"/api/v1/me/sessions/{s['web_session']}",
        ("user", "auth.session_revoked"),
        prepare=_give_admin_a_password_and_a_session,
    ),
    Case(
        "POST", "/api/v1/users/{ref}/deactivate", "/api/v1/users/bob@example.com/deactivate", ("user", "user.updated")
    ),
    Case(
        "POST", "/api/v1/users/{ref}/reactivate", "/api/v1/users/bob@example.com/reactivate", ("user", "user.updated")
    ),
    Case(
        "POST",
        "/api/v1/contact-methods/{cm_id}/test",
        lambda s: f"/api/v1/contact-methods/{s['webhook']}/test",
        None,
        why_not="queues a test message",
    ),
    Case(
        "POST",
        "/api/v1/schedules",
        "/api/v1/schedules",
        ("schedule_layer", "schedule_layer.created"),
        {"name": "primary", "layers": [LAYER]},
    ),
    Case(
        "PATCH",
        "/api/v1/schedules/{ref}",
        "/api/v1/schedules/primary",
        ("schedule", "schedule.updated"),
        {"description": "checkout primary"},
    ),
    Case(
        "POST", "/api/v1/schedules/{ref}/archive", "/api/v1/schedules/primary/archive", ("schedule", "schedule.updated")
    ),
    Case(
        "POST",
        "/api/v1/schedules/{ref}/unarchive",
        "/api/v1/schedules/primary/unarchive",
        ("schedule", "schedule.updated"),
    ),
    Case(
        "PUT",
        "/api/v1/schedules/{ref}/layers",
        "/api/v1/schedules/primary/layers",
        ("schedule_layer", ""),
        [{**LAYER, "rotation": "daily"}],
    ),
    Case(
        "POST",
        "/api/v1/schedules/{ref}/overrides",
        "/api/v1/schedules/primary/overrides",
        ("schedule_override", "schedule_override.created"),
        {"user": "bob@example.com", "start": "2026-11-03T09:00:00Z", "end": "2026-11-03T17:00:00Z"},
        _keep("override"),
    ),
    Case(
        "PATCH",
        "/api/v1/schedules/{ref}/overrides/{override_id}",
        lambda s: f"/api/v1/schedules/primary/overrides/{s['override']}",
        ("schedule_override", "schedule_override.updated"),
        {"end": "2026-11-03T18:00:00Z"},
    ),
    Case(
        "DELETE",
        "/api/v1/schedules/{ref}/overrides/{override_id}",
        lambda s: f"/api/v1/schedules/primary/overrides/{s['override']}",
        ("schedule_override", "schedule_override.deleted"),
    ),
    Case(
        "POST",
        "/api/v1/schedules/{ref}/ical-url",
        "/api/v1/schedules/primary/ical-url",
        ("schedule", "schedule.updated"),
        remember=lambda s, b, _: s.update(schedule_feed=b["ical_url"].rsplit("/", 1)[-1].removesuffix(".ics")),
        secrets=lambda s: [s["schedule_feed"]],
    ),
    Case(
        "POST",
        "/api/v1/escalation-policies",
        "/api/v1/escalation-policies",
        ("escalation_policy", "escalation_policy.created"),
        POLICY,
    ),
    Case(
        "PUT",
        "/api/v1/escalation-policies/{ref}",
        "/api/v1/escalation-policies/p1",
        ("escalation_policy", "escalation_policy.updated"),
        {**POLICY, "description": "checkout on-call", "repeat": 2},
    ),
    Case(
        "PUT",
        "/api/v1/workflow-channels/{name}",
        "/api/v1/workflow-channels/walk-room",
        ("workflow_channel", "workflow_channel.created"),
        {"provider": "teams", "address": "https://chat.example.com/workflows/channel-url-secret"},
        secrets=lambda s: ["channel-url-secret"],
    ),
    Case(
        "PUT",
        "/api/v1/remediation-actions/{name}",
        "/api/v1/remediation-actions/walk-restart",
        ("remediation_action", "remediation_action.created"),
        {
            "url": "http://127.0.0.1:9/restart?token=action-url-secret",
            "body": '{"title": "{{incident.title}}"}',
            "secret": ACTION_SECRET,
            "approval": True,
        },
        secrets=lambda s: [ACTION_SECRET, "action-url-secret"],
    ),
    Case(
        "PUT",
        "/api/v1/workflows/{name}",
        "/api/v1/workflows/walk-flow",
        ("workflow", "workflow.created"),
        {"trigger": {"event": "manual"}, "steps": [{"kind": "stakeholder_update", "message": "{{incident.title}}"}]},
    ),
    Case(
        "PUT",
        "/api/v1/playbooks/{name}",
        "/api/v1/playbooks/walk-book",
        ("playbook", "playbook.created"),
        {"guidance": "# Steps", "steps": [{"title": "Open a bridge"}]},
    ),
    Case(
        "POST",
        "/api/v1/workflows/simulate",
        "/api/v1/workflows/simulate",
        None,
        {"payload": {"severity": "SEV1"}},
        why_not="reads what would run, changes nothing",
    ),
    Case(
        "PUT",
        "/api/v1/services/{ref}/escalation-policy",
        "/api/v1/services/checkout/escalation-policy",
        ("service", "service.updated"),
        {"escalation_policy": "p1"},
    ),
    Case(
        "PUT",
        "/api/v1/event-rules",
        "/api/v1/event-rules",
        ("event_rule", "event_rule.created"),
        {"name": "mute", "matchers": [{"field": "labels.env", "value": "dev"}], "actions": {"suppress": True}},
    ),
    Case("DELETE", "/api/v1/event-rules/{name}", "/api/v1/event-rules/mute", ("event_rule", "event_rule.deleted")),
    Case(
        "PUT",
        "/api/v1/inhibit-rules",
        "/api/v1/inhibit-rules",
        ("inhibit_rule", "inhibit_rule.created"),
        {
            "name": "down",
            "source": [{"field": "labels.alertname", "value": "ClusterDown"}],
            "target": [{"field": "labels.alertname", "op": "!=", "value": "ClusterDown"}],
            "equal": ["labels.cluster"],
        },
    ),
    Case(
        "DELETE", "/api/v1/inhibit-rules/{name}", "/api/v1/inhibit-rules/down", ("inhibit_rule", "inhibit_rule.deleted")
    ),
    Case(
        "PUT",
        "/api/v1/noise-settings",
        "/api/v1/noise-settings",
        ("noise_setting", ""),
        {"flapping": {"max_changes": 3, "window_seconds": 600}},
    ),
    Case(
        "PUT",
        "/api/v1/services/{ref}/grouping",
        "/api/v1/services/checkout/grouping",
        ("grouping_rule", "grouping_rule.created"),
        {"group_by": ["cluster"], "window_seconds": 600},
    ),
    Case(
        "DELETE",
        "/api/v1/services/{ref}/grouping",
        "/api/v1/services/checkout/grouping",
        ("grouping_rule", "grouping_rule.deleted"),
    ),
    Case(
        "POST",
        "/api/v1/silences",
        "/api/v1/silences",
        ("silence", "silence.created"),
        {"matchers": [{"field": "labels.a", "value": "b"}], "ends_at": "2026-11-02T10:00:00Z", "comment": "upgrade"},
        _keep("silence"),
    ),
    Case(
        "PUT",
        "/api/v1/silences/{silence_id}",
        lambda s: f"/api/v1/silences/{s['silence']}",
        ("silence", "silence.updated"),
        {"matchers": [{"field": "labels.a", "value": "b"}], "ends_at": "2026-11-02T12:00:00Z", "comment": "longer"},
    ),
    Case(
        "DELETE",
        "/api/v1/silences/{silence_id}",
        lambda s: f"/api/v1/silences/{s['silence']}",
        ("silence", "silence.updated"),
    ),
    Case(
        "POST",
        "/api/v1/route-test",
        "/api/v1/route-test",
        None,
        # The integration made above is a signed Grafana one: the payload is in its format.
        lambda s: {
            "payload": {"alerts": [{"status": "firing", "labels": {"alertname": "x"}}]},
            "integration_key": s["integration_key"],
        },
        why_not="a simulation that stores nothing",
    ),
    Case(
        "DELETE",
        "/api/v1/integrations/{integration_id}",
        lambda s: f"/api/v1/integrations/{s['integration']}",
        ("integration", "integration.deleted"),
        secrets=lambda s: [s["integration_key"]],
    ),
    Case(
        "DELETE",
        "/api/v1/teams/{ref}/members/{user}",
        "/api/v1/teams/ops/members/bob@example.com",
        ("team_member", "team_member.deleted"),
    ),
    Case("DELETE", "/api/v1/services/{ref}", "/api/v1/services/checkout", ("service", "service.deleted")),
    Case("DELETE", "/api/v1/teams/{ref}", "/api/v1/teams/ops", ("team", "team.deleted")),
    Case(
        "POST",
        "/api/v1/escalation-policies/{ref}/archive",
        "/api/v1/escalation-policies/p1/archive",
        ("escalation_policy", "escalation_policy.updated"),
    ),
    Case(
        "POST",
        "/api/v1/escalation-policies/{ref}/unarchive",
        "/api/v1/escalation-policies/p1/unarchive",
        ("escalation_policy", "escalation_policy.updated"),
    ),
    Case(
        "DELETE",
        "/api/v1/escalation-policies/{ref}",
        "/api/v1/escalation-policies/p1",
        ("escalation_policy", "escalation_policy.deleted"),
    ),
    Case("DELETE", "/api/v1/schedules/{ref}", "/api/v1/schedules/primary", ("schedule", "schedule.deleted")),
    Case(
        "POST",
        "/api/v1/users",
        "/api/v1/users",
        ("user", "user.created"),
        {"email": "carol@example.com", "name": "Carol", "role": "responder"},
    ),
    Case("DELETE", "/api/v1/users/{ref}", "/api/v1/users/carol@example.com", ("user", "user.deleted")),
    Case(
        "POST",
        "/api/v1/webhook-subscriptions",
        "/api/v1/webhook-subscriptions",
        ("webhook_subscription", "webhook_subscription.created"),
        lambda s: {"name": "chat", "url": s["receiver"] + "/hook-secret-path-3344"},
        lambda s, b, _: s.update(subscription=b["id"], subscription_secret=b["secret"]),
        secrets=lambda s: [s["subscription_secret"], "hook-secret-path"],
    ),
    Case(
        "PATCH",
        "/api/v1/webhook-subscriptions/{subscription_id}",
        lambda s: f"/api/v1/webhook-subscriptions/{s['subscription']}",
        ("webhook_subscription", "webhook_subscription.updated"),
        {"name": "chat ops", "secret": SUBSCRIPTION_SECRET, "event_types": ["incident.resolved"]},
        secrets=lambda s: [s["subscription_secret"], SUBSCRIPTION_SECRET],
    ),
    Case(
        "POST",
        "/api/v1/webhook-subscriptions/{subscription_id}/test",
        lambda s: f"/api/v1/webhook-subscriptions/{s['subscription']}/test",
        None,
        remember=_keep_delivery_and_send_it,
        why_not="queues a webhook.test delivery; the delivery log records it",
    ),
    Case(
        "POST",
        "/api/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
        lambda s: f"/api/v1/webhook-subscriptions/{s['subscription']}/deliveries/{s['delivery']}/redeliver",
        None,
        why_not="sends a logged delivery again; the delivery log records it",
    ),
    Case(
        "PUT",
        "/api/v1/incident-roles/{name}",
        "/api/v1/incident-roles/Liaison",
        ("incident_role", "incident_role.created"),
        {"description": "Talks to the vendor", "instructions": "Open a ticket with the vendor."},
    ),
    Case(
        "DELETE",
        "/api/v1/incident-roles/{name}",
        "/api/v1/incident-roles/Liaison",
        ("incident_role", "incident_role.deleted"),
    ),
    Case(
        "PUT",
        "/api/v1/checklist-templates/{name}",
        "/api/v1/checklist-templates/comms",
        ("checklist_template", "checklist_template.created"),
        {"items": [{"title": "Post to the status page", "due_minutes": 15}]},
    ),
    Case(
        "DELETE",
        "/api/v1/checklist-templates/{name}",
        "/api/v1/checklist-templates/comms",
        ("checklist_template", "checklist_template.deleted"),
    ),
    Case(
        "PUT",
        "/api/v1/incident-types/{name}",
        "/api/v1/incident-types/Vendor outage",
        ("incident_type", "incident_type.created"),
        {"severity": "SEV4", "required_roles": ["Scribe"], "pages": False},
    ),
    Case(
        "PUT",
        "/api/v1/assist/type-policies/{type_name}",
        "/api/v1/assist/type-policies/Vendor outage",
        ("assist_type_policy", "assist_type_policy.created"),
        {"private_allowed": True},
    ),
    Case(
        "DELETE",
        "/api/v1/incident-types/{name}",
        "/api/v1/incident-types/Vendor outage",
        ("incident_type", "incident_type.deleted"),
    ),
    Case(
        "PUT",
        "/api/v1/incident-categories/{name}",
        "/api/v1/incident-categories/facilities",
        ("incident_category", "incident_category.created"),
        {"description": "Power and cooling"},
    ),
    Case(
        "DELETE",
        "/api/v1/incident-categories/{name}",
        "/api/v1/incident-categories/facilities",
        ("incident_category", "incident_category.deleted"),
    ),
    Case(
        "PUT",
        "/api/v1/severities/{name}",
        "/api/v1/severities/SEV0",
        ("severity_level", "severity_level.created"),
        {"description": "Existential", "position": 0},
    ),
    Case(
        "DELETE",
        "/api/v1/severities/{name}",
        "/api/v1/severities/SEV0",
        ("severity_level", "severity_level.deleted"),
    ),
    Case(
        "DELETE",
        "/api/v1/workflows/{name}",
        "/api/v1/workflows/walk-flow",
        ("workflow", "workflow.deleted"),
    ),
    Case(
        "DELETE",
        "/api/v1/playbooks/{name}",
        "/api/v1/playbooks/walk-book",
        ("playbook", "playbook.deleted"),
    ),
    Case(
        "DELETE",
        "/api/v1/workflow-channels/{name}",
        "/api/v1/workflow-channels/walk-room",
        ("workflow_channel", "workflow_channel.deleted"),
        secrets=lambda s: ["channel-url-secret"],
    ),
    Case(
        "DELETE",
        "/api/v1/remediation-actions/{name}",
        "/api/v1/remediation-actions/walk-restart",
        ("remediation_action", "remediation_action.deleted"),
        secrets=lambda s: [ACTION_SECRET, "action-url-secret"],
    ),
    Case(
        "PUT",
        "/api/v1/drill-scenarios/{name}",
        "/api/v1/drill-scenarios/db-failover",
        ("drill_scenario", "drill_scenario.created"),
        {"service": "drill-target", "payload": {"summary": "Primary database down", "severity": "critical"}},
        prepare=_a_service_for_drills,
    ),
    Case(
        "POST",
        "/api/v1/drills",
        "/api/v1/drills",
        None,
        {"scenario": "db-failover"},
        _keep("drill"),
        why_not="runs a drill: its incident's timeline and the drill's report record it",
    ),
    Case(
        "POST",
        "/api/v1/drills/{drill_id}/end",
        lambda s: f"/api/v1/drills/{s['drill']}/end",
        None,
        why_not="ends a drill: its incident's timeline and the drill's report record it",
    ),
    Case(
        "DELETE",
        "/api/v1/drill-scenarios/{name}",
        "/api/v1/drill-scenarios/db-failover",
        ("drill_scenario", "drill_scenario.deleted"),
    ),
    # Learning from incidents (ADR 0029): templates and rules are configuration; action items and problems are
    # written about incidents (kept with their own history).
    Case(
        "PUT",
        "/api/v1/postmortem-templates/{name}",
        "/api/v1/postmortem-templates/short",
        ("postmortem_template", "postmortem_template.created"),
        {"sections": [{"key": "summary", "title": "Summary"}, {"key": "lessons", "title": "Lessons"}]},
    ),
    Case(
        "PUT",
        "/api/v1/postmortem-rules",
        "/api/v1/postmortem-rules",
        ("postmortem_rule", "postmortem_rule.created"),
        [{"min_severity": "SEV1", "template": "short"}],
    ),
    Case(
        "PUT",
        "/api/v1/postmortem-rules",
        "/api/v1/postmortem-rules",
        ("postmortem_rule", "postmortem_rule.deleted"),
        [],
    ),
    Case(
        "DELETE",
        "/api/v1/postmortem-templates/{name}",
        "/api/v1/postmortem-templates/short",
        ("postmortem_template", "postmortem_template.deleted"),
    ),
    Case(
        "PUT",
        "/api/v1/action-items/{item_id}",
        lambda s: f"/api/v1/action-items/{s['learning_item']}",
        None,
        {"title": "Cap the pool", "success_criterion": "an alert fires at 80%"},
        why_not="an action item of an incident: its learning, not configuration",
        prepare=_an_incident_with_an_item,
    ),
    Case(
        "POST",
        "/api/v1/action-items/{item_id}/status",
        lambda s: f"/api/v1/action-items/{s['learning_item']}/status",
        None,
        {"status": "in_progress"},
        why_not="an action item moves: its learning, not configuration",
    ),
    Case(
        "POST",
        "/api/v1/problems",
        "/api/v1/problems",
        None,
        lambda s: {"title": "Pool exhaustion", "incidents": [str(s["learning_incident"])]},
        _keep("problem"),
        why_not="a problem behind incidents: their learning, not configuration",
    ),
    Case(
        "PUT",
        "/api/v1/problems/{problem_id}",
        lambda s: f"/api/v1/problems/{s['problem']}",
        None,
        {"title": "Pool exhaustion", "workaround": "Restart the pods."},
        why_not="a problem behind incidents: their learning, not configuration",
    ),
    Case(
        "POST",
        "/api/v1/problems/{problem_id}/incidents",
        lambda s: f"/api/v1/problems/{s['problem']}/incidents",
        None,
        lambda s: {"incident": str(s["learning_incident"])},
        why_not="links an incident to a problem: their learning, not configuration",
    ),
    Case(
        "POST",
        "/api/v1/problems/{problem_id}/status",
        lambda s: f"/api/v1/problems/{s['problem']}/status",
        None,
        {"status": "known_error"},
        why_not="a problem becomes a known error: its workaround is shown on incidents, recorded on their timelines",
    ),
    Case(
        "PUT",
        "/api/v1/tier-costs/{tier}",
        "/api/v1/tier-costs/1",
        ("tier_cost", "tier_cost.created"),
        {"cost_per_minute": 250.0},
    ),
    Case(
        "PATCH",
        "/api/v1/analytics/settings",
        "/api/v1/analytics/settings",
        ("analytics_settings", "analytics_settings.created"),
        {"sleep_start": 23, "weekly_sleep_interruptions": 2},
    ),
    Case(
        "POST",
        "/api/v1/status-pages",
        "/api/v1/status-pages",
        ("status_page", "status_page.created"),
        {"slug": "status", "name": "Status"},
    ),
    Case(
        "PATCH",
        "/api/v1/status-pages/{page}",
        "/api/v1/status-pages/status",
        ("status_page", "status_page.updated"),
        {"brand_color": "#000000"},
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/groups",
        "/api/v1/status-pages/status/groups",
        ("status_component_group", "status_component_group.created"),
        {"name": "Shop"},
        _keep("status_group"),
    ),
    Case(
        "PATCH",
        "/api/v1/status-pages/{page}/groups/{group_id}",
        lambda s: f"/api/v1/status-pages/status/groups/{s['status_group']}",
        ("status_component_group", "status_component_group.updated"),
        {"position": 2},
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/components",
        "/api/v1/status-pages/status/components",
        ("status_component", "status_component.created"),
        {"name": "Checkout"},
        _keep("status_component"),
    ),
    Case(
        "PATCH",
        "/api/v1/status-pages/{page}/components/{component_id}",
        lambda s: f"/api/v1/status-pages/status/components/{s['status_component']}",
        ("status_component", "status_component.updated"),
        {"description": "Paying for an order", "status": "degraded_performance"},
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/incidents",
        "/api/v1/status-pages/status/incidents",
        None,
        lambda s: {
            "name": "Slow checkout",
            "body": "Investigating.",
            "components": {str(s["status_component"]): "partial_outage"},
        },
        _keep("status_incident"),
        why_not=PUBLISHED,
    ),
    Case(
        "PATCH",
        "/api/v1/status-pages/{page}/incidents/{incident_id}",
        lambda s: f"/api/v1/status-pages/status/incidents/{s['status_incident']}",
        None,
        {"impact": "major"},
        why_not=PUBLISHED,
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/incidents/{incident_id}/updates",
        lambda s: f"/api/v1/status-pages/status/incidents/{s['status_incident']}/updates",
        None,
        {"status": "identified", "body": "Found it."},
        why_not=PUBLISHED,
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/maintenances",
        "/api/v1/status-pages/status/maintenances",
        None,
        {"name": "Upgrade", "scheduled_for": "2026-11-03T10:00:00Z", "scheduled_until": "2026-11-03T11:00:00Z"},
        _keep("status_maintenance"),
        why_not=PUBLISHED,
    ),
    Case(
        "PATCH",
        "/api/v1/status-pages/{page}/maintenances/{maintenance_id}",
        lambda s: f"/api/v1/status-pages/status/maintenances/{s['status_maintenance']}",
        None,
        {"name": "Database upgrade"},
        why_not=PUBLISHED,
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/subscribers",
        "/api/v1/status-pages/status/subscribers",
        None,
        {"url": "https://hooks.example.com/status"},
        _keep("status_subscriber"),
        why_not="a subscriber of the page, as those who subscribe themselves",
    ),
    Case(
        "DELETE",
        "/api/v1/status-pages/{page}/subscribers/{subscriber_id}",
        lambda s: f"/api/v1/status-pages/status/subscribers/{s['status_subscriber']}",
        None,
        why_not="a subscriber of the page, as those who subscribe themselves",
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/proposals/{proposal_id}/publish",
        lambda s: f"/api/v1/status-pages/status/proposals/{s['status_proposals'][0]}/publish",
        None,
        {},
        why_not=PUBLISHED,
        prepare=_propose,
    ),
    Case(
        "POST",
        "/api/v1/status-pages/{page}/proposals/{proposal_id}/discard",
        lambda s: f"/api/v1/status-pages/status/proposals/{s['status_proposals'][1]}/discard",
        None,
        why_not=PUBLISHED,
    ),
    Case(
        "DELETE",
        "/api/v1/status-pages/{page}/components/{component_id}",
        lambda s: f"/api/v1/status-pages/status/components/{s['status_component']}",
        ("status_component", "status_component.deleted"),
    ),
    Case(
        "DELETE",
        "/api/v1/status-pages/{page}/groups/{group_id}",
        lambda s: f"/api/v1/status-pages/status/groups/{s['status_group']}",
        ("status_component_group", "status_component_group.deleted"),
    ),
    Case(
        "DELETE",
        "/api/v1/status-pages/{page}",
        "/api/v1/status-pages/status",
        ("status_page", "status_page.deleted"),
    ),
    # Runbooks (ADR 0030).
    Case(
        "POST",
        "/api/v1/runbooks",
        "/api/v1/runbooks",
        ("runbook", "runbook.created"),
        {
            "title": "Disk full",
            "body": "# Steps",
            "matchers": [{"field": "labels.alertname", "op": "=", "value": "DiskFull"}],
        },
    ),
    Case(
        "PUT",
        "/api/v1/runbooks/{ref}",
        "/api/v1/runbooks/disk-full",
        ("runbook", "runbook.updated"),
        {"title": "Disk full", "body": "# Steps\n\n1. Free space", "base_version": 1},
    ),
    Case(
        "DELETE",
        "/api/v1/runbooks/{ref}",
        "/api/v1/runbooks/disk-full",
        ("runbook", "runbook.deleted"),
    ),
    # Stakeholder groups (ADR 0028).
    Case(
        "POST",
        "/api/v1/stakeholder-groups",
        "/api/v1/stakeholder-groups",
        ("stakeholder_group", "stakeholder_group.created"),
        {"name": "Leadership", "emails": ["board@example.org"], "min_severity": "SEV2"},
    ),
    Case(
        "PUT",
        "/api/v1/stakeholder-groups/{ref}",
        "/api/v1/stakeholder-groups/Leadership",
        ("stakeholder_group", "stakeholder_group.updated"),
        {"name": "Leadership", "emails": ["board@example.org"], "private_ok": True},
    ),
    Case(
        "DELETE",
        "/api/v1/stakeholder-groups/{ref}",
        "/api/v1/stakeholder-groups/Leadership",
        ("stakeholder_group", "stakeholder_group.deleted"),
    ),
    # Regulatory regimes (ADR 0032): created or replaced by PUT, never deleted.
    Case(
        "PUT",
        "/api/v1/regimes/{key}",
        "/api/v1/regimes/walk-regime",
        ("compliance_regime", "compliance_regime.created"),
        {"name": "Walk", "deadlines": [{"key": "report", "rules": [{"after": "PT72H", "anchor": "awareness"}]}]},
    ),
    Case(
        "POST",
        "/api/v1/trackers/connections",
        "/api/v1/trackers/connections",
        ("tracker_connection", "tracker_connection.created"),
        {
            "name": "jira",
            "kind": "jira",
            "base_url": "https://acme.atlassian.net",
            "project": "OPS",
            "token": TRACKER_TOKEN,
            "auth_scheme": "basic",
            "username": "bot@example.org",
        },
        lambda s, b, _: s.update(tracker=b["id"], tracker_secret=b["webhook_secret"]),
        secrets=lambda s: [TRACKER_TOKEN, s["tracker_secret"]],
    ),
    Case(
        "PATCH",
        "/api/v1/trackers/connections/{connection_id}",
        lambda s: f"/api/v1/trackers/connections/{s['tracker']}",
        ("tracker_connection", "tracker_connection.updated"),
        {"project": "SRE", "token": TRACKER_TOKEN + "-new"},
        secrets=lambda s: [TRACKER_TOKEN, s["tracker_secret"]],
    ),
    Case(
        "POST",
        "/api/v1/trackers/issues/{issue_id}/retry",
        lambda s: f"/api/v1/trackers/issues/{s['remote_issue']}/retry",
        None,
        prepare=_a_remote_issue,
        why_not="sends a remote issue's pending work again; the issue keeps its attempts and last error",
    ),
    Case(
        "POST",
        "/api/v1/action-items/{item_id}/tracker",
        lambda s: f"/api/v1/action-items/{s['learning_item']}/tracker",
        None,
        lambda s: {"connection": str(s["tracker"])},
        why_not="an action item sent to the team's tracker: its learning, not configuration",
    ),
    Case(
        "DELETE",
        "/api/v1/trackers/connections/{connection_id}",
        lambda s: f"/api/v1/trackers/connections/{s['tracker']}",
        ("tracker_connection", "tracker_connection.deleted"),
        secrets=lambda s: [TRACKER_TOKEN],
    ),
    Case(
        "DELETE",
        "/api/v1/webhook-subscriptions/{subscription_id}",
        lambda s: f"/api/v1/webhook-subscriptions/{s['subscription']}",
        ("webhook_subscription", "webhook_subscription.deleted"),
        secrets=lambda s: [SUBSCRIPTION_SECRET, "hook-secret-path"],
    ),
]

INCIDENT_ROUTES = {
    ("POST", "/api/v1/incidents"),
    ("PATCH", "/api/v1/incidents/{ref}"),
    ("POST", "/api/v1/incidents/{ref}/acknowledge"),
    ("POST", "/api/v1/incidents/{ref}/resolve"),
    ("POST", "/api/v1/incidents/{ref}/reassign"),
    ("POST", "/api/v1/incidents/{ref}/notes"),
    ("POST", "/api/v1/incidents/{ref}/merge"),
    ("POST", "/api/v1/incidents/{ref}/split"),
    ("POST", "/api/v1/incidents/{ref}/escalate"),
    ("POST", "/api/v1/incidents/{ref}/response"),
    ("POST", "/api/v1/incidents/{ref}/reopen"),
    ("PUT", "/api/v1/incidents/{ref}/milestones/{name}"),
    ("POST", "/api/v1/incidents/{ref}/tasks"),
    ("PATCH", "/api/v1/incidents/{ref}/tasks/{task_id}"),
    ("POST", "/api/v1/incidents/{ref}/checklists"),
    ("POST", "/api/v1/incidents/{ref}/roles"),
    ("DELETE", "/api/v1/incidents/{ref}/roles/{role}"),
    # The service desk: reports and service requests are history (each request keeps its own timeline).
    ("POST", "/api/v1/reports"),
    ("POST", "/api/v1/service-requests"),
    ("PATCH", "/api/v1/service-requests/{ref}"),
    ("POST", "/api/v1/service-requests/{ref}/transition"),
    ("POST", "/api/v1/service-requests/{ref}/page"),
    ("POST", "/api/v1/service-requests/{ref}/convert"),
    ("POST", "/api/v1/incidents/{ref}/convert-to-request"),
    ("POST", "/api/v1/incidents/{ref}/participants/{user}"),
    ("DELETE", "/api/v1/incidents/{ref}/participants/{user}"),
    ("POST", "/api/v1/incidents/{ref}/visibility"),
    ("POST", "/api/v1/incidents/{ref}/responders"),
    ("POST", "/api/v1/incidents/{ref}/responders/{request_id}/accept"),
    ("POST", "/api/v1/incidents/{ref}/responders/{request_id}/decline"),
    ("POST", "/api/v1/incidents/{ref}/workflows/{name}/run"),
    ("POST", "/api/v1/incidents/{ref}/actions/{name}/run"),
    ("POST", "/api/v1/incidents/{ref}/playbooks/{name}/steps/{index}"),
    ("POST", "/api/v1/action-runs/{run_id}/approve"),
    ("POST", "/api/v1/incidents/{ref}/type"),
    ("POST", "/api/v1/incidents/{ref}/major"),
    ("PUT", "/api/v1/incidents/{ref}/services/{service}"),
    ("DELETE", "/api/v1/incidents/{ref}/services/{service}"),
    ("POST", "/api/v1/incidents/{ref}/stakeholder-updates"),
    # Learning (ADR 0029): an incident's postmortem, its meetings and items are its history.
    ("POST", "/api/v1/incidents/{ref}/postmortem"),
    ("PATCH", "/api/v1/incidents/{ref}/postmortem"),
    ("POST", "/api/v1/incidents/{ref}/postmortem/status"),
    ("POST", "/api/v1/incidents/{ref}/postmortem/approve"),
    ("PUT", "/api/v1/incidents/{ref}/postmortem/sections/{key}"),
    ("POST", "/api/v1/incidents/{ref}/postmortem/meetings"),
    ("PUT", "/api/v1/incidents/{ref}/postmortem/meetings/{meeting_id}"),
    ("POST", "/api/v1/incidents/{ref}/postmortem/problem"),
    ("POST", "/api/v1/incidents/{ref}/action-items"),
    ("POST", "/api/v1/incidents/{ref}/clocks"),
    ("POST", "/api/v1/incidents/{ref}/clocks/{regime}/submissions"),
    # A war room asked for: engine state, kept on the incident's timeline.
    ("POST", "/api/v1/incidents/{ref}/chat-room"),
    # Removing someone from a war room: engine state, kept on the incident's timeline.
    ("DELETE", "/api/v1/incidents/{ref}/chat-rooms/{platform}/members/{person}"),
    # Asking the model: the request is kept with its prompt for admins to read (assist_requests), not configuration.
    ("POST", "/api/v1/incidents/{ref}/assist"),
}
