"""Event rules: order (integration first, then global), first match wins, actions, refusals naming the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tocsin.alerts.rules.matchers import RuleError, compile_matchers
from tocsin.alerts.rules.routing import compile_rule
from tocsin.alerts.rules.ruleset import RuleSet, route, silence_for
from tocsin.alerts.rules.silences import make_silence
from tocsin.alerts.schemas import NormalizedEvent

SERVICES = {"payments": 7, "web": 8}
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def rule(name: str, matchers: list[dict[str, Any]], actions: dict[str, Any], integration: int | None = None) -> Any:
    return compile_rule(name=name, matchers=matchers, actions=actions, service_ids=SERVICES, integration_id=integration)


def event(**labels: str) -> NormalizedEvent:
    return NormalizedEvent(action="trigger", dedup_key="k", summary="CPU high", severity="warning", labels=labels)


def test_integration_rules_come_before_global_ones_and_first_match_wins() -> None:
    rules = RuleSet(
        event_rules={
            None: (rule("global-pay", [{"field": "labels.team", "value": "pay"}], {"service": "web"}),),
            1: (
                rule("int-pay", [{"field": "labels.team", "value": "pay"}], {"service": "payments"}, 1),
                rule("int-pay-2", [{"field": "labels.team", "value": "pay"}], {"priority": "P1"}, 1),
            ),
        }
    )
    decision = route(rules, event(team="pay"), integration_id=1, service_id=3)
    assert decision.rule is not None
    assert decision.rule.name == "int-pay"
    assert decision.service_id == 7
    assert decision.priority is None
    other = route(rules, event(team="pay"), integration_id=2, service_id=3)
    assert other.rule is not None
    assert other.rule.name == "global-pay"
    assert other.service_id == 8
    unmatched = route(rules, event(team="ops"), integration_id=1, service_id=3)
    assert unmatched.rule is None
    assert unmatched.service_id == 3


def test_actions_set_fields_and_render_the_title() -> None:
    rules = RuleSet(
        event_rules={
            None: (
                rule(
                    "shape",
                    [{"field": "labels.env", "value": "prod"}],
                    {"severity": "critical", "urgency": "low", "priority": "P2", "title": "{labels.env}: {summary}"},
                ),
                rule("drop-test", [{"field": "labels.env", "value": "test"}], {"drop": True}),
                rule("mute-dev", [{"field": "labels.env", "value": "dev"}], {"suppress": True}),
            )
        }
    )
    d = route(rules, event(env="prod"), integration_id=1, service_id=3)
    assert (d.severity, d.urgency, d.priority, d.title) == ("critical", "low", "P2", "prod: CPU high")
    assert route(rules, event(env="test"), integration_id=1, service_id=3).drop
    dev = route(rules, event(env="dev"), integration_id=1, service_id=3)
    assert dev.suppress
    assert not dev.drop


@pytest.mark.parametrize(
    ("matchers", "actions", "message"),
    [
        ([{"field": "labels.x", "op": "=~", "value": "[a"}], {}, "rule 'r': bad regular expression"),
        ([{"field": "nope", "value": "1"}], {}, "rule 'r': unknown field"),
        ([], {"service": "ghost"}, "rule 'r': unknown service 'ghost'"),
        ([], {"urgency": "urgent"}, "rule 'r': urgency must be one of"),
        ([], {"priority": "P9"}, "rule 'r': priority must be one of"),
        ([], {"drop": True, "suppress": True}, "exclude each other"),
        ([], {"page": True}, "unknown action"),
        ([], {"title": "{summary"}, "rule 'r': unbalanced brace"),
    ],
)
def test_invalid_rules_are_refused_naming_the_rule(
    matchers: list[dict[str, Any]], actions: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleError, match=message):
        rule("r", matchers, actions)


def test_silence_covers_matching_alerts_only_while_active() -> None:
    silence = make_silence(
        id=5,
        matchers=compile_matchers([{"field": "labels.host", "op": "=~", "value": "db[0-9]+"}]),
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
    )
    rules = RuleSet(silences=(silence,))
    d = route(rules, event(host="db1"), integration_id=1, service_id=3)
    assert silence_for(rules, d, NOW + timedelta(minutes=30)) is silence
    assert silence_for(rules, d, NOW + timedelta(hours=1)) is None
    assert silence_for(rules, d, NOW - timedelta(seconds=1)) is None
    other = route(rules, event(host="web1"), integration_id=1, service_id=3)
    assert silence_for(rules, other, NOW + timedelta(minutes=30)) is None


def test_maintenance_window_recurs_weekly_for_its_service_only() -> None:
    # Sundays 02:00-04:00 UTC, starting on Sunday 2026-11-01.
    start = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    window = make_silence(
        id=9,
        matchers=(),
        starts_at=start,
        ends_at=None,
        service_id=3,
        recurrence="FREQ=WEEKLY;BYDAY=SU",
        duration=timedelta(hours=2),
    )
    assert window.window_at(start + timedelta(days=7, hours=1)) == (
        start + timedelta(days=7),
        start + timedelta(days=7, hours=2),
    )
    assert window.window_at(start + timedelta(days=7, hours=2)) is None
    assert window.window_at(start + timedelta(days=3)) is None
    rules = RuleSet(silences=(window,))
    inside = start + timedelta(days=14, minutes=5)
    assert silence_for(rules, route(rules, event(), integration_id=1, service_id=3), inside) is window
    assert silence_for(rules, route(rules, event(), integration_id=1, service_id=4), inside) is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"ends_at": None}, "needs an end"),
        ({"ends_at": NOW - timedelta(minutes=1)}, "must end after it starts"),
        ({"ends_at": None, "recurrence": "FREQ=SOMETIMES", "duration": timedelta(hours=1)}, "not an iCalendar"),
        ({"ends_at": None, "recurrence": "FREQ=DAILY"}, "positive duration"),
    ],
)
def test_bad_silences_are_refused(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        make_silence(id=1, matchers=compile_matchers([{"field": "labels.a", "value": "b"}]), starts_at=NOW, **kw)
