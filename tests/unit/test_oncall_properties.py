"""Properties of the on-call calculator over random schedules in zones with DST, around their changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.oncall.calculator import (
    Layer,
    Override,
    Restriction,
    Schedule,
    final_shifts,
    gaps,
    layer_shifts,
    on_call_at,
)

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "UTC"]
# Both 2026 changes of the northern zones and the southern ones fall inside this span.
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
SPAN_HOURS = 24 * 250
USERS = ("a", "b", "c", "d")

instants = st.integers(0, SPAN_HOURS * 60).map(lambda m: EPOCH + timedelta(minutes=m))
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30]))


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    rotation = draw(st.sampled_from(["daily", "weekly", "hourly", "custom"]))
    length = None
    if rotation in ("hourly", "custom"):
        length = timedelta(minutes=draw(st.sampled_from([30, 60, 90, 180, 480, 720, 1440, 2880])))
    restrictions = tuple(
        Restriction(draw(clock_times), draw(clock_times), tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1)))))
        for _ in range(draw(st.integers(0, 2)))
    )
    start = draw(instants) - timedelta(days=draw(st.integers(0, 30)))
    users = tuple(draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=4)))
    return Layer(f"l{draw(st.integers(0, 999))}", rotation, users, start, length, restrictions)  # type: ignore[arg-type]


@st.composite
def overrides(draw: st.DrawFn) -> Override:
    start = draw(instants)
    end = start + timedelta(minutes=draw(st.integers(1, 60 * 72)))
    return Override(draw(st.sampled_from((*USERS, "z"))), start, end, draw(st.none() | st.sampled_from(USERS)))


schedules = st.builds(
    Schedule,
    name=st.just("s"),
    timezone=st.sampled_from(ZONES),
    layers=st.lists(layers(), max_size=3).map(tuple),
    overrides=st.lists(overrides(), max_size=3).map(tuple),
)
ranges = st.tuples(instants, st.integers(1, 24 * 10)).map(lambda p: (p[0], p[0] + timedelta(hours=p[1])))


@settings(max_examples=60, deadline=None)
@given(schedules, ranges)
def test_final_shifts_and_gaps_tile_the_range_without_overlap(
    schedule: Schedule, span: tuple[datetime, datetime]
) -> None:
    start, end = span
    shifts = final_shifts(schedule, start, end)
    pieces = sorted([(s.start, s.end) for s in shifts] + gaps(schedule, start, end))
    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    for (a0, a1), (b0, b1) in itertools.pairwise(pieces):
        assert a0 < a1 == b0 < b1
    for s in shifts:
        assert s.start.tzinfo == UTC
        assert s.end.tzinfo == UTC


@settings(max_examples=60, deadline=None)
@given(schedules, instants)
def test_at_most_one_person_and_the_same_answer_as_the_shift_list(schedule: Schedule, at: datetime) -> None:
    now = on_call_at(schedule, at)
    assert len(now) <= 1
    around = final_shifts(schedule, at - timedelta(days=2), at + timedelta(days=2))
    covering = [s.user for s in around if s.start <= at < s.end]
    assert tuple(covering) == now


@settings(max_examples=60, deadline=None)
@given(schedules, overrides(), st.integers(0, 999_999))
def test_an_override_always_wins_inside_its_window(schedule: Schedule, override: Override, where: int) -> None:
    plain = Override(override.user, override.start, override.end)
    with_override = Schedule(schedule.name, schedule.timezone, schedule.layers, (*schedule.overrides, plain))
    at = override.start + (override.end - override.start) * where // 1_000_000
    assert on_call_at(with_override, at) == (override.user,)
    assert on_call_at(with_override, override.end) == on_call_at(
        Schedule(schedule.name, schedule.timezone, schedule.layers, schedule.overrides), override.end
    )


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ZONES), clock_times, instants, st.sampled_from(["daily", "weekly"]))
def test_wall_clock_handoffs_keep_their_local_time(zone: str, at: time, day: datetime, rotation: str) -> None:
    tz = ZoneInfo(zone)
    start = datetime.combine(day.astimezone(tz).date(), at, tz)
    layer = Layer("l", rotation, ("a", "b"), start)  # type: ignore[arg-type]
    shifts = final_shifts(Schedule("s", zone, (layer,)), start, start + timedelta(days=60))
    for s in shifts[:-1]:
        handoff = s.end.astimezone(tz).time()
        # A handoff inside a spring-forward gap happens when the clocks jump, so at most an hour late.
        assert handoff == at or (
            datetime.combine(s.end.date(), handoff) - datetime.combine(s.end.date(), at)
        ) <= timedelta(hours=1)


@settings(max_examples=60, deadline=None)
@given(layers(), st.sampled_from(ZONES), ranges)
def test_one_layers_shifts_are_ordered_non_empty_and_apart(
    layer: Layer, zone: str, span: tuple[datetime, datetime]
) -> None:
    shifts = layer_shifts(layer, zone, *span)
    for s in shifts:
        assert span[0] <= s.start < s.end <= span[1]
    for a, b in itertools.pairwise(shifts):
        assert a.end <= b.start


@settings(max_examples=60, deadline=None)
@given(layers(), st.sampled_from(ZONES), ranges)
def test_an_unrestricted_rotation_leaves_no_gap(layer: Layer, zone: str, span: tuple[datetime, datetime]) -> None:
    # Whatever the DST changes in the range, a rotation that has begun covers every instant.
    begun = Layer(layer.name, layer.rotation, layer.users, span[0] - timedelta(days=1), layer.shift_length)
    schedule = Schedule("s", zone, (begun,))
    assert gaps(schedule, *span) == []
    assert len({s.user for s in final_shifts(schedule, *span)} - set(layer.users)) == 0
