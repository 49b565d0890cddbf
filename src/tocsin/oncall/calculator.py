"""Who is on call, when: a pure function of a schedule and an instant or a range.

Rotations
    ``daily`` and ``weekly`` rotations hand off at the same local wall-clock time every day or week, in the
    schedule's zone, across DST changes: the shift that contains a spring-forward is 23 hours long, the one with
    a fall-back 25 hours. ``hourly`` and ``custom`` rotations use a fixed elapsed ``shift_length``, whatever the
    wall clock does.
Local times that do not exist or happen twice
    A handoff at a local time that does not exist (inside the spring-forward gap, e.g. 02:30) happens at the
    same distance past the gap's start — 02:30 becomes 03:30 — and an ambiguous one (inside the fall-back hour)
    happens at its first occurrence (``fold=0``). Restriction windows follow the same rules.
Layers and overrides
    Layer 0 is the lowest; where a higher layer has someone on call, it wins. An override puts its user on call
    for its range, instead of whoever is on call (or, with ``replaces``, only where that user is on call).
All datetimes in and out are timezone-aware; results are in UTC.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Rotation = Literal["daily", "weekly", "hourly", "custom"]
_PERIOD_DAYS = {"daily": 1, "weekly": 7}


@dataclass(frozen=True, slots=True)
class Restriction:
    """A window of local time, starting on the listed weekdays (Monday = 0); ``end <= start`` crosses midnight."""

    start: time
    end: time
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    rotation: Rotation
    users: tuple[str, ...]
    start: datetime
    shift_length: timedelta | None = None
    restrictions: tuple[Restriction, ...] = ()
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Override:
    user: str
    start: datetime
    end: datetime
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    timezone: str
    layers: tuple[Layer, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True, slots=True)
class Shift:
    user: str
    start: datetime
    end: datetime
    layer: str | None = None
    is_override: bool = False


@dataclass(frozen=True, slots=True)
class Handoff:
    at: datetime
    from_users: tuple[str, ...]
    to_users: tuple[str, ...]


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as a UTC instant, resolving gaps forward and ambiguity to the first occurrence."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    # Round-tripping reveals a nonexistent time: it comes back with another wall-clock reading.
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        # fold=1 gives the offset after the transition for a gap: the instant lands as far past the gap's
        # start as the requested time was, which is "resolve forward".
        return naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return first.astimezone(UTC)


def _handoff(layer: Layer, tz: ZoneInfo, k: int) -> datetime:
    """The instant the k-th shift of a layer starts (k may be negative)."""
    if layer.rotation in _PERIOD_DAYS:
        local = layer.start.astimezone(tz)
        day = local.date() + timedelta(days=k * _PERIOD_DAYS[layer.rotation])
        return local_to_utc(day, local.time().replace(tzinfo=None), tz)
    length = _length(layer)
    return layer.start.astimezone(UTC) + k * length


def _length(layer: Layer) -> timedelta:
    if layer.rotation in _PERIOD_DAYS:
        return timedelta(days=_PERIOD_DAYS[layer.rotation])
    if layer.shift_length is None or layer.shift_length <= timedelta(0):
        raise ValueError(f"layer {layer.name!r}: a {layer.rotation} rotation needs a positive shift_length")
    return layer.shift_length


def _first_index(layer: Layer, tz: ZoneInfo, at: datetime) -> int:
    """The index of the shift that contains ``at`` (or the first one after it, if none does)."""
    k = int((at - layer.start) / _length(layer))
    # Wall-clock rotations drift from the elapsed estimate by at most an hour per DST change: walk to the spot.
    while _handoff(layer, tz, k) > at:
        k -= 1
    while _handoff(layer, tz, k + 1) <= at:
        k += 1
    return k


def _windows(
    restrictions: tuple[Restriction, ...], tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The restriction windows overlapping [start, end), merged, in UTC."""
    out: list[tuple[datetime, datetime]] = []
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        for r in restrictions:
            if day.weekday() not in r.days:
                continue
            a = local_to_utc(day, r.start, tz)
            b = local_to_utc(day + timedelta(days=1) if r.end <= r.start else day, r.end, tz)
            if b > start and a < end:
                out.append((max(a, start), min(b, end)))
        day += timedelta(days=1)
    out.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def layer_shifts(layer: Layer, tz: ZoneInfo | str, start: datetime, end: datetime) -> list[Shift]:
    """One layer's shifts over [start, end), cut to its restrictions."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    lo = max(start, layer.start.astimezone(UTC))
    hi = min(end, layer.end.astimezone(UTC)) if layer.end else end
    if lo >= hi or not layer.users:
        return []
    shifts: list[Shift] = []
    k = _first_index(layer, zone, lo)
    while True:
        a, b = _handoff(layer, zone, k), _handoff(layer, zone, k + 1)
        if a >= hi:
            break
        a, b = max(a, lo), min(b, hi)
        if a < b:
            shifts.append(Shift(layer.users[k % len(layer.users)], a, b, layer.name))
        k += 1
    if not layer.restrictions:
        return shifts
    windows = _windows(layer.restrictions, zone, lo, hi)
    cut: list[Shift] = []
    for s in shifts:
        for a, b in windows:
            if b > s.start and a < s.end:
                cut.append(Shift(s.user, max(a, s.start), min(b, s.end), s.layer))
    return cut


def final_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The schedule as it will page: layers stacked, overrides applied, adjacent equal shifts merged."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    tz = ZoneInfo(schedule.timezone)
    per_layer = [layer_shifts(layer, tz, start, end) for layer in schedule.layers]
    overrides = [o for o in schedule.overrides if o.end > start and o.start < end]
    edges = {start, end}
    for shifts in per_layer:
        for s in shifts:
            edges.update((s.start, s.end))
    for o in overrides:
        edges.update((max(o.start, start), min(o.end, end)))
    points = sorted(e for e in edges if start <= e <= end)
    starts = [[s.start for s in shifts] for shifts in per_layer]
    result: list[Shift] = []
    for a, b in itertools.pairwise(points):
        current = _covering(per_layer, starts, a)
        for o in overrides:
            if o.start <= a < o.end and (o.replaces is None or (current is not None and current.user == o.replaces)):
                current = Shift(o.user, a, b, current.layer if current else None, is_override=True)
        if current is None:
            continue
        piece = Shift(current.user, a, b, current.layer, current.is_override)
        last = result[-1] if result else None
        if (
            last
            and last.end == a
            and (last.user, last.layer, last.is_override) == (piece.user, piece.layer, piece.is_override)
        ):
            result[-1] = Shift(last.user, last.start, b, last.layer, last.is_override)
        else:
            result.append(piece)
    return result


def _covering(per_layer: list[list[Shift]], starts: list[list[datetime]], at: datetime) -> Shift | None:
    for shifts, begins in zip(reversed(per_layer), reversed(starts), strict=True):
        i = bisect.bisect_right(begins, at) - 1
        if i >= 0 and shifts[i].start <= at < shifts[i].end:
            return shifts[i]
    return None


def on_call_at(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    shifts = final_shifts(schedule, at, at + timedelta(microseconds=1))
    return tuple(dict.fromkeys(s.user for s in shifts))


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Periods in [start, end) with nobody on call."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    for s in final_shifts(schedule, start, end):
        if s.start > cursor:
            out.append((cursor, s.start))
        cursor = max(cursor, s.end)
    if cursor < end:
        out.append((cursor, end))
    return out


def next_handoffs(schedule: Schedule, after: datetime, until: datetime) -> list[Handoff]:
    """Instants in (after, until] at which the set of people on call changes."""
    shifts = final_shifts(schedule, after, until)
    out: list[Handoff] = []
    previous: tuple[str, ...] = on_call_at(schedule, after)
    moments = sorted({s.start for s in shifts} | {s.end for s in shifts})
    for at in moments:
        if at <= after or at > until:
            continue
        now_on = tuple(s.user for s in shifts if s.start <= at < s.end)
        if now_on != previous:
            out.append(Handoff(at, previous, now_on))
            previous = now_on
    return out
