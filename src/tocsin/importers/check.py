"""The import's check: who is on call in the source equals who is on call in the produced configuration.

The source's side is its own final schedule (what it would page), the Tocsin side is the on-call calculator run
on the configuration's schedules directly, without a database: the same function the server uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from tocsin.config import canonical
from tocsin.config.schema import ScheduleSpec
from tocsin.oncall import calculator as calc

DAYS = 14


@dataclass(frozen=True)
class SourceShift:
    user: str
    start: datetime
    end: datetime


def to_calendar(spec: ScheduleSpec) -> calc.Schedule:
    timezone = spec.timezone or "UTC"
    layers = tuple(
        calc.Layer(
            name=layer.name or f"layer {i + 1}",
            rotation=layer.rotation,  # type: ignore[arg-type]
            users=tuple(layer.users),
            start=canonical.layer_start(layer, timezone),
            shift_length=timedelta(seconds=layer.shift_length) if layer.shift_length else None,
            restrictions=tuple(
                calc.Restriction(time.fromisoformat(r.start), time.fromisoformat(r.end), tuple(sorted(set(r.days))))
                for r in layer.restrictions
            ),
            end=canonical.instant(layer.end, timezone) if layer.end is not None else None,
        )
        for i, layer in enumerate(spec.layers or [])
    )
    overrides = tuple(
        calc.Override(o.user, canonical.instant(o.start, timezone), canonical.instant(o.end, timezone), o.replaces)
        for o in spec.overrides or []
    )
    return calc.Schedule(spec.name, timezone, layers, overrides)


def hours(start: datetime, days: int = DAYS) -> list[datetime]:
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(hours=1)
    return [first + timedelta(hours=h) for h in range(days * 24)]


def differences(spec: ScheduleSpec, source: list[SourceShift], start: datetime, days: int = DAYS) -> list[str]:
    """One line per run of consecutive hours on which the two sides disagree."""
    cal = to_calendar(spec)
    # One pass over the whole range, then a lookup per hour: the calculator per hour would redo every layer.
    instants = hours(start, days)
    ours_all = calc.final_shifts(cal, instants[0], instants[-1] + timedelta(hours=1)) if instants else []
    out: list[str] = []
    run: tuple[datetime, datetime, tuple[str, ...], tuple[str, ...]] | None = None
    for at in instants:
        theirs = tuple(sorted({s.user for s in source if s.start <= at < s.end}))
        ours = tuple(sorted({s.user for s in ours_all if s.start <= at < s.end}))
        if theirs == ours:
            if run:
                out.append(_line(spec.name, *run))
                run = None
            continue
        if run and run[1] == at and (run[2], run[3]) == (theirs, ours):
            run = (run[0], at + timedelta(hours=1), theirs, ours)
        else:
            if run:
                out.append(_line(spec.name, *run))
            run = (at, at + timedelta(hours=1), theirs, ours)
    if run:
        out.append(_line(spec.name, *run))
    return out


def _line(name: str, a: datetime, b: datetime, theirs: tuple[str, ...], ours: tuple[str, ...]) -> str:
    def who(users: tuple[str, ...]) -> str:
        return ", ".join(users) or "nobody"

    return f"schedule {name!r} {a:%Y-%m-%d %H:%M}Z-{b:%Y-%m-%d %H:%M}Z: source has {who(theirs)}, Tocsin {who(ours)}"
