"""``tocsin user deactivate|edit|delete`` and ``tocsin service|schedule|policy archive|delete`` on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_cli_people import cli, make_admin
from tocsin.core.errors import Unauthorized
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.users import service as users


def test_the_last_admin_keeps_the_role_and_stays_active_through_the_cli(db: Database) -> None:
    make_admin(db)
    for args in (
        ("user", "edit", "root@example.com", "--role", "responder"),
        ("user", "deactivate", "root@example.com"),
        ("user", "deactivate", "root@example.com", "--dry-run"),
        ("user", "delete", "root@example.com"),
    ):
        result = cli(db, *args)
        assert result.exit_code == 1, result.output
        assert "last active admin" in result.output
    with db.reader() as s:
        root = users.get_user(s, "root@example.com")
        assert (root.role, root.deactivated_at) == ("admin", None)


def test_deactivation_shows_the_gap_then_cuts_the_token(db: Database) -> None:
    make_admin(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        ann = users.create_user(s, email="ann@example.com", name="Ann", now=now)
        _, token = users.create_token(s, ann, name="laptop", now=now)
        schedule = oncall.create_schedule(s, name="primary", timezone="UTC", now=now)
        spec = oncall.layer_spec(
            s, name="l", rotation="daily", start=now - timedelta(days=1), end=None, users=["ann@example.com"]
        )
        oncall.set_layers(s, schedule, [spec])

    plan = cli(db, "user", "deactivate", "ann@example.com", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "schedule primary: gaps in the next 14 days" in plan.stdout
    assert "would deactivate ann@example.com" in plan.stdout
    with db.reader() as s:
        users.authenticate_token(s, token)

    done = cli(db, "user", "deactivate", "ann@example.com")
    assert done.exit_code == 0, done.output
    with db.reader() as s, pytest.raises(Unauthorized):
        users.authenticate_token(s, token)
    assert cli(db, "user", "reactivate", "ann@example.com").exit_code == 0
    with db.reader() as s:
        users.authenticate_token(s, token)


def test_services_schedules_and_policies_are_archived_not_deleted_with_history(db: Database) -> None:
    make_admin(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        service = services.create_service(s, name="checkout", now=now)
        incident = incidents.declare(
            s, service_id=service.id, title="down", actor=Actor(label="x", source="cli"), now=now
        )
        number = incident.number
        oncall.create_schedule(s, name="spare", timezone="UTC", now=now)

    refused = cli(db, "service", "archive", "checkout")
    assert refused.exit_code == 1
    assert f"#{number}" in refused.output
    with db.unit_of_work() as s:
        incidents.change_status(
            s, incidents.get(s, f"#{number}"), "resolved", actor=Actor(label="x", source="cli"), now=now
        )
    deleted = cli(db, "service", "delete", "checkout")
    assert deleted.exit_code == 1
    assert "archive it instead" in deleted.output
    assert cli(db, "service", "archive", "checkout").exit_code == 0
    listed = cli(db, "service", "list", "--json")
    assert listed.stdout.strip() == "[]"
    assert "checkout" in cli(db, "service", "list", "--archived").stdout
    with db.reader() as s:
        assert incidents.get(s, f"#{number}").title == "down"

    assert cli(db, "schedule", "archive", "spare").exit_code == 0
    assert cli(db, "schedule", "delete", "spare").exit_code == 0
    with db.reader() as s:
        assert oncall.list_schedules(s, include_archived=True) == []


def test_observers_and_responders_cannot_archive(db: Database) -> None:
    make_admin(db)
    with db.unit_of_work() as s:
        users.create_user(s, email="rita@example.com", name="Rita", now=datetime.now(UTC))
        services.create_service(s, name="checkout", now=datetime.now(UTC))
    result = cli(db, "service", "archive", "checkout", "--as", "rita@example.com")
    assert result.exit_code == 1
    assert "admin role" in result.output


def test_teams_and_contact_methods_are_edited_and_removed_from_the_cli(db: Database) -> None:
    make_admin(db)
    with db.unit_of_work() as s:
        ann = users.create_user(s, email="ann@example.com", name="Ann", now=datetime.now(UTC))
        from tocsin.notify import contacts

        cm = contacts.add_contact_method(
            s, user_id=ann.id, name="mail", type="email", address="ann@example.com", now=datetime.now(UTC)
        )
        cm_id = cm.id
    assert cli(db, "team", "create", "payments").exit_code == 0
    assert cli(db, "team", "add-member", "payments", "ann@example.com").exit_code == 0
    assert "ann@example.com (member)" in cli(db, "team", "list").stdout
    assert cli(db, "team", "edit", "payments", "--name", "billing").exit_code == 0
    assert cli(db, "team", "remove-member", "billing", "ann@example.com").exit_code == 0
    missing = cli(db, "team", "remove-member", "billing", "ann@example.com")
    assert missing.exit_code == 1
    assert "not a member" in missing.output
    assert cli(db, "team", "delete", "billing").exit_code == 0
    assert "billing" not in cli(db, "team", "list").stdout

    bad = cli(db, "contact", "edit", str(cm_id), "--address", "not-an-address")
    assert bad.exit_code == 1
    assert "email" in bad.output
    assert cli(db, "contact", "edit", str(cm_id), "--disabled").exit_code == 0
    assert "disabled" in cli(db, "contact", "list", "ann@example.com").stdout
    assert cli(db, "contact", "delete", str(cm_id), "--as", "ann@example.com").exit_code == 0
    assert "mail" not in cli(db, "contact", "list", "ann@example.com").stdout


def test_services_schedules_and_integrations_are_edited_from_the_cli(db: Database) -> None:
    make_admin(db)
    with db.unit_of_work() as s:
        service = services.create_service(s, name="checkout", now=datetime.now(UTC))
        integration_id = services.add_integration(s, service, name="am", type="alertmanager", now=datetime.now(UTC)).id
        oncall.create_schedule(s, name="primary", timezone="UTC", now=datetime.now(UTC))
    assert cli(db, "service", "edit", "checkout", "--name", "shop", "--urgency", "low").exit_code == 0
    bad = cli(db, "service", "edit", "shop", "--urgency", "urgent")
    assert bad.exit_code == 1
    assert "urgency must be one of" in bad.output
    assert cli(db, "schedule", "edit", "primary", "--timezone", "Europe/Berlin").exit_code == 0
    assert "unknown time zone" in cli(db, "schedule", "edit", "primary", "--timezone", "Mars/Base").output
    assert cli(db, "integration", "edit", str(integration_id), "--key", "new-key-0123456789").exit_code == 0
    with db.reader() as s:
        assert services.get_service(s, "shop").urgency == "low"
        assert oncall.get_schedule(s, "primary").timezone == "Europe/Berlin"
        assert services.get_integration(s, integration_id).key == "new-key-0123456789"
