"""What the database deletes or clears by itself along with a deleted row (ON DELETE CASCADE / SET NULL) is in the
trail too, masked like any other entry: a user's tokens and contact methods, a service's integrations and webhook
subscriptions, a team's hold on its services. On both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import ApiHarness
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.audit.repository import AuditFilter
from tocsin.db.session import Database
from tocsin.users import service as users
from tocsin.users.models import User


def _new_entries(api: ApiHarness, after: int) -> list[AuditEntry]:
    with api.runtime.db.reader() as s:
        rows, _ = audit.list_entries(s, AuditFilter(), limit=500)
    return [e for e in reversed(rows) if e.id > after]


def _last_id(api: ApiHarness) -> int:
    entries = _new_entries(api, 0)
    return entries[-1].id if entries else 0


def _delete(api: ApiHarness, path: str) -> list[AuditEntry]:
    before = _last_id(api)
    response = api.client.delete(path, headers=api.headers())
    assert response.status_code == 204, response.text
    return _new_entries(api, before)


def _made(api: ApiHarness, method: str, path: str, body: Any) -> Any:
    response = api.client.request(method, path, json=body, headers=api.headers())
    assert response.status_code < 300, response.text
    return response.json()


def test_deleting_a_user_records_the_tokens_contact_methods_and_rules_that_go_with_them(api: ApiHarness) -> None:
    carol = _made(api, "POST", "/api/v1/users", {"email": "carol@example.com", "name": "Carol"})
    hook = "https://hooks.chat.test/services/T1/B2/carol-secret-path"
    cm = _made(
        api,
        "POST",
        "/api/v1/users/carol@example.com/contact-methods",
        {"name": "h", "type": "webhook", "address": hook},
    )
    rule = _made(
        api,
        "POST",
        "/api/v1/users/carol@example.com/notification-rules",
        {"urgency": "high", "contact_method_id": cm["id"]},
    )
    token = _made(api, "POST", "/api/v1/tokens", {"name": "ci", "user": "carol@example.com"})

    entries = _delete(api, "/api/v1/users/carol@example.com")
    assert sorted((e.action, e.object_id) for e in entries) == sorted(
        [
            ("user.deleted", str(carol["id"])),
            ("api_token.deleted", str(token["id"])),
            ("contact_method.deleted", str(cm["id"])),
            ("notification_rule.deleted", str(rule["id"])),
        ]
    )
    by_type = {e.object_type: e for e in entries}
    assert by_type["api_token"].data["before"]["name"] == "ci"
    assert by_type["api_token"].data["before"]["token_hash"] == "***"
    assert by_type["contact_method"].data["before"]["address"] == "***" + hook[-4:]
    dumped = json.dumps([e.data for e in entries])
    assert "carol-secret" not in dumped
    assert token["token"] not in dumped
    assert {(e.channel, e.actor_user_id) for e in entries} == {("api", api.admin_id)}


def test_deleting_a_service_records_its_integrations_and_subscriptions(api: ApiHarness) -> None:
    service = _made(api, "POST", "/api/v1/services", {"name": "shop"})
    integration = _made(
        api,
        "POST",
        "/api/v1/services/shop/integrations",
        {"type": "sentry", "name": "in", "signing_secret": "sig-secret-8877"},
    )
    subscription = _made(
        api,
        "POST",
        "/api/v1/webhook-subscriptions",
        {"name": "w", "url": "https://h.test/x/path-secret", "service_id": service["id"]},
    )

    entries = _delete(api, "/api/v1/services/shop")
    assert sorted((e.action, e.object_id) for e in entries) == sorted(
        [
            ("service.deleted", str(service["id"])),
            ("integration.deleted", str(integration["id"])),
            ("webhook_subscription.deleted", str(subscription["id"])),
        ]
    )
    by_type = {e.object_type: e for e in entries}
    assert by_type["integration"].data["before"]["name"] == "in"
    assert by_type["integration"].data["before"]["key"] == "***" + integration["key"][-4:]
    assert by_type["webhook_subscription"].data["before"]["url"] == "https://h.test/***"
    dumped = json.dumps([e.data for e in entries])
    for secret in ("sig-secret-8877", integration["key"], subscription["secret"], "path-secret"):
        assert secret not in dumped


def test_deleting_a_team_records_the_services_it_let_go_of(api: ApiHarness) -> None:
    team = _made(api, "POST", "/api/v1/teams", {"name": "ops"})
    service = _made(api, "POST", "/api/v1/services", {"name": "shop", "team": "ops"})

    entries = _delete(api, "/api/v1/teams/ops")
    assert sorted((e.action, e.object_id) for e in entries) == [
        ("service.updated", str(service["id"])),
        ("team.deleted", str(team["id"])),
    ]
    (let_go,) = [e for e in entries if e.object_type == "service"]
    assert let_go.data == {"before": {"team_id": team["id"]}, "after": {"team_id": None}}
    with api.runtime.db.reader() as s:
        assert audit.verify_chain(s)[1] is None


def test_a_parent_whose_attributes_were_expired_still_has_its_cascade_recorded(db: Database) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with db.unit_of_work() as s:
        dave = users.create_user(s, email="dave@example.com", name="Dave", role="responder", now=now)
        token, _ = users.create_token(s, dave, name="ci", now=now)
        dave_id, token_id = dave.id, token.id
    with db.unit_of_work() as s:
        found = s.get(User, dave_id)
        assert found is not None
        s.expire(found)
        s.delete(found)
    with db.reader() as s:
        (gone,) = audit.list_entries(s, AuditFilter(action="api_token.deleted"), limit=5)[0]
        (user,) = audit.list_entries(s, AuditFilter(action="user.deleted"), limit=5)[0]
    assert gone.object_id == str(token_id)
    assert gone.data["before"]["user_id"] == dave_id
    assert user.object_id == str(dave_id)
