"""Impact x urgency → priority, and what makes an incident major (pure).

Impact comes from the service's tier when it has one (tier 1 is the most critical), otherwise from the alert's
severity. The matrix applies only once configured, so that a fresh install keeps severity-based priorities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tocsin.alerts.rules.matchers import RuleError

IMPACTS: Final = ("high", "medium", "low")
URGENCIES: Final = ("high", "low")
PRIORITIES: Final = ("P1", "P2", "P3", "P4", "P5")

DEFAULT_CELLS: Final = {
    ("high", "high"): "P1",
    ("high", "low"): "P3",
    ("medium", "high"): "P2",
    ("medium", "low"): "P4",
    ("low", "high"): "P3",
    ("low", "low"): "P5",
}
DEFAULT_TIER_IMPACT: Final = {1: "high", 2: "medium", 3: "low"}
_SEVERITY_IMPACT: Final = {"critical": "high", "error": "medium", "warning": "low", "info": "low"}


@dataclass(frozen=True, slots=True)
class PriorityMatrix:
    cells: Mapping[tuple[str, str], str] = field(default_factory=lambda: dict(DEFAULT_CELLS))
    tier_impact: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_TIER_IMPACT))
    # Tiers below every configured one (4, 5 …) count as low impact.
    untiered_impact: str = "low"

    def impact(self, tier: int | None, alert_severity: str) -> str:
        if tier is None:
            return _SEVERITY_IMPACT.get(alert_severity, "medium")
        return self.tier_impact.get(tier, self.untiered_impact)

    def priority(self, impact: str, urgency: str) -> str:
        return self.cells.get((impact, urgency), "P3")

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": {imp: {urg: self.cells[(imp, urg)] for urg in URGENCIES} for imp in IMPACTS},
            "tier_impact": {str(t): i for t, i in sorted(self.tier_impact.items())},
        }


@dataclass(frozen=True, slots=True)
class MajorCriteria:
    priorities: frozenset[str] = frozenset({"P1"})
    tiers: frozenset[int] = frozenset({1})

    def is_major(self, priority: str, tier: int | None) -> bool:
        return priority in self.priorities or (tier is not None and tier in self.tiers)

    def to_dict(self) -> dict[str, Any]:
        return {"priorities": sorted(self.priorities), "tiers": sorted(self.tiers)}


def compile_matrix(spec: Mapping[str, Any]) -> PriorityMatrix:
    """``{"cells": {"high": {"high": "P1", "low": "P3"}, …}, "tier_impact": {"1": "high", …}}``."""
    if not isinstance(spec, Mapping):
        raise RuleError("the priority matrix must be an object")
    unknown = set(spec) - {"cells", "tier_impact"}
    if unknown:
        raise RuleError(f"priority matrix: unknown key(s) {', '.join(sorted(unknown))}")
    cells = dict(DEFAULT_CELLS)
    raw_cells = spec.get("cells") or {}
    if not isinstance(raw_cells, Mapping):
        raise RuleError("priority matrix: cells must map impact to {urgency: priority}")
    for impact, row in raw_cells.items():
        if impact not in IMPACTS:
            raise RuleError(f"priority matrix: unknown impact {impact!r} (use {', '.join(IMPACTS)})")
        if not isinstance(row, Mapping):
            raise RuleError(f"priority matrix: cells.{impact} must map urgency to priority")
        for urgency, priority in row.items():
            if urgency not in URGENCIES:
                raise RuleError(f"priority matrix: unknown urgency {urgency!r} (use {', '.join(URGENCIES)})")
            if priority not in PRIORITIES:
                raise RuleError(f"priority matrix: cells.{impact}.{urgency} must be one of {', '.join(PRIORITIES)}")
            cells[(impact, urgency)] = priority
    tiers = dict(DEFAULT_TIER_IMPACT)
    raw_tiers = spec.get("tier_impact") or {}
    if not isinstance(raw_tiers, Mapping):
        raise RuleError("priority matrix: tier_impact must map a tier number to an impact")
    for tier, impact in raw_tiers.items():
        try:
            number = int(tier)
        except (TypeError, ValueError):
            raise RuleError(f"priority matrix: tier {tier!r} is not a number") from None
        if impact not in IMPACTS:
            raise RuleError(f"priority matrix: tier {tier} impact must be one of {', '.join(IMPACTS)}")
        tiers[number] = impact
    return PriorityMatrix(cells=cells, tier_impact=tiers)


def compile_major(spec: Mapping[str, Any]) -> MajorCriteria:
    if not isinstance(spec, Mapping):
        raise RuleError("major incident criteria must be an object")
    unknown = set(spec) - {"priorities", "tiers"}
    if unknown:
        raise RuleError(f"major incident criteria: unknown key(s) {', '.join(sorted(unknown))}")
    priorities = spec.get("priorities") or []
    bad = [p for p in priorities if p not in PRIORITIES]
    if bad:
        raise RuleError(f"major incident criteria: unknown priority {bad[0]!r}")
    try:
        tiers = frozenset(int(t) for t in spec.get("tiers") or [])
    except (TypeError, ValueError):
        raise RuleError("major incident criteria: tiers must be numbers") from None
    return MajorCriteria(priorities=frozenset(priorities), tiers=tiers)
