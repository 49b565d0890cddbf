"""One comparable form per configuration value, so that two spellings of the same thing compare equal.

A layer written as ``start: 2026-11-02, handoff: "monday 09:00"`` and one written with the full instant are the
same layer; rules are a set, not a sequence; durations are seconds. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.config.schema import LayerSpec, OverrideSpec, RuleSpec, StepSpec, TeamSpec, parse_handoff
from tocsin.oncall.calculator import local_to_utc


def instant(value: date | datetime, timezone: str) -> datetime:
    """A date means its local midnight and a naive datetime its local wall-clock time, in the schedule's zone."""
    zone = ZoneInfo(timezone)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return local_to_utc(value.date(), value.time(), zone)
        return value.astimezone(UTC)
    return local_to_utc(value, time(0, 0), zone)


def layer_start(spec: LayerSpec, timezone: str) -> datetime:
    if spec.handoff is None or isinstance(spec.start, datetime):
        return instant(spec.start, timezone)
    weekday, clock = parse_handoff(spec.handoff)
    day = spec.start
    if weekday is not None:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return local_to_utc(day, time.fromisoformat(clock), ZoneInfo(timezone))


def restrictions(spec: LayerSpec) -> list[dict[str, Any]]:
    return [{"days": sorted(set(r.days)), "start": r.start, "end": r.end} for r in spec.restrictions]


def layer(spec: LayerSpec, timezone: str, position: int) -> tuple[Any, ...]:
    return (
        spec.name or f"layer {position + 1}",
        spec.rotation,
        layer_start(spec, timezone),
        instant(spec.end, timezone) if spec.end is not None else None,
        tuple(spec.users),
        spec.shift_length if spec.rotation in ("hourly", "custom") else None,
        tuple((tuple(r["days"]), r["start"], r["end"]) for r in restrictions(spec)),
    )


def layers(specs: Sequence[LayerSpec], timezone: str) -> list[tuple[Any, ...]]:
    return [layer(spec, timezone, i) for i, spec in enumerate(specs)]


def override(spec: OverrideSpec, timezone: str) -> tuple[Any, ...]:
    return (spec.user, instant(spec.start, timezone), instant(spec.end, timezone), spec.replaces)


def steps(specs: Sequence[StepSpec]) -> list[tuple[Any, ...]]:
    return [(tuple((t.kind, t.ref) for t in step.targets), step.delay) for step in specs]


def rules(specs: Sequence[RuleSpec]) -> list[tuple[str, str, int]]:
    return sorted((r.urgency, r.contact, r.delay) for r in specs)


def members(spec: TeamSpec) -> dict[str, str]:
    roles = dict.fromkeys(spec.members or [], "member")
    roles.update(dict.fromkeys(spec.managers or [], "manager"))
    return dict(sorted(roles.items()))
