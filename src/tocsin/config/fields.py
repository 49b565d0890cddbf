"""The fields of each kind of object that apply compares, as comparable values, and how a difference reads.

Only fields the file sets are compared: a field left out is not managed. Null counts only where it means "none"
(a service without a team, say); elsewhere it is the same as leaving the field out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tocsin.config import canonical
from tocsin.config.plan import describe
from tocsin.config.schema import PolicySpec, ScheduleSpec, ServiceSpec, TeamSpec, UserSpec
from tocsin.oncall.durations import format_duration, parse_duration


def _values(spec: Any, fields: dict[str, Callable[[Any], Any]], nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The comparable value of each field the file sets (a field set to null only counts where null means none)."""
    out = {}
    for name, convert in fields.items():
        if name not in spec.model_fields_set:
            continue
        value = getattr(spec, name)
        if value is None and name not in nullable:
            continue
        out[name] = convert(value) if value is not None else None
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in new.items():
        before = old.get(name)
        if before != value:
            if name == "ack_timeout":
                changed.append(f"{name}: {_duration(before)} → {_duration(value)}")
            else:
                changed.append(describe(name, before, value))
    return changed


def _duration(seconds: int | None) -> str:
    return "none" if seconds is None else format_duration(parse_duration(seconds))


def _same(value: Any) -> Any:
    return value


def user_values(spec: UserSpec) -> dict[str, Any]:
    return _values(
        spec,
        {
            "name": _same,
            "timezone": _same,
            "role": _same,
            "notification_rules": canonical.rules,
            "skills": lambda s: sorted(set(s)),
        },
    )


def team_values(spec: TeamSpec) -> dict[str, Any]:
    values = _values(spec, {"description": _same})
    if spec.members is not None or spec.managers is not None:
        values["members"] = canonical.members(spec)
    return values


def schedule_values(spec: ScheduleSpec, timezone: str) -> dict[str, Any]:
    return _values(
        spec,
        {
            "timezone": _same,
            "description": _same,
            "team": _same,
            "layers": lambda layers: canonical.layers(layers, timezone),
        },
        nullable=("team",),
    )


def policy_values(spec: PolicySpec) -> dict[str, Any]:
    return _values(
        spec, {"description": _same, "team": _same, "repeat": _same, "steps": canonical.steps}, nullable=("team",)
    )


_SERVICE_NULLABLE = ("team", "ack_timeout", "tier", "downtime_cost_per_minute", "escalation_policy")


def service_values(spec: ServiceSpec) -> dict[str, Any]:
    return _values(
        spec,
        {
            name: _same
            for name in (
                "description",
                "team",
                "urgency",
                "auto_resolve",
                "ack_timeout",
                "tier",
                "downtime_cost_per_minute",
                "escalation_policy",
            )
        },
        nullable=_SERVICE_NULLABLE,
    )
