"""``tocsin apply --prune`` and the last-admin rule through configuration files, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.test_cli_people import cli
from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.config.plan import Plan
from tocsin.core.errors import Conflict, TocsinError
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

FULL = """
users:
  - {email: alice@example.com, role: admin}
  - {email: bob@example.com}
teams:
  - {name: payments, members: [bob@example.com]}
schedules:
  - name: primary
    layers: [{rotation: weekly, start: 2026-10-26, handoff: "monday 09:00", users: [bob@example.com]}]
  - name: old
    layers: [{rotation: weekly, start: 2026-10-26, handoff: "monday 09:00", users: [bob@example.com]}]
escalation_policies:
  - {name: default, steps: [{targets: [{schedule: primary}]}]}
services:
  - name: checkout
    escalation_policy: default
    integrations: [{name: am, type: alertmanager}, {name: legacy-hook, type: generic}]
  - {name: legacy}
"""

SMALLER = """
users:
  - {email: alice@example.com, role: admin}
schedules:
  - name: primary
    layers: [{rotation: weekly, start: 2026-10-26, handoff: "monday 09:00", users: [bob@example.com]}]
services:
  - name: checkout
    escalation_policy: default
    integrations: [{name: am, type: alertmanager}]
"""


def apply(db: Database, text: str, *, dry_run: bool = False, prune: bool = False) -> Plan:
    with db.unit_of_work() as session:
        return apply_config(session, document.parse(text), now=NOW, dry_run=dry_run, prune=prune)


def test_apply_cannot_demote_the_last_admin_but_can_hand_the_role_over(db: Database) -> None:
    apply(db, "users: [{email: alice@example.com, role: admin}]")
    with pytest.raises(Conflict, match="last active admin"):
        apply(db, "users: [{email: alice@example.com, role: responder}]")
    with db.reader() as s:
        assert users.get_user(s, "alice@example.com").role == "admin"
    # Alice comes first in the file, yet Bob is promoted before she is demoted.
    apply(db, "users: [{email: alice@example.com, role: responder}, {email: bob@example.com, role: admin}]")
    with db.reader() as s:
        assert [u.role for u in users.list_users(s)] == ["responder", "admin"]


def test_prune_archives_what_the_file_no_longer_names_and_only_with_prune(db: Database) -> None:
    apply(db, FULL)
    with db.unit_of_work() as s:
        legacy = services.get_service(s, "legacy")
        actor = Actor(label="x", source="cli")
        incident = incidents.declare(s, service_id=legacy.id, title="old failure", actor=actor, now=NOW)
        incidents.change_status(s, incident, "resolved", actor=actor, now=NOW)

    assert not [c for c in apply(db, SMALLER).changes if c.action in ("archive", "deactivate", "delete")]

    plan = apply(db, SMALLER, dry_run=True, prune=True)
    removed = {(c.kind, c.key, c.action) for c in plan.changes if c.action in ("archive", "deactivate", "delete")}
    # Policies and teams have no section in SMALLER: they are not managed by it and stay.
    assert removed == {
        ("service", "legacy", "archive"),
        ("integration", "checkout/legacy-hook", "archive"),
        ("schedule", "old", "archive"),
        ("user", "bob@example.com", "deactivate"),
    }
    assert "  - archive   service legacy" in plan.lines()
    with db.reader() as s:
        assert [x.name for x in services.list_services(s)] == ["checkout", "legacy"]

    apply(db, SMALLER, prune=True)
    with db.reader() as s:
        assert [x.name for x in services.list_services(s)] == ["checkout"]
        assert [x.name for x in oncall.list_schedules(s)] == ["primary"]
        assert users.get_user(s, "bob@example.com").deactivated_at is not None
        assert incidents.get(s, f"#{incident.number}").title == "old failure"
        exported = export_config(s, now=NOW)
    assert "legacy" not in [x.name for x in exported.services]

    # Named again, it comes back from the archive rather than failing as a duplicate.
    plan = apply(db, FULL)
    assert "archived → restored" in plan.find("service", "legacy").fields  # type: ignore[union-attr]
    with db.reader() as s:
        assert "legacy" in [x.name for x in services.list_services(s)]


def test_prune_meets_the_same_refusals_as_the_api(db: Database) -> None:
    apply(db, FULL)
    with db.unit_of_work() as s:
        legacy = services.get_service(s, "legacy")
        incidents.declare(s, service_id=legacy.id, title="still open", actor=Actor(label="x", source="cli"), now=NOW)
    with pytest.raises(TocsinError, match=r"cannot archive service legacy: .*open incidents"):
        apply(db, SMALLER, prune=True)
    with pytest.raises(TocsinError, match="last active admin"):
        apply(db, "users: [{email: bob@example.com}]", prune=True)
    with db.reader() as s:
        assert [x.name for x in services.list_services(s)] == ["checkout", "legacy"]


def test_the_cli_shows_the_prune_plan(db: Database, tmp_path: object) -> None:
    apply(db, FULL)
    path = f"{tmp_path}/tocsin.yaml"
    with open(path, "w", encoding="utf-8") as f:
        f.write(SMALLER)
    result = cli(db, "apply", "-f", path, "--prune", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "archive   service legacy" in result.stdout
    assert "deactivate user bob@example.com" in result.stdout
    without = cli(db, "apply", "-f", path, "--dry-run")
    assert "archive" not in without.stdout


RULES = """
services: [{name: checkout}, {name: payments}]
event_rules:
  - {name: to-payments, matchers: [{field: labels.team, op: "=", value: pay}], actions: {service: payments}}
  - {name: drop-test, matchers: [{field: labels.env, op: "=", value: test}], actions: {suppress: true}}
silences:
  - name: migration
    matchers: [{field: labels.instance, op: "=", value: db1}]
    starts_at: 2026-11-01T11:00:00Z
    ends_at: 2026-11-01T14:00:00Z
    comment: schema migration
"""


def test_prune_deletes_rules_and_ends_silences_the_file_no_longer_names(db: Database) -> None:
    from tocsin.alerts import routing_service, silence_service

    apply(db, RULES)
    smaller = RULES.split("  - {name: drop-test")[0] + "silences: []\n"
    plan = apply(db, smaller, prune=True)
    removed = {(c.kind, c.key, c.action) for c in plan.changes if c.action in ("archive", "delete")}
    assert removed == {("event rule", "drop-test", "delete"), ("silence", "migration", "archive")}
    with db.reader() as s:
        assert [r.name for r in routing_service.list_event_rules(s)] == ["to-payments"]
        assert silence_service.list_silences(s, now=NOW) == []
        assert [r.name for r in silence_service.list_silences(s, now=NOW, include_expired=True)] == ["migration"]


CONTACTS = """
users:
  - email: alice@example.com
    role: admin
    contact_methods:
      - {name: work, type: email, address: alice@example.com}
      - {name: old-mail, type: email, address: old@example.com}
      - {name: pager, type: email, address: pager@example.com}
    notification_rules:
      - {urgency: high, contact: work}
      - {urgency: high, contact: old-mail, delay: 300}
  - email: bob@example.com
    contact_methods: [{name: mail, type: email, address: bob@example.com}]
"""

# Alice's list no longer names old-mail and pager; Bob's entry has no list, so his contact methods are not managed.
CONTACTS_SMALLER = """
users:
  - email: alice@example.com
    role: admin
    contact_methods: [{name: work, type: email, address: alice@example.com}]
    notification_rules: [{urgency: high, contact: work}]
  - {email: bob@example.com}
"""


def test_prune_disables_a_paged_contact_method_and_deletes_one_never_paged(db: Database, tmp_path: object) -> None:
    from tocsin.admin import contacts as contact_admin
    from tocsin.notify import contacts
    from tocsin.notify import repository as notify_repo

    apply(db, CONTACTS)
    with db.unit_of_work() as s:
        alice = users.get_user(s, "alice@example.com")
        pager = next(cm for cm in contacts.contact_methods(s, alice.id) if cm.name == "pager")
        notify_repo.add_notifications(
            s,
            [
                {
                    "idempotency_key": "test-page",
                    "kind": "status",
                    "incident_id": None,
                    "user_id": alice.id,
                    "contact_method_id": pager.id,
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": NOW,
                    "fence": 0,
                    "payload": {"text": "paged once"},
                    "created_at": NOW,
                }
            ],
        )
        pager_id = pager.id

    assert not [
        c for c in apply(db, CONTACTS_SMALLER).changes if c.kind == "contact method" and c.action != "unchanged"
    ]

    path = f"{tmp_path}/tocsin.yaml"
    with open(path, "w", encoding="utf-8") as f:
        f.write(CONTACTS_SMALLER)
    shown = cli(db, "apply", "-f", path, "--prune", "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert "- disable   contact method alice@example.com/pager" in shown.stdout
    assert "- delete    contact method alice@example.com/old-mail" in shown.stdout
    with db.reader() as s:
        assert len(contacts.contact_methods(s, users.get_user(s, "alice@example.com").id)) == 3

    plan = apply(db, CONTACTS_SMALLER, prune=True)
    removed = {
        (c.kind, c.key, c.action) for c in plan.changes if c.kind == "contact method" and c.action != "unchanged"
    }
    assert removed == {
        ("contact method", "alice@example.com/old-mail", "delete"),
        ("contact method", "alice@example.com/pager", "disable"),
    }
    assert plan.as_dict()["counts"]["disable"] == 1
    with db.reader() as s:
        alice_id = users.get_user(s, "alice@example.com").id
        left = {cm.name: cm.disabled for cm in contacts.contact_methods(s, alice_id)}
        assert left == {"work": False, "pager": True}
        assert [cm.name for cm in contacts.contact_methods(s, users.get_user(s, "bob@example.com").id)] == ["mail"]
        # The paging record still names the disabled method.
        assert contact_admin.was_paged(s, contact_admin.get_contact_method(s, pager_id))

    # Once disabled, it is not retired again.
    again = apply(db, CONTACTS_SMALLER, prune=True)
    assert [c for c in again.changes if c.kind == "contact method" and c.action != "unchanged"] == []
