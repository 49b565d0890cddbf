"""Flapping (pure): an alert that changes state too often within a window stops paging until it is stable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tocsin.alerts.rules.matchers import RuleError


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    max_changes: int
    window: timedelta

    def is_flapping(self, changes_in_window: int) -> bool:
        """``changes_in_window`` counts the state changes already seen, plus the one arriving now."""
        return changes_in_window > self.max_changes

    def to_dict(self) -> dict[str, Any]:
        return {"max_changes": self.max_changes, "window_seconds": int(self.window.total_seconds())}


def compile_flapping(spec: Mapping[str, Any]) -> FlapPolicy:
    if not isinstance(spec, Mapping):
        raise RuleError("flapping must be an object")
    unknown = set(spec) - {"max_changes", "window_seconds"}
    if unknown:
        raise RuleError(f"flapping: unknown key(s) {', '.join(sorted(unknown))}")
    changes, window = spec.get("max_changes"), spec.get("window_seconds")
    if not isinstance(changes, int) or isinstance(changes, bool) or changes < 1:
        raise RuleError("flapping: max_changes must be a positive number")
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise RuleError("flapping: window_seconds must be a positive number of seconds")
    return FlapPolicy(max_changes=changes, window=timedelta(seconds=window))
