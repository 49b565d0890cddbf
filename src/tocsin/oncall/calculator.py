"""Who is on call, when: a pure function of a schedule and an instant or a range.

Rotations
    ``daily``, ``weekly`` and ``custom`` rotations are wall-clock rotations: the k-th handoff is at the local
    time ``start + k * length`` read on the wall clock of the schedule's zone. A daily 09:00 handoff stays at
    09:00 across DST changes, so the daily shift that contains a spring-forward lasts 23 real hours and the one
    with a fall-back 25. A ``custom`` 12-hour shift (08:00/20:00) spanning a change lasts 11 or 13 real hours,
    and a ``custom`` "2d" rotation hands off at the same local time every second day.
    ``hourly`` ("every N hours") rotations use elapsed time: every shift lasts exactly ``shift_length`` real
    time, whatever the wall clock does, so their local handoff times move by an hour across a DST change.
Local times that do not exist or happen twice
    A wall-clock time is reached the first time the wall clock shows it or a later time. A handoff at a local
    time that does not exist (inside the spring-forward gap, e.g. 02:30 in Berlin) happens when the clocks jump
    (03:00 local); an ambiguous one (inside the fall-back hour) happens at its first occurrence. This keeps the
    handoffs of a rotation in order, so shifts of one layer never overlap. Restriction windows follow the
    same rules.
Layers and overrides
    Layer 0 is the lowest; where a higher layer has someone on call, it wins. A layer's restrictions cut its
    shifts to the listed windows; outside them the layers below show through. An override puts its user on
    call for its range, instead of whoever is on call (or, with ``replaces``, only where that user is on
    call); where overrides overlap, the one listed last wins. At any instant exactly one person is on call,
    or nobody where the schedule has a gap.
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
_WALL_CLOCK = ("daily", "weekly", "custom")


@dataclass(frozen=True, slots=True)
class Restriction:
    """A window of local time, starting on the listed weekdays (Monday = 0); ``end <= start`` crosses midnight.

    The window is read in the schedule's zone, or in ``timezone`` when given: a follow-the-sun schedule gives each
    team's layer a window in the team's own zone, and each window then follows its own zone's DST changes.
    """

    start: time
    end: time
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    timezone: str | None = None

    def __post_init__(self) -> None:
        if not self.days or any(d not in range(7) for d in self.days):
            raise ValueError(f"restriction days must be weekdays 0 (Monday) to 6 (Sunday), not {list(self.days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("restriction times are local wall-clock times, without a zone offset")
        if self.timezone is not None:
            ZoneInfo(self.timezone)


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
    # Users who may not be paged (deactivated): their turns are gaps, lower layers showing through, and their
    # overrides do nothing. The rotation order is kept, so nobody else's shifts move.
    absent: frozenset[str] = frozenset()


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
    """A local wall-clock time as a UTC instant: a time in a gap when the clocks jump, an ambiguous one first."""
    return wall_to_utc(datetime.combine(day, at), tz)


def wall_to_utc(naive: datetime, tz: ZoneInfo) -> datetime:
    """A naive local date-time as a UTC instant, under the rules in the module docstring."""
    naive = naive.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=tz)
    # Round-tripping reveals a nonexistent time: it comes back with another wall-clock reading.
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    return _gap_end(naive, tz)


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clocks jump over ``naive`` (which lies in a gap)."""
    # Read with the offset after the jump, the time lands before the jump; with the one before, after it.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    before = lo.astimezone(tz).utcoffset()
    # Zone transitions fall on whole seconds: bisect to the first second with the new offset.
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _handoff(layer: Layer, tz: ZoneInfo, k: int) -> datetime:
    """The instant the k-th shift of a layer starts (k may be negative)."""
    length = _length(layer)
    if layer.rotation in _WALL_CLOCK:
        local = layer.start.astimezone(tz).replace(tzinfo=None)
        return wall_to_utc(local + k * length, tz)
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
    # Two days of margin: a window in another zone may start on a local date up to a day away from ours.
    day = start.astimezone(tz).date() - timedelta(days=2)
    last = end.astimezone(tz).date() + timedelta(days=2)
    while day <= last:
        for r in restrictions:
            if day.weekday() not in r.days:
                continue
            zone = ZoneInfo(r.timezone) if r.timezone else tz
            a = local_to_utc(day, r.start, zone)
            b = local_to_utc(day + timedelta(days=1) if r.end <= r.start else day, r.end, zone)
            # A window wholly inside a spring-forward gap (02:00-02:30) never happens: a < b drops it.
            if a < b and b > start and a < end:
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
    # Both lists are sorted and free of overlaps: walk them together.
    w = 0
    for s in shifts:
        while w < len(windows) and windows[w][1] <= s.start:
            w += 1
        i = w
        while i < len(windows) and windows[i][0] < s.end:
            a, b = windows[i]
            cut.append(Shift(s.user, max(a, s.start), min(b, s.end), s.layer))
            i += 1
    return cut


def final_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The schedule as it will page: layers stacked, overrides applied, adjacent equal shifts merged."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    tz = ZoneInfo(schedule.timezone)
    per_layer = [
        [s for s in layer_shifts(layer, tz, start, end) if s.user not in schedule.absent] for layer in schedule.layers
    ]
    overrides = [o for o in schedule.overrides if o.end > start and o.start < end and o.user not in schedule.absent]
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


_TICK = timedelta(microseconds=1)


def on_call_at(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    shifts = final_shifts(schedule, at, at + _TICK)
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
    # Look one tick past ``until``: a shift that starts exactly at ``until`` is part of a handoff at ``until``,
    # and the range's own end must not read as everybody going off call.
    shifts = final_shifts(schedule, after, until + _TICK)
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
