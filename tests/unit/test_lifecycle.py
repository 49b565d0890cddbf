from __future__ import annotations

import itertools

import pytest

from tocsin.core.errors import InvalidTransition
from tocsin.incidents import lifecycle
from tocsin.incidents.priority import default_priority, incident_severity, urgency_for


@pytest.mark.parametrize(
    ("current", "target", "kind"),
    [
        ("triggered", "acknowledged", "acknowledged"),
        ("triggered", "resolved", "resolved"),
        ("acknowledged", "resolved", "resolved"),
        ("acknowledged", "triggered", "retriggered"),
    ],
)
def test_allowed_moves_name_their_timeline_kind(current: str, target: str, kind: str) -> None:
    assert lifecycle.transition(current, target) == kind


def test_every_other_move_is_refused() -> None:
    for current, target in itertools.product(lifecycle.STATUSES, repeat=2):
        if (current, target) in lifecycle.ALLOWED:
            continue
        with pytest.raises(InvalidTransition):
            lifecycle.transition(current, target)


def test_resolved_is_terminal() -> None:
    assert not any(frm == "resolved" for frm, _ in lifecycle.ALLOWED)


def test_refusal_says_why() -> None:
    with pytest.raises(InvalidTransition, match="already acknowledged"):
        lifecycle.transition("acknowledged", "acknowledged")
    with pytest.raises(InvalidTransition, match="from resolved to acknowledged"):
        lifecycle.transition("resolved", "acknowledged")


def test_priority_mapping() -> None:
    assert incident_severity("critical") == "SEV1"
    assert incident_severity("info") == "SEV4"
    assert incident_severity("bogus") == "SEV3"
    assert default_priority("SEV1", "high") == "P1"
    assert default_priority("SEV1", "low") == "P2"
    assert default_priority("SEV5", "low") == "P5"
    assert urgency_for("severity_based", "warning") == "low"
    assert urgency_for("severity_based", "critical") == "high"
    assert urgency_for("low", "critical") == "low"
