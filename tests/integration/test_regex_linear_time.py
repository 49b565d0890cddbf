"""Patterns in silences and rules run in linear time: one catastrophic pattern cannot hold the ingest writer.

With a backtracking engine, ``(a+)+b`` against a label of 40 a's and a c takes longer than anyone waits (the time
doubles with each a); with RE2 the answer comes in microseconds. The thread and its generous limit only stop a
regression from hanging the run: the check is that the answer comes at all.
"""

from __future__ import annotations

import threading

import pytest

from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored
from tocsin.alerts.rules.matchers import RuleError, compile_matcher, event_view

EVIL = "(a+)+b"
VICTIM = "a" * 40 + "c"


def answered_within(seconds: float, work: object) -> bool:
    done = threading.Event()

    def run() -> None:
        assert callable(work)
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(seconds)


def test_a_catastrophic_pattern_is_answered_at_once() -> None:
    matcher = compile_matcher({"field": "labels.host", "op": "=~", "value": EVIL})
    view = event_view(summary="s", severity="critical", source="db1", labels={"host": VICTIM}, details={})
    results: list[bool] = []

    assert answered_within(60, lambda: results.append(matcher.matches(view)))
    assert results == [False]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [(r"(a)\1", "invalid escape sequence"), ("(?=a)a", "invalid perl operator"), ("(", r"missing \)")],
)
def test_patterns_re2_cannot_run_are_refused_with_the_reason(pattern: str, reason: str) -> None:
    with pytest.raises(RuleError, match=f"bad regular expression .*{reason}.*RE2 syntax"):
        compile_matcher({"field": "labels.host", "op": "=~", "value": pattern})


def test_an_event_meeting_a_catastrophic_silence_is_ingested(api: ApiHarness) -> None:
    key = integration_key(api, "generic")
    silence = {
        "matchers": [{"field": "labels.host", "op": "=~", "value": EVIL}],
        "ends_at": "2026-11-02T10:00:00Z",
        "comment": "a pattern that backtracks",
    }
    assert api.post("/api/v1/silences", json=silence).status_code == 201
    event = {"summary": "disk full", "severity": "critical", "labels": {"host": VICTIM}}
    answers: list[int] = []

    assert answered_within(
        60, lambda: answers.append(api.client.post(f"/integrations/{key}/generic", json=event).status_code)
    )
    assert answers == [202]
    assert stored(api).events == 1
