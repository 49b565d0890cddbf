"""Matchers and title templates: every operator, missing fields, and rules refused when compiled."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.alerts.rules.matchers import RuleError, compile_matcher, event_view
from tocsin.alerts.rules.templates import compile_template


def view(**labels: Any) -> dict[str, Any]:
    return event_view(
        summary="Disk full on db1", severity="critical", source="db1", labels=labels, details={"disk": {"pct": 97}}
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"field": "labels.env", "op": "=", "value": "prod"}, True),
        ({"field": "labels.env", "op": "=", "value": "staging"}, False),
        ({"field": "labels.env", "op": "!=", "value": "staging"}, True),
        ({"field": "labels.env", "op": "=~", "value": "pr.d|dev"}, True),
        ({"field": "labels.env", "op": "=~", "value": "pr"}, False),  # anchored: a prefix is not a match
        ({"field": "labels.env", "op": "!~", "value": "stag.*"}, True),
        ({"field": "labels.team", "op": "exists"}, False),
        ({"field": "labels.env", "op": "exists"}, True),
        ({"field": "labels.team", "op": "not_exists"}, True),
        ({"field": "labels.team", "op": "=", "value": ""}, True),  # missing counts as empty, as in Alertmanager
        ({"field": "details.disk.pct", "op": ">", "value": 95}, True),
        ({"field": "details.disk.pct", "op": ">=", "value": 97}, True),
        ({"field": "details.disk.pct", "op": "<", "value": 97}, False),
        ({"field": "details.disk.pct", "op": "<=", "value": "97"}, True),
        ({"field": "labels.env", "op": ">", "value": 1}, False),  # not a number: never matches
        ({"field": "severity", "op": "=", "value": "critical"}, True),
        ({"field": "summary", "op": "=~", "value": "Disk full.*"}, True),
    ],
)
def test_operators(spec: dict[str, Any], expected: bool) -> None:
    assert compile_matcher(spec).matches(view(env="prod")) is expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"field": "labels.env", "op": "=~", "value": "("}, "bad regular expression"),
        ({"field": "color", "op": "=", "value": "x"}, "unknown field 'color'"),
        ({"field": "labels", "op": "=", "value": "x"}, "unknown field 'labels'"),
        ({"field": "labels.env", "op": "~~", "value": "x"}, "unknown operator"),
        ({"field": "labels.env", "op": ">", "value": "high"}, "needs a number"),
        ({"field": "labels.env", "op": "="}, "needs a value"),
        ({"field": "labels.env", "value": "x", "extra": 1}, "unknown matcher key"),
    ],
)
def test_bad_matchers_are_refused_with_a_reason(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_matcher(spec)


def test_title_template_fills_fields_and_leaves_missing_ones_empty() -> None:
    template = compile_template("[{labels.env}] {summary} ({labels.nope}) {{literal}}")
    assert template.render(view(env="prod")) == "[prod] Disk full on db1 () {literal}"


@pytest.mark.parametrize("text", ["{summary", "{labels}", "{__class__}", "{labels.x.__init__}}}{"])
def test_template_refuses_anything_but_fields(text: str) -> None:
    with pytest.raises(RuleError):
        compile_template(text)


def test_candidate_index_never_hides_a_matching_set() -> None:
    """The index is only a shortcut: the first match through it equals the first match of a full scan."""
    import random

    from tocsin.alerts.rules.matchers import CandidateIndex, compile_matchers

    rng = random.Random(7)
    values = ["a", "b", "", "c"]
    sets = []
    for _ in range(60):
        specs: list[dict[str, Any]] = []
        for name in rng.sample(["env", "team", "host"], rng.randint(0, 2)):
            op = rng.choice(["=", "!=", "=~", "exists"])
            spec: dict[str, Any] = {"field": f"labels.{name}", "op": op}
            if op != "exists":
                spec["value"] = rng.choice(values) if op != "=~" else rng.choice(["a|b", ".*", "c"])
            specs.append(spec)
        sets.append(compile_matchers(specs))
    index = CandidateIndex(sets)
    for _ in range(300):
        labels = {k: rng.choice(values) for k in ["env", "team", "host"] if rng.random() < 0.7}
        v = view(**labels)
        full = [i for i, s in enumerate(sets) if all(m.matches(v) for m in s)]
        via_index = [i for i in index.candidates(v) if all(m.matches(v) for m in sets[i])]
        assert via_index == full
