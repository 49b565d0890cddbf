"""The on-call calculator: rotations across both DST changes of three zones, layers, restrictions, overrides, gaps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.oncall.calculator import (
    Layer,
    Override,
    Restriction,
    Schedule,
    Shift,
    final_shifts,
    gaps,
    layer_shifts,
    local_to_utc,
    next_handoffs,
    on_call_at,
)

H = timedelta(hours=1)
USERS = ("ann", "ben", "cat")

# (zone, local date of the spring-forward, local date of the fall-back) in 2026.
TRANSITIONS = [
    ("Europe/Berlin", datetime(2026, 3, 29), datetime(2026, 10, 25)),
    ("America/New_York", datetime(2026, 3, 8), datetime(2026, 11, 1)),
    ("Australia/Sydney", datetime(2026, 10, 4), datetime(2026, 4, 5)),
]
CHANGES = [
    pytest.param(zone, day, hours, id=f"{zone}-{kind}")
    for zone, spring, fall in TRANSITIONS
    for kind, day, hours in (("spring", spring, 23), ("fall", fall, 25))
]


def local(zone: str, naive: datetime) -> datetime:
    return naive.replace(tzinfo=ZoneInfo(zone))


def one_layer(zone: str, layer: Layer, *overrides: Override) -> Schedule:
    return Schedule("s", zone, (layer,), tuple(overrides))


def assert_tiles(shifts: list[Shift], start: datetime, end: datetime) -> None:
    assert shifts[0].start == start
    assert shifts[-1].end == end
    for a, b in itertools.pairwise(shifts):
        assert a.end == b.start


# --- wall-clock rotations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "day", "hours"), CHANGES)
def test_daily_handoff_stays_at_nine_local_across_the_change(zone: str, day: datetime, hours: int) -> None:
    tz = ZoneInfo(zone)
    first = local(zone, day.replace(hour=9) - timedelta(days=3))
    layer = Layer("daily", "daily", USERS, first)
    start, end = first.astimezone(UTC), local(zone, day.replace(hour=9) + timedelta(days=3)).astimezone(UTC)
    shifts = final_shifts(one_layer(zone, layer), start, end)
    assert_tiles(shifts, start, end)
    assert len(shifts) == 6
    assert [s.user for s in shifts] == ["ann", "ben", "cat", "ann", "ben", "cat"]
    for s in shifts:
        assert s.start.tzinfo == UTC
        assert s.start.astimezone(tz).time() == time(9, 0)
        assert s.end.astimezone(tz).time() == time(9, 0)
    lengths = [s.end - s.start for s in shifts]
    # The shift that holds the change is 23 or 25 real hours; all others are 24.
    assert sorted(lengths) == sorted([timedelta(hours=24)] * 5 + [timedelta(hours=hours)])
    changed = next(s for s in shifts if s.end - s.start != timedelta(hours=24))
    assert changed.start.astimezone(tz).date() == day.date() - timedelta(days=1)


@pytest.mark.parametrize(("zone", "day", "hours"), CHANGES)
def test_custom_twelve_hour_shift_over_the_change_lasts_eleven_or_thirteen_hours(
    zone: str, day: datetime, hours: int
) -> None:
    tz = ZoneInfo(zone)
    layer = Layer("halves", "custom", ("day", "night"), local(zone, day.replace(hour=8) - timedelta(days=2)), 12 * H)
    start = local(zone, day.replace(hour=8) - timedelta(days=1)).astimezone(UTC)
    end = local(zone, day.replace(hour=8) + timedelta(days=1)).astimezone(UTC)
    shifts = final_shifts(one_layer(zone, layer), start, end)
    assert_tiles(shifts, start, end)
    assert [s.start.astimezone(tz).hour for s in shifts] == [8, 20, 8, 20]
    assert [s.user for s in shifts] == ["day", "night", "day", "night"]
    night_over_change = shifts[1]
    assert night_over_change.end - night_over_change.start == timedelta(hours=hours - 12)
    assert {s.end - s.start for s in (shifts[0], shifts[2], shifts[3])} == {12 * H}


@pytest.mark.parametrize(("zone", "day", "hours"), CHANGES)
def test_every_n_hours_is_elapsed_time(zone: str, day: datetime, hours: int) -> None:
    tz = ZoneInfo(zone)
    layer = Layer("8h", "hourly", USERS, local(zone, day.replace(hour=8) - timedelta(days=1)), 8 * H)
    start = layer.start.astimezone(UTC)
    end = start + timedelta(days=2)
    shifts = final_shifts(one_layer(zone, layer), start, end)
    assert_tiles(shifts, start, end)
    # No merging here: consecutive shifts belong to different people.
    assert len(shifts) == 6
    assert {s.end - s.start for s in shifts} == {8 * H}
    # The wall-clock handoff hour moves by the DST change.
    drift = 1 if hours == 23 else -1
    assert shifts[-1].start.astimezone(tz).hour == (8 + 40 + drift) % 24


@pytest.mark.parametrize(("zone", "day", "hours"), CHANGES)
def test_weekly_handoff_keeps_monday_nine(zone: str, day: datetime, hours: int) -> None:
    tz = ZoneInfo(zone)
    monday = day - timedelta(days=day.weekday() + 7)
    layer = Layer("weekly", "weekly", USERS, local(zone, monday.replace(hour=9)))
    start = layer.start.astimezone(UTC)
    end = local(zone, monday.replace(hour=9) + timedelta(days=21))
    shifts = final_shifts(one_layer(zone, layer), start, end)
    assert [s.user for s in shifts] == list(USERS)
    for s in shifts[:-1]:
        assert s.end.astimezone(tz).weekday() == 0
        assert s.end.astimezone(tz).time() == time(9, 0)
    assert sorted(s.end - s.start for s in shifts[:-1])[0] >= timedelta(days=7, hours=-1)


def test_custom_whole_days_rotation_is_wall_clock() -> None:
    zone = "Europe/Berlin"
    layer = Layer("2d", "custom", ("ann", "ben"), local(zone, datetime(2026, 3, 27, 10)), timedelta(days=2))
    shifts = final_shifts(
        one_layer(zone, layer),
        layer.start,
        local(zone, datetime(2026, 4, 2, 10)),
    )
    assert [s.start.astimezone(ZoneInfo(zone)).hour for s in shifts] == [10, 10, 10]
    assert shifts[0].end - shifts[0].start == timedelta(hours=47)


# --- local times that do not exist or happen twice ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 8), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        ("Australia/Sydney", datetime(2026, 10, 4), datetime(2026, 10, 3, 16, 0, tzinfo=UTC)),
    ],
)
def test_a_time_in_the_gap_happens_when_the_clocks_jump(zone: str, day: datetime, expected: datetime) -> None:
    assert local_to_utc(day.date(), time(2, 30), ZoneInfo(zone)) == expected


def test_an_ambiguous_time_happens_at_its_first_occurrence() -> None:
    tz = ZoneInfo("America/New_York")
    assert local_to_utc(datetime(2026, 11, 1).date(), time(1, 30), tz) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_daily_handoff_inside_the_gap_and_the_repeated_hour() -> None:
    zone = "Europe/Berlin"
    tz = ZoneInfo(zone)
    layer = Layer("late", "daily", ("ann", "ben"), local(zone, datetime(2026, 3, 27, 2, 30)))
    shifts = final_shifts(one_layer(zone, layer), layer.start, local(zone, datetime(2026, 3, 31, 2, 30)))
    handoffs = [s.end.astimezone(tz).time() for s in shifts[:-1]]
    assert handoffs == [time(2, 30), time(3, 0), time(2, 30)]
    autumn = Layer("late", "daily", ("ann", "ben"), local(zone, datetime(2026, 10, 24, 2, 30)))
    shifts = final_shifts(one_layer(zone, autumn), autumn.start, autumn.start + timedelta(days=2))
    assert shifts[0].end == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30, still summer time


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_short_wall_clock_shifts_through_the_gap_never_overlap(zone: str) -> None:
    day = {"Europe/Berlin": datetime(2026, 3, 29), "America/New_York": datetime(2026, 3, 8)}.get(
        zone, datetime(2026, 10, 4)
    )
    layer = Layer("30m", "custom", USERS, local(zone, day), timedelta(minutes=30))
    start, end = layer.start.astimezone(UTC), layer.start.astimezone(UTC) + 6 * H
    shifts = layer_shifts(layer, zone, start, end)
    for a, b in itertools.pairwise(shifts):
        assert a.start < a.end <= b.start
    assert_tiles(final_shifts(one_layer(zone, layer), start, end), start, end)


# --- layers, restrictions, overrides, gaps --------------------------------------------------------------------------


T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday


def test_higher_layer_wins_and_lower_shows_through_outside_its_restriction() -> None:
    base = Layer("base", "weekly", ("ann",), T0)
    business = Layer(
        "business", "daily", ("ben", "cat"), T0, restrictions=(Restriction(time(9), time(17), (0, 1, 2, 3, 4)),)
    )
    sched = Schedule("s", "UTC", (base, business))
    assert on_call_at(sched, T0 + 8 * H) == ("ann",)
    assert on_call_at(sched, T0 + 9 * H) == ("ben",)
    assert on_call_at(sched, T0 + 17 * H) == ("ann",)
    assert on_call_at(sched, T0 + timedelta(days=1, hours=10)) == ("cat",)
    assert on_call_at(sched, T0 + timedelta(days=5, hours=10)) == ("ann",)  # Saturday
    shifts = final_shifts(sched, T0, T0 + timedelta(days=7))
    assert_tiles(shifts, T0, T0 + timedelta(days=7))
    assert sum((s.end - s.start for s in shifts if s.layer == "business"), timedelta(0)) == timedelta(hours=40)


def test_restriction_across_midnight() -> None:
    nights = Layer("nights", "daily", ("ann",), T0, restrictions=(Restriction(time(22), time(6)),))
    sched = Schedule("s", "UTC", (nights,))
    assert on_call_at(sched, T0 + 23 * H) == ("ann",)
    assert on_call_at(sched, T0 + 30 * H - timedelta(seconds=1)) == ("ann",)
    assert on_call_at(sched, T0 + 30 * H) == ()


def test_follow_the_sun_with_windows_in_each_teams_zone() -> None:
    weekdays = (0, 1, 2, 3, 4, 5, 6)
    sydney = Layer(
        "apac", "weekly", ("syd",), T0, restrictions=(Restriction(time(8), time(16), weekdays, "Australia/Sydney"),)
    )
    berlin = Layer(
        "emea", "weekly", ("ber",), T0, restrictions=(Restriction(time(6), time(14), weekdays, "Europe/Berlin"),)
    )
    newyork = Layer(
        "amer", "weekly", ("nyc",), T0, restrictions=(Restriction(time(8), time(16), weekdays, "America/New_York"),)
    )
    sched = Schedule("sun", "UTC", (newyork, berlin, sydney))
    # November: Sydney +11, Berlin +1, New York -5. Sydney 08-16 = 21-05 UTC; Berlin 06-14 = 05-13; New York 13-21.
    start, end = T0 + 21 * H, T0 + timedelta(days=1, hours=21)
    shifts = final_shifts(sched, start, end)
    assert [(s.user, s.end - s.start) for s in shifts] == [("syd", 8 * H), ("ber", 8 * H), ("nyc", 8 * H)]
    assert gaps(sched, start, end) == []
    # March, after New York springs forward and before Europe does: New York is 12-20 UTC, so Berlin (the
    # higher layer) keeps 12-13 and nobody covers 20-21.
    march = datetime(2027, 3, 16, tzinfo=UTC)
    assert on_call_at(sched, march + 12 * H + timedelta(minutes=30)) == ("ber",)
    assert on_call_at(sched, march + 13 * H + timedelta(minutes=30)) == ("nyc",)
    assert on_call_at(sched, march + 20 * H + timedelta(minutes=30)) == ()  # a real gap: Sydney starts at 21:00 UTC
    assert gaps(sched, march + 20 * H, march + 21 * H) == [(march + 20 * H, march + 21 * H)]


def test_layer_start_and_end_bound_its_shifts() -> None:
    later = Layer("later", "daily", ("ann",), T0 + timedelta(days=1), end=T0 + timedelta(days=2))
    sched = Schedule("s", "UTC", (later,))
    assert gaps(sched, T0, T0 + timedelta(days=3)) == [
        (T0, T0 + timedelta(days=1)),
        (T0 + timedelta(days=2), T0 + timedelta(days=3)),
    ]


def test_override_wins_inside_its_window_only() -> None:
    layer = Layer("daily", "daily", ("ann", "ben"), T0)
    o = Override("zed", T0 + 10 * H, T0 + 12 * H)
    sched = Schedule("s", "UTC", (layer,), (o,))
    assert on_call_at(sched, T0 + 10 * H - timedelta(microseconds=1)) == ("ann",)
    assert on_call_at(sched, T0 + 10 * H) == ("zed",)
    assert on_call_at(sched, T0 + 12 * H) == ("ann",)
    shifts = final_shifts(sched, T0, T0 + 24 * H)
    assert [(s.user, s.is_override) for s in shifts] == [("ann", False), ("zed", True), ("ann", False)]


def test_override_fills_a_gap_and_replacing_override_only_replaces_its_user() -> None:
    layer = Layer("daily", "daily", ("ann", "ben"), T0, end=T0 + 48 * H)
    sched = Schedule(
        "s",
        "UTC",
        (layer,),
        (Override("zed", T0 + 47 * H, T0 + 50 * H), Override("cat", T0, T0 + 48 * H, replaces="ben")),
    )
    assert on_call_at(sched, T0 + 49 * H) == ("zed",)
    assert on_call_at(sched, T0 + 1 * H) == ("ann",)
    assert on_call_at(sched, T0 + 25 * H) == ("cat",)
    assert gaps(sched, T0, T0 + 51 * H) == [(T0 + 50 * H, T0 + 51 * H)]


def test_empty_schedule_is_one_gap() -> None:
    sched = Schedule("empty", "Europe/Berlin")
    assert final_shifts(sched, T0, T0 + H) == []
    assert on_call_at(sched, T0) == ()
    assert gaps(sched, T0, T0 + H) == [(T0, T0 + H)]


def test_a_rotation_needs_a_positive_shift_length() -> None:
    with pytest.raises(ValueError, match="positive shift_length"):
        final_shifts(Schedule("s", "UTC", (Layer("x", "hourly", ("ann",), T0),)), T0, T0 + H)


def test_restriction_rejects_bad_weekdays() -> None:
    with pytest.raises(ValueError, match="weekdays"):
        Restriction(time(9), time(17), (7,))


def test_handoffs_include_one_at_the_end_of_the_range() -> None:
    layer = Layer("daily", "daily", ("ann", "ben"), T0 + 9 * H)
    sched = Schedule("s", "UTC", (layer,))
    handoffs = next_handoffs(sched, T0 + 20 * H, T0 + 33 * H)
    assert [(h.at, h.from_users, h.to_users) for h in handoffs] == [(T0 + 33 * H, ("ann",), ("ben",))]
    assert next_handoffs(sched, T0 + 20 * H, T0 + 32 * H) == []


def test_handoff_ignores_a_change_of_layer_with_the_same_person() -> None:
    base = Layer("base", "weekly", ("ann",), T0)
    top = Layer("top", "daily", ("ann",), T0, restrictions=(Restriction(time(9), time(17)),))
    sched = Schedule("s", "UTC", (base, top), (Override("ben", T0 + 20 * H, T0 + 21 * H),))
    handoffs = next_handoffs(sched, T0, T0 + 24 * H)
    assert [(h.at, h.to_users) for h in handoffs] == [(T0 + 20 * H, ("ben",)), (T0 + 21 * H, ("ann",))]


def test_a_restriction_window_inside_the_gap_never_happens() -> None:
    zone = "Europe/Berlin"
    start = local(zone, datetime(2026, 3, 28))
    window = Restriction(time(2, 0), time(2, 30))
    layer = Layer("tiny", "daily", ("ann",), start, restrictions=(window,))
    shifts = layer_shifts(layer, zone, start, start + timedelta(days=3))
    assert [s.start.astimezone(ZoneInfo(zone)).day for s in shifts] == [28, 30]
    assert all(s.end - s.start == timedelta(minutes=30) for s in shifts)
