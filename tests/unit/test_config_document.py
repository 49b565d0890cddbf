"""The configuration format on its own: parsing, error paths, canonical forms, YAML output."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tocsin.config import canonical, document
from tocsin.config.plan import Change, Plan, describe
from tocsin.config.schema import LayerSpec
from tocsin.core.errors import InvalidInput
from tocsin.services.models import INTEGRATION_TYPES


def errors_of(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as raised:
        document.parse(text, source="tocsin.yaml")
    assert raised.value.detail.startswith("tocsin.yaml")
    return raised.value.errors


def test_every_problem_is_listed_with_its_path() -> None:
    errors = errors_of(
        """
users:
  - email: a@example.com
    rol: admin
    contact_methods: [{name: hook, type: webhook, address: "ftp://x"}]
services:
  - name: ok
  - name: also-ok
  - name: bad
    integrations:
      - {name: x, type: nagios}
"""
    )
    assert errors == [
        "users[0].contact_methods[0]: a webhook contact method needs an http(s) URL",
        "users[0].rol: unknown field (expected one of: email, name, timezone, role, contact_methods, "
        "notification_rules, skills)",
        f"services[2].integrations[0].type: must be one of {', '.join(INTEGRATION_TYPES)}",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users: [{email: not-an-address}]", "users[0].email: not an email address: 'not-an-address'"),
        ("users: [{email: a@example.com, role: owner}]", "users[0].role: must be one of admin, responder, observer"),
        ("services: [{name: s, tier: 9}]", "services[0].tier: Input should be less than or equal to 5"),
        ("services: [{name: s, auto_resolve: perhaps}]", "services[0].auto_resolve: Input should be a valid boolean"),
        ("services: [{name: s, ack_timeout: 5 minutes}]", "services[0].ack_timeout: not a duration: '5 minutes'"),
        (
            "services: [{name: s, integrations: [{name: x, type: generic, key: short}]}]",
            "services[0].integrations[0].key: an integration key is",
        ),
        ("schedules: [{name: s, timezone: Europe/Berln}]", "schedules[0].timezone: unknown time zone 'Europe/Berln'"),
        (
            "schedules: [{name: s, layers: [{rotation: hourly, start: 2026-11-02, users: [a@example.com]}]}]",
            "schedules[0].layers[0]: a hourly rotation needs a shift_length",
        ),
        (
            "schedules: [{name: s, layers: [{rotation: weekly, start: 2026-11-02, handoff: 'funday 09:00',"
            " users: [a@example.com]}]}]",
            "schedules[0].layers[0]: handoff: not a weekday: 'funday'",
        ),
        (
            "schedules: [{name: s, layers: [{rotation: daily, start: 2026-11-02, users: [a@example.com],"
            " restrictions: [{start: '25:00', end: '17:00'}]}]}]",
            "schedules[0].layers[0].restrictions[0].start: not a time of day: '25:00'",
        ),
        (
            "escalation_policies: [{name: p, steps: [{targets: [{user: a@example.com, schedule: s}]}]}]",
            "escalation_policies[0].steps[0].targets[0]: a target is exactly one of",
        ),
        ("escalation_policies: [{name: p, steps: []}]", "escalation_policies[0].steps: List should have at least 1"),
        ("escalation_policies: [{name: p, repeat: 12}]", "escalation_policies[0].repeat: Input should be less than"),
        ("teams: [{members: [a@example.com]}]", "teams[0].name: required"),
        ("servics: []", "servics: unknown field (expected one of: users, teams, schedules"),
    ],
)
def test_single_problems(text: str, expected: str) -> None:
    errors = errors_of(text)
    assert any(e.startswith(expected) for e in errors), errors


def test_not_yaml_or_not_a_mapping() -> None:
    with pytest.raises(InvalidInput, match=r"tocsin.yaml is not valid YAML at line 3, column 1"):
        document.parse("users:\n  - {email: [\n", source="tocsin.yaml")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        document.parse("- just\n- a list\n", source="tocsin.yaml")
    assert document.parse("").users == []


def test_times_of_day_are_not_base_60_numbers() -> None:
    config = document.parse(
        "schedules: [{name: s, layers: [{rotation: daily, start: 2026-11-02, handoff: 9:30, users: [a@example.com],"
        " restrictions: [{days: [sat, sunday, 0], start: 9:00, end: 17:30}]}]}]"
    )
    layer = config.schedules[0].layers[0]  # type: ignore[index]
    assert layer.handoff == "9:30"
    assert (layer.restrictions[0].days, layer.restrictions[0].start, layer.restrictions[0].end) == (
        [5, 6, 0],
        "09:00",
        "17:30",
    )


def _layer(**kw: object) -> LayerSpec:
    return LayerSpec.model_validate({"rotation": "weekly", "users": ["a@example.com"], **kw})


def test_a_start_date_and_handoff_mean_the_first_such_weekday_in_the_schedule_zone() -> None:
    # Thursday 29 October 2026; the first Monday on or after it is 2 November (CET, UTC+1).
    assert canonical.layer_start(_layer(start="2026-10-29", handoff="monday 09:00"), "Europe/Berlin") == datetime(
        2026, 11, 2, 8, 0, tzinfo=UTC
    )
    # Without a weekday, the handoff is on the start date itself (still CEST on 23 October: UTC+2).
    assert canonical.layer_start(_layer(start=date(2026, 10, 23), handoff="09:00"), "Europe/Berlin") == datetime(
        2026, 10, 23, 7, 0, tzinfo=UTC
    )
    # A naive date and time is wall-clock time in the zone; an explicit offset wins.
    assert canonical.layer_start(_layer(start="2026-11-02T09:00:00"), "Europe/Berlin") == datetime(
        2026, 11, 2, 8, 0, tzinfo=UTC
    )
    assert canonical.layer_start(_layer(start="2026-11-02T09:00:00+00:00"), "Europe/Berlin") == datetime(
        2026, 11, 2, 9, 0, tzinfo=UTC
    )


def test_two_spellings_of_one_layer_compare_equal() -> None:
    a = _layer(
        start="2026-10-29",
        handoff="mon 09:00",
        restrictions=[{"days": ["fri", "mon"], "start": "9:00", "end": "17:00"}],
    )
    b = _layer(start="2026-11-02T08:00:00Z", restrictions=[{"days": [0, 4], "start": "09:00", "end": "17:00"}])
    assert canonical.layers([a], "Europe/Berlin") == canonical.layers([b], "Europe/Berlin")
    # The same date and handoff in another zone is another instant.
    assert canonical.layers([a], "Europe/Berlin") != canonical.layers([a], "UTC")


def test_a_handoff_needs_a_start_date_not_a_time() -> None:
    errors = errors_of(
        "schedules: [{name: s, layers: [{rotation: weekly, start: '2026-11-02T09:00:00', handoff: 'monday 09:00',"
        " users: [a@example.com]}]}]"
    )
    assert errors == [
        "schedules[0].layers[0]: give either a start date with a handoff, or a start date and time without one"
    ]


def test_yaml_output_reads_back_to_the_same_configuration() -> None:
    text = """
users:
  - {email: A@Example.com, name: A, contact_methods: [{name: m, type: email, address: a@example.com}],
     notification_rules: [{urgency: low, contact: m, delay: 90}]}
schedules:
  - {name: s, timezone: Europe/Berlin, layers: [{rotation: custom, shift_length: 36h, start: 2026-11-02,
     end: "2027-01-01T00:00:00+01:00", users: [a@example.com]}]}
services:
  - {name: s, ack_timeout: 3600, integrations: [{name: e, type: pagerduty_v2, key: 0123456789abcdef}]}
"""
    config = document.parse(text)
    assert config.users[0].email == "a@example.com"
    dumped = document.to_yaml(config)
    assert "delay: 1m30s" in dumped
    assert "ack_timeout: 1h" in dumped
    assert "shift_length: 1d12h" in dumped
    assert document.parse(dumped) == config
    assert document.parse(document.to_json(config)) == config


def test_plan_lines_and_field_descriptions() -> None:
    plan = Plan(
        [
            Change(
                "service", "checkout-api", "update", (describe("urgency", "high", "low"), describe("steps", [1], [2]))
            ),
            Change("team", "Payments", "create"),
            Change("user", "a@example.com", "unchanged"),
        ],
        dry_run=True,
    )
    assert plan.lines() == [
        "  ~ update    service checkout-api (urgency: 'high' → 'low'; steps)",
        "  + create    team Payments",
        "  = unchanged user a@example.com",
        "Plan: 1 to create, 1 to update, 1 unchanged. Dry run: nothing was written.",
        "Objects that exist in Tocsin but not in the file are kept: apply never deletes.",
    ]
    assert describe("tier", None, 2) == "tier: none → 2"
    assert plan.as_dict()["counts"] == {"create": 1, "update": 1, "unchanged": 1}
