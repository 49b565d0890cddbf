"""Priority matrix, major criteria, grouping, similarity, inhibition and flapping (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.alerts.rules.flapping import compile_flapping
from tocsin.alerts.rules.grouping import GroupingRule, OpenGroup, choose, group_key
from tocsin.alerts.rules.inhibition import Firing, compile_inhibit, inhibitor, is_source
from tocsin.alerts.rules.matchers import RuleError, event_view
from tocsin.alerts.rules.priority_matrix import compile_major, compile_matrix
from tocsin.alerts.rules.similarity import similarity, tokens

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_matrix_defaults_and_overrides() -> None:
    matrix = compile_matrix({"cells": {"low": {"high": "P2"}}, "tier_impact": {"4": "medium"}})
    assert matrix.priority(matrix.impact(1, "info"), "high") == "P1"  # tier wins over severity
    assert matrix.priority(matrix.impact(2, "critical"), "low") == "P4"
    assert matrix.priority(matrix.impact(None, "warning"), "high") == "P2"  # overridden cell
    assert matrix.impact(4, "info") == "medium"
    assert matrix.impact(9, "critical") == "low"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"cells": {"huge": {"high": "P1"}}}, "unknown impact"),
        ({"cells": {"high": {"soon": "P1"}}}, "unknown urgency"),
        ({"cells": {"high": {"high": "P0"}}}, "must be one of"),
        ({"tier_impact": {"one": "high"}}, "not a number"),
        ({"rows": {}}, "unknown key"),
    ],
)
def test_bad_matrix_is_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_matrix(spec)


def test_major_criteria() -> None:
    major = compile_major({"priorities": ["P1"], "tiers": [1]})
    assert major.is_major("P1", None)
    assert major.is_major("P4", 1)
    assert not major.is_major("P2", 2)


def group(incident_id: int, key: str | None, name: str, summary: str, age: timedelta) -> OpenGroup:
    return OpenGroup(incident_id, 3, NOW - age, key, name, tokens(summary))


def test_grouping_by_labels_within_the_window() -> None:
    rule = GroupingRule(service_id=3, group_by=("cluster", "alertname"), window=timedelta(minutes=10))
    key = group_key(rule, {"cluster": "eu1", "alertname": "Down", "pod": "a"})
    assert key == group_key(rule, {"cluster": "eu1", "alertname": "Down", "pod": "b"})
    assert key != group_key(rule, {"cluster": "us1", "alertname": "Down"})
    candidates = [group(10, key, "Down", "x", timedelta(minutes=20)), group(11, key, "Down", "x", timedelta(minutes=5))]
    chosen = choose(rule, key=key, name="Down", summary="x", candidates=candidates, now=NOW)
    assert chosen is not None
    assert chosen[0].incident_id == 11
    assert chosen[1] == "labels"
    assert choose(rule, key=key, name="Down", summary="x", candidates=candidates[:1], now=NOW) is None


def test_grouping_by_content() -> None:
    rule = GroupingRule(service_id=3, by_content=True, threshold=0.6)
    candidates = [group(10, None, "Disk full on db1 volume 3", "Disk full on db1 volume 3", timedelta(minutes=1))]
    chosen = choose(rule, key=None, name="other", summary="Disk full on db7 volume 9", candidates=candidates, now=NOW)
    assert chosen is not None
    assert chosen[1] == "content"
    assert choose(rule, key=None, name="x", summary="Certificate expires soon", candidates=candidates, now=NOW) is None
    assert similarity(tokens("a b c"), tokens("a b d")) == pytest.approx(0.5)


def test_inhibition_needs_source_target_and_equal_labels() -> None:
    rule = compile_inhibit(
        "cluster-down",
        [{"field": "labels.alertname", "value": "ClusterDown"}],
        [{"field": "labels.severity", "value": "warning"}],
        ["cluster"],
    )

    def v(**labels: str) -> dict[str, object]:
        return event_view(summary="s", severity="error", source="", labels=labels, details={})

    source = v(alertname="ClusterDown", cluster="eu1")
    assert is_source([rule], source)
    firing = [Firing(alert_id=4, labels={"alertname": "ClusterDown", "cluster": "eu1"}, view=source)]
    hit = inhibitor([rule], v(alertname="Slow", severity="warning", cluster="eu1"), firing)
    assert hit is not None
    assert hit[1].alert_id == 4
    assert inhibitor([rule], v(alertname="Slow", severity="warning", cluster="us1"), firing) is None
    assert inhibitor([rule], v(alertname="Slow", severity="critical", cluster="eu1"), firing) is None
    with pytest.raises(RuleError, match="inhibit rule 'x': needs source and target"):
        compile_inhibit("x", [], [{"field": "labels.a", "value": "b"}], [])


def test_flapping_threshold() -> None:
    policy = compile_flapping({"max_changes": 3, "window_seconds": 600})
    assert not policy.is_flapping(3)
    assert policy.is_flapping(4)
    with pytest.raises(RuleError, match="max_changes"):
        compile_flapping({"max_changes": 0, "window_seconds": 600})
