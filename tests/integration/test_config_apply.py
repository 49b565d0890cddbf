"""Configuration as code against a real database: plans, idempotence, updates, dry runs, errors, round trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.notify import contacts
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

README_EXAMPLE = """
users:
  - email: alice@example.com
    name: Alice Example
    timezone: Europe/Berlin
    role: admin
    contact_methods:
      - {name: mail, type: email, address: alice@example.com}
      - {name: hook, type: webhook, address: "https://hooks.example.com/alice"}
    notification_rules:
      - {urgency: high, contact: mail, delay: 0s}
      - {urgency: high, contact: hook, delay: 2m}
teams:
  - {name: Payments, members: [alice@example.com]}
schedules:
  - name: Payments primary
    timezone: Europe/Berlin
    layers:
      - {name: weekly, rotation: weekly, handoff: "monday 09:00", start: 2026-11-02, users: [alice@example.com, bob@example.com]}
escalation_policies:
  - name: Payments default
    repeat: 2
    steps:
      - {targets: [{schedule: Payments primary}], delay: 10m}
      - {targets: [{user: carol@example.com}], delay: 15m}
services:
  - name: checkout-api
    team: Payments
    urgency: high
    escalation_policy: Payments default
    integrations:
      - {name: prometheus, type: alertmanager, key: 0123456789abcdef0123456789abcdef}
      - {name: events, type: pagerduty_v2}
"""  # noqa: E501 — verbatim from the README

PEOPLE = """
users:
  - {email: bob@example.com, name: Bob}
  - {email: carol@example.com, name: Carol}
"""


def apply(db: Database, text: str, *, dry_run: bool = False, now: datetime = NOW):  # type: ignore[no-untyped-def]
    config = document.parse(text)
    with db.unit_of_work() as session:
        return apply_config(session, config, now=now, dry_run=dry_run)


def counts(db: Database) -> dict[str, int]:
    with db.reader() as s:
        return {
            "users": len(users.list_users(s)),
            "teams": len(teams.list_teams(s)),
            "schedules": len(oncall.list_schedules(s)),
            "policies": len(escalation.list_policies(s)),
            "services": len(services.list_services(s)),
            "integrations": len(services.list_integrations(s)),
        }


EMPTY = {"users": 0, "teams": 0, "schedules": 0, "policies": 0, "services": 0, "integrations": 0}


def test_readme_example_applies_then_is_unchanged(db: Database) -> None:
    apply(db, PEOPLE)
    first = apply(db, README_EXAMPLE)
    assert {c.action for c in first.changes} == {"create"}
    assert [(c.kind, c.key) for c in first.changes] == [
        ("user", "alice@example.com"),
        ("contact method", "alice@example.com/mail"),
        ("contact method", "alice@example.com/hook"),
        ("team", "Payments"),
        ("schedule", "Payments primary"),
        ("escalation policy", "Payments default"),
        ("service", "checkout-api"),
        ("integration", "checkout-api/prometheus"),
        ("integration", "checkout-api/events"),
    ]
    second = apply(db, README_EXAMPLE)
    assert {c.action for c in second.changes} == {"unchanged"}
    assert len(second.changes) == len(first.changes)
    assert "apply never deletes" in "\n".join(second.lines())

    with db.reader() as s:
        alice = users.get_user(s, "alice@example.com")
        assert (alice.name, alice.role, alice.timezone) == ("Alice Example", "admin", "Europe/Berlin")
        methods = {cm.id: cm for cm in contacts.contact_methods(s, alice.id)}
        assert sorted((cm.name, cm.type, cm.address) for cm in methods.values()) == [
            ("hook", "webhook", "https://hooks.example.com/alice"),
            ("mail", "email", "alice@example.com"),
        ]
        assert sorted(
            (r.urgency, methods[r.contact_method_id].name, r.delay_seconds) for r in contacts.rules(s, alice.id)
        ) == [
            ("high", "hook", 120),
            ("high", "mail", 0),
        ]
        team = teams.get_team(s, "Payments")
        assert [u.email for u, _ in teams.members(s, team)] == ["alice@example.com"]
        schedule = oncall.get_schedule(s, "Payments primary")
        [layer] = oncall.layers(s, schedule)
        # Monday 2 November 2026, 09:00 in Berlin (CET, UTC+1).
        assert layer.start.replace(tzinfo=UTC) == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        bob = users.get_user(s, "bob@example.com")
        carol = users.get_user(s, "carol@example.com")
        assert layer.user_ids == [alice.id, bob.id]
        assert oncall.users_on_call(s, schedule.id, datetime(2026, 11, 10, 12, 0, tzinfo=UTC)) == (str(bob.id),)
        policy = escalation.get_policy(s, "Payments default")
        assert policy.repeat == 2
        assert [(st.targets, st.delay_seconds) for st in escalation.steps_of(s, policy)] == [
            ([{"kind": "schedule", "ref": str(schedule.id)}], 600),
            ([{"kind": "user", "ref": str(carol.id)}], 900),
        ]
        service = services.get_service(s, "checkout-api")
        assert (service.team_id, service.escalation_policy_id, service.urgency) == (team.id, policy.id, "high")
        keys = {i.name: i.key for i in services.list_integrations(s, service.id)}
        assert keys["prometheus"] == "0123456789abcdef0123456789abcdef"
        assert len(keys["events"]) == 32
        assert keys["events"] != keys["prometheus"]


def test_changed_fields_show_as_update_and_are_written(db: Database) -> None:
    apply(db, PEOPLE)
    apply(db, README_EXAMPLE)
    changed = (
        README_EXAMPLE.replace(
            "urgency: high\n    escalation_policy", "urgency: low\n    ack_timeout: 30m\n    escalation_policy"
        )
        .replace("name: Alice Example", "name: Alice Exemplar")
        .replace("delay: 15m", "delay: 20m")
        .replace("members: [alice@example.com]", "members: [bob@example.com], managers: [alice@example.com]")
    )
    plan = apply(db, changed)
    by_key = {(c.kind, c.key): c for c in plan.changes}
    assert by_key[("service", "checkout-api")].action == "update"
    assert set(by_key[("service", "checkout-api")].fields) == {"urgency: 'high' → 'low'", "ack_timeout: none → 30m"}
    assert by_key[("user", "alice@example.com")].fields == ("name: 'Alice Example' → 'Alice Exemplar'",)
    assert by_key[("escalation policy", "Payments default")].fields == ("steps",)
    assert by_key[("team", "Payments")].fields == ("members",)
    assert by_key[("schedule", "Payments primary")].action == "unchanged"
    assert by_key[("integration", "checkout-api/events")].action == "unchanged"
    assert plan.count("update") == 4

    with db.reader() as s:
        service = services.get_service(s, "checkout-api")
        assert (service.urgency, service.ack_timeout_seconds) == ("low", 1800)
        assert users.get_user(s, "alice@example.com").name == "Alice Exemplar"
        policy = escalation.get_policy(s, "Payments default")
        assert [st.delay_seconds for st in escalation.steps_of(s, policy)] == [600, 1200]
        roster = {u.email: role for u, role in teams.members(s, teams.get_team(s, "Payments"))}
        assert roster == {"alice@example.com": "manager", "bob@example.com": "member"}
    assert {c.action for c in apply(db, changed).changes} == {"unchanged"}


def test_fields_left_out_are_not_touched(db: Database) -> None:
    apply(db, PEOPLE)
    apply(db, README_EXAMPLE)
    plan = apply(db, "services: [{name: checkout-api}]\nusers: [{email: alice@example.com}]")
    assert {c.action for c in plan.changes} == {"unchanged"}
    with db.reader() as s:
        service = services.get_service(s, "checkout-api")
        assert service.escalation_policy_id is not None
        assert len(services.list_integrations(s, service.id)) == 2
        alice = users.get_user(s, "alice@example.com")
        assert alice.role == "admin"
        assert len(contacts.rules(s, alice.id)) == 2


def test_null_clears_a_nullable_field(db: Database) -> None:
    apply(db, PEOPLE)
    apply(db, README_EXAMPLE)
    plan = apply(db, "services: [{name: checkout-api, escalation_policy: null, team: null}]")
    [change] = plan.changes
    assert set(change.fields) == {"escalation_policy: 'Payments default' → none", "team: 'Payments' → none"}
    with db.reader() as s:
        service = services.get_service(s, "checkout-api")
        assert (service.escalation_policy_id, service.team_id) == (None, None)


def test_dry_run_writes_nothing(db: Database) -> None:
    plan = apply(db, PEOPLE + README_EXAMPLE.replace("users:\n", "", 1), dry_run=True)
    assert plan.dry_run
    assert plan.count("create") == 11
    assert "Dry run: nothing was written." in plan.summary()
    assert counts(db) == EMPTY

    apply(db, PEOPLE)
    apply(db, README_EXAMPLE)
    plan = apply(
        db, README_EXAMPLE.replace("urgency: high\n    escalation", "urgency: low\n    escalation"), dry_run=True
    )
    assert plan.find("service", "checkout-api").fields == ("urgency: 'high' → 'low'",)  # type: ignore[union-attr]
    with db.reader() as s:
        assert services.get_service(s, "checkout-api").urgency == "high"


INVALID = [
    ("users: [{email: a@example.com, nmae: A}]", "users[0].nmae: unknown field"),
    ("services: [{name: s, tier: high}]", "services[0].tier: Input should be a valid integer"),
    (
        "services: [{name: s, integrations: [{name: x, type: nagios}]}]",
        "services[0].integrations[0].type: must be one of",
    ),
    ("services: [{name: s, ack_timeout: soon}]", "services[0].ack_timeout: not a duration"),
    ("schedules: [{name: s, timezone: Mars/Olympus}]", "schedules[0].timezone: unknown time zone 'Mars/Olympus'"),
    (
        "users: [{email: a@example.com}]\nteams: [{name: T, members: [a@example.com, ghost@example.com]}]",
        "teams[0].members[1]: unknown user ghost@example.com",
    ),
    (
        "users: [{email: a@example.com, contact_methods: [{name: mail, type: email, address: a@example.com}],"
        " notification_rules: [{urgency: high, contact: pager}]}]",
        "users[0].notification_rules[0].contact: a@example.com has no contact method named 'pager'",
    ),
    (
        "users: [{email: a@example.com}]\nschedules: [{name: S, layers: [{rotation: daily, start: 2026-11-02,"
        " users: [a@example.com, ghost@example.com]}]}]",
        "schedules[0].layers[0].users[1]: unknown user ghost@example.com",
    ),
    (
        "users: [{email: a@example.com}]\nescalation_policies: [{name: P, steps: [{targets: [{schedule: Nope}]}]}]",
        "escalation_policies[0].steps[0].targets[0].schedule: unknown schedule 'Nope'",
    ),
    (
        "users: [{email: a@example.com}]\nservices: [{name: s, escalation_policy: Nope}]",
        "services[0].escalation_policy: unknown escalation policy 'Nope'",
    ),
    (
        "services: [{name: a, integrations: [{name: x, type: generic, key: 0123456789abcdef}]},"
        " {name: b, integrations: [{name: y, type: generic, key: 0123456789abcdef}]}]",
        "services[1].integrations[0].key: integration key '0123456789abcdef' is already defined",
    ),
]


def test_invalid_file_names_the_path_and_writes_nothing(db: Database) -> None:
    # One database for all cases: each must leave it as empty as it found it.
    for text, expected in INVALID:
        with pytest.raises(InvalidInput) as raised:
            apply(db, text)
        messages = [raised.value.detail, *raised.value.errors]
        assert any(expected in m for m in messages), (expected, messages)
        assert counts(db) == EMPTY, text


def test_error_while_writing_rolls_back_the_whole_file(db: Database) -> None:
    text = """
users: [{email: a@example.com}]
teams: [{name: T, members: [a@example.com]}]
schedules:
  - name: S
    layers: [{rotation: daily, start: 2026-11-02, users: [a@example.com]}]
    overrides: [{user: a@example.com, start: "2026-11-05T10:00:00Z", end: "2026-11-05T09:00:00Z"}]
"""
    with pytest.raises(InvalidInput, match=r"schedules\[0\]\.overrides\[0\]: an override must end after it starts"):
        apply(db, text)
    assert counts(db) == EMPTY


def test_explicit_key_is_kept_and_a_key_of_another_integration_is_refused(db: Database) -> None:
    key = "R0uting-Key_from-PagerDuty-0001"
    apply(db, f"services: [{{name: a, integrations: [{{name: pd, type: pagerduty_v2, key: {key}}}]}}]")
    with db.reader() as s:
        [integration] = services.list_integrations(s)
        assert integration.key == key
    with pytest.raises(InvalidInput) as raised:
        apply(db, f"services: [{{name: b, integrations: [{{name: pd, type: pagerduty_v2, key: {key}}}]}}]")
    assert raised.value.errors == [
        "services[0].integrations[0].key: already the key of integration 'pd' of service 'a'"
    ]
    assert counts(db)["services"] == 1
    # Changing the key of an integration on purpose is an update.
    plan = apply(db, "services: [{name: a, integrations: [{name: pd, type: pagerduty_v2, key: abcdefabcdefabcdef}]}]")
    assert plan.find("integration", "a/pd").fields == ("key",)  # type: ignore[union-attr]


ROUND_TRIP = """
users:
  - {email: alice@example.com, name: Alice, timezone: Europe/Berlin, role: admin,
     contact_methods: [{name: mail, type: email, address: alice@example.com},
                       {name: sms, type: sms, address: "+4915100000"}],
     notification_rules: [{urgency: high, contact: mail, delay: 0s}, {urgency: high, contact: sms, delay: 5m},
                          {urgency: low, contact: mail, delay: 1h}]}
  - {email: bob@example.com, name: Bob, role: responder}
  - {email: carol@example.com, name: Carol, role: observer, timezone: America/New_York}
teams:
  - {name: Payments, description: Money in, members: [bob@example.com], managers: [alice@example.com]}
  - {name: "2024", members: []}
schedules:
  - name: Payments primary
    timezone: Europe/Berlin
    team: Payments
    description: Business hours and nights
    layers:
      - {name: days, rotation: weekly, start: 2026-10-29, handoff: "monday 09:00",
         users: [alice@example.com, bob@example.com],
         restrictions: [{days: [mon, tue, wed, thu, fri], start: "9:00", end: "17:00"}]}
      - {name: follow the sun, rotation: custom, shift_length: 8h, start: "2026-11-02T06:00:00+00:00",
         end: 2027-01-01, users: [carol@example.com, bob@example.com]}
      - {rotation: daily, start: 2026-11-02, handoff: "02:30", users: [bob@example.com]}
    overrides:
      - {user: carol@example.com, start: "2026-12-24T18:00:00", end: "2026-12-26T09:00:00", replaces: bob@example.com}
escalation_policies:
  - name: Payments default
    team: "2024"
    description: Wake the primary, then the team
    repeat: 3
    steps:
      - {targets: [{schedule: Payments primary}, {user: alice@example.com}], delay: 90s}
      - {targets: [{team: "2024"}, {team: Payments}], delay: 1h30m}
services:
  - {name: checkout-api, team: Payments, urgency: severity_based, auto_resolve: false, ack_timeout: 45m, tier: 2,
     description: Orders, escalation_policy: Payments default,
     integrations: [{name: events, type: pagerduty_v2}, {name: grafana, type: grafana}, {name: cron, type: generic}]}
  - {name: "12", integrations: []}
"""


def test_export_then_apply_round_trips_unchanged(db: Database) -> None:
    first = apply(db, ROUND_TRIP)
    assert first.count("create") == len(first.changes)
    assert {c.action for c in apply(db, ROUND_TRIP).changes} == {"unchanged"}

    with db.reader() as s:
        exported = export_config(s, now=NOW)
    for text in (document.to_yaml(exported), document.to_json(exported)):
        plan = apply(db, text)
        assert {c.action for c in plan.changes} == {"unchanged"}, [c for c in plan.changes if c.action != "unchanged"]
        assert len(plan.changes) == len(first.changes)

    # The export holds what was applied, in the same format.
    data = document.to_data(exported)
    schedule = data["schedules"][0]
    assert schedule["layers"][0]["start"] == "2026-11-02"
    assert schedule["layers"][0]["handoff"] == "monday 09:00"
    assert schedule["layers"][0]["restrictions"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    assert schedule["layers"][1]["shift_length"] == "8h"
    assert schedule["layers"][2]["name"] == "layer 3"
    assert schedule["layers"][2]["handoff"] == "02:30"
    assert schedule["overrides"] == [
        {
            "user": "carol@example.com",
            "start": "2026-12-24T18:00:00+01:00",
            "end": "2026-12-26T09:00:00+01:00",
            "replaces": "bob@example.com",
        }
    ]
    policy = data["escalation_policies"][0]
    assert policy["steps"][1] == {"targets": [{"team": "2024"}, {"team": "Payments"}], "delay": "1h30m"}
    service = next(x for x in data["services"] if x["name"] == "checkout-api")
    assert service["ack_timeout"] == "45m"
    assert service["auto_resolve"] is False

    # Into an empty database, the export recreates the same configuration, keys included.
    with db.reader() as s:
        keys_before = sorted(i.key for i in services.list_integrations(s))
    from tests.conftest import _wipe

    _wipe(db)
    plan = apply(db, document.to_yaml(exported))
    assert plan.count("create") == len(first.changes)
    with db.reader() as s:
        assert sorted(i.key for i in services.list_integrations(s)) == keys_before
        again = export_config(s, now=NOW)
    assert document.to_yaml(again) == document.to_yaml(exported)


def test_ended_overrides_are_not_exported_and_new_ones_are_added(db: Database) -> None:
    apply(db, ROUND_TRIP)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    with db.reader() as s:
        assert "overrides" not in document.to_data(export_config(s, now=later))["schedules"][0]
    extra = ROUND_TRIP.replace(
        "    overrides:\n",
        '    overrides:\n      - {user: alice@example.com, start: "2026-11-20T00:00:00Z", end: 2026-11-21}\n',
    )
    plan = apply(db, extra)
    assert plan.find("schedule", "Payments primary").fields == ("overrides: +1",)  # type: ignore[union-attr]
    with db.reader() as s:
        assert len(oncall.overrides(s, oncall.get_schedule(s, "Payments primary"))) == 2


def test_children_update_in_place_and_rules_may_name_stored_contact_methods(db: Database) -> None:
    apply(db, PEOPLE)
    apply(db, README_EXAMPLE)
    with db.reader() as s:
        alice = users.get_user(s, "alice@example.com")
        hook_id = next(cm.id for cm in contacts.contact_methods(s, alice.id) if cm.name == "hook")
    plan = apply(
        db,
        """
users:
  - email: alice@example.com
    contact_methods: [{name: hook, type: webhook, address: "https://hooks.example.com/alice-v2"}]
    notification_rules: [{urgency: low, contact: mail, delay: 1m}, {urgency: high, contact: hook, delay: 0s}]
services:
  - {name: checkout-api, integrations: [{name: events, type: generic}]}
""",
    )
    assert plan.find("contact method", "alice@example.com/hook").fields == (  # type: ignore[union-attr]
        "address: 'https://hooks.example.com/alice' → 'https://hooks.example.com/alice-v2'",
    )
    assert plan.find("user", "alice@example.com").fields == ("notification_rules",)  # type: ignore[union-attr]
    assert plan.find("integration", "checkout-api/events").fields == (  # type: ignore[union-attr]
        "type: 'pagerduty_v2' → 'generic'",
    )
    with db.reader() as s:
        methods = {cm.id: cm for cm in contacts.contact_methods(s, alice.id)}
        assert methods[hook_id].address == "https://hooks.example.com/alice-v2"
        assert len(methods) == 2
        assert sorted(
            (r.urgency, methods[r.contact_method_id].name, r.delay_seconds) for r in contacts.rules(s, alice.id)
        ) == [("high", "hook", 0), ("low", "mail", 60)]
        service = services.get_service(s, "checkout-api")
        assert {i.name: i.type for i in services.list_integrations(s, service.id)} == {
            "events": "generic",
            "prometheus": "alertmanager",
        }


def test_an_override_that_has_ended_is_not_added_again(db: Database) -> None:
    text = """
users: [{email: a@example.com}, {email: b@example.com}]
schedules:
  - name: S
    layers: [{rotation: daily, start: 2026-11-02, users: [a@example.com]}]
    overrides: [{user: b@example.com, start: "2026-11-03T10:00:00Z", end: "2026-11-03T12:00:00Z"}]
"""
    apply(db, text, now=NOW)
    later = datetime(2026, 12, 1, tzinfo=UTC)
    assert {c.action for c in apply(db, text, now=later).changes} == {"unchanged"}
    with db.reader() as s:
        assert len(oncall.overrides(s, oncall.get_schedule(s, "S"))) == 1
