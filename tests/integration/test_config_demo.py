"""The demo organisation goes through apply: idempotent, additive, and it hands out working keys."""

from __future__ import annotations

from datetime import UTC, datetime

from tocsin.config.demo import ADMIN_EMAIL, load_demo
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.notify import contacts
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.users.passwords import verify_password

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_demo_twice_is_idempotent_and_keeps_keys(db: Database) -> None:
    with db.unit_of_work() as s:
        first = load_demo(s, now=NOW)
    assert first.admin_password is not None
    assert first.plan.count("create") == len(first.plan.changes)
    first_keys = [(d.service, d.integration.type, d.integration.key) for d in first.integrations]
    assert len(first_keys) == 8
    assert [t for _, t, _ in first_keys] == ["pagerduty_v2"] * 4 + ["alertmanager"] * 4

    with db.unit_of_work() as s:
        second = load_demo(s, now=NOW)
    assert second.admin_password is None
    assert {c.action for c in second.plan.changes} == {"unchanged"}
    assert [(d.service, d.integration.type, d.integration.key) for d in second.integrations] == first_keys

    with db.reader() as s:
        admin = users.get_user(s, ADMIN_EMAIL)
        assert admin.role == "admin"
        assert admin.password_hash is not None
        assert verify_password(admin.password_hash, first.admin_password)
        assert len(users.list_users(s)) >= 3
        assert {t.name for t in teams.list_teams(s)} == {"Platform", "Payments"}
        assert len(services.list_services(s)) == 4
        [schedule] = oncall.list_schedules(s)
        assert [layer.rotation for layer in oncall.layers(s, schedule)] == ["weekly"]
        # Somebody is on call, and the policies page through it.
        assert oncall.users_on_call(s, schedule.id, NOW)
        for policy in escalation.list_policies(s):
            assert len(escalation.steps_of(s, policy)) == 2
            assert escalation.first_responders(s, policy, NOW)
        for user in users.list_users(s):
            assert [cm.type for cm in contacts.contact_methods(s, user.id)] == ["email"]
            assert contacts.rules(s, user.id)


def test_demo_leaves_existing_data_alone(db: Database) -> None:
    with db.unit_of_work() as s:
        mine = services.create_service(s, name="my-own-service", now=NOW)
        services.add_integration(s, mine, name="mine", type="generic", now=NOW)
        users.create_user(s, email="someone@example.com", name="Someone", now=NOW)
    with db.unit_of_work() as s:
        load_demo(s, now=NOW)
    with db.reader() as s:
        assert services.get_service(s, "my-own-service") is not None
        assert len(services.list_integrations(s, mine.id)) == 1
        assert users.get_user(s, "someone@example.com").name == "Someone"
