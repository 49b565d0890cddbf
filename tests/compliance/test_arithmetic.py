"""Deadline arithmetic of the regulatory clocks (ADR 0032), without a database: elapsed hours across a DST change,
calendar months of different lengths, business days over weekends and holidays for the SEC clock, the earliest of
two rules (DORA), deadlines anchored on submissions, and the regimes' checks with the place of each mistake."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tocsin.compliance import clocks, durations, regimes
from tocsin.compliance.clocks import Sent
from tocsin.core.errors import InvalidInput

BRUSSELS = durations.zone("Europe/Brussels")
NEW_YORK = durations.zone("America/New_York")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_elapsed_hours_ignore_a_dst_change_inside_the_window() -> None:
    # Brussels leaves summer time on 2026-10-25: 72 hours are 72 real hours, three days are 73.
    start = at("2026-10-24T12:00:00+00:00")
    assert durations.parse("PT72H").after(start, BRUSSELS) == at("2026-10-27T12:00:00+00:00")
    assert durations.parse("P3D").after(start, BRUSSELS) == at("2026-10-27T13:00:00+00:00")
    assert durations.parse("PT24H").after(start, BRUSSELS) - start == timedelta(hours=24)
    # Spring forward (2026-03-29): a day is 23 hours of real time.
    spring = at("2026-03-28T10:00:00+00:00")
    assert durations.parse("P1D").after(spring, BRUSSELS) == at("2026-03-29T09:00:00+00:00")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-01-31T10:00:00+00:00", "2026-02-28T10:00:00+00:00"),
        ("2028-01-31T10:00:00+00:00", "2028-02-29T10:00:00+00:00"),
        ("2026-03-31T10:00:00+00:00", "2026-04-30T10:00:00+00:00"),
        ("2026-02-28T10:00:00+00:00", "2026-03-28T10:00:00+00:00"),
        ("2026-12-15T10:00:00+00:00", "2027-01-15T10:00:00+00:00"),
    ],
)
def test_a_month_is_a_calendar_month_clamped_to_its_last_day(start: str, expected: str) -> None:
    assert durations.parse("P1M").after(at(start), durations.zone("UTC")) == at(expected)


def test_a_month_keeps_the_wall_clock_across_dst() -> None:
    # 2026-10-10 14:00 CEST (12:00 UTC) → 2026-11-10 14:00 CET (13:00 UTC).
    assert durations.parse("P1M").after(at("2026-10-10T12:00:00+00:00"), BRUSSELS) == at("2026-11-10T13:00:00+00:00")


def test_sec_business_days_skip_weekends_and_configured_holidays() -> None:
    four = durations.parse("P4BD")
    thanksgiving = {date(2026, 11, 26)}
    # Determined Friday 2026-11-20 (ET): Mon 23, Tue 24, Wed 25, (Thu 26 holiday) Fri 27 → end of Friday, EST.
    friday = at("2026-11-20T15:00:00-05:00")
    assert four.after(friday, NEW_YORK, thanksgiving) == at("2026-11-28T05:00:00+00:00")
    assert four.after(friday, NEW_YORK) == at("2026-11-27T05:00:00+00:00")
    # Late on Friday in New York is already Saturday in UTC: the day counts in the regime's zone.
    assert four.after(at("2026-11-21T04:30:00+00:00"), NEW_YORK, thanksgiving) == at("2026-11-28T05:00:00+00:00")
    # Determined on a Saturday: Monday is the first business day after it.
    assert four.after(at("2026-11-07T12:00:00-05:00"), NEW_YORK) == at("2026-11-13T05:00:00+00:00")
    # A window across the end of summer time (2026-11-01): determined in EDT, due at midnight EST.
    assert four.after(at("2026-10-29T10:00:00-04:00"), NEW_YORK) == at("2026-11-05T05:00:00+00:00")


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "4H", "PT4X", "P4BDT1H", "P1M4BD", "PT0H", "P0D", "P99999D", "P-1D", "PT4H30", "P1.5D"]
)
def test_bad_durations_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(durations.DurationError):
        durations.parse(text)


def test_good_durations_parse() -> None:
    assert durations.parse("pt4h").elapsed == timedelta(hours=4)
    assert durations.parse("P1Y").months == 12
    assert durations.parse("P2W").days == 14
    assert durations.parse("P14D").days == 14
    assert durations.parse("P1DT12H").elapsed == timedelta(hours=12)


def dora() -> list[regimes.Deadline]:
    return regimes.read_deadlines(next(r for r in regimes.DEFAULTS if r.key == "dora").deadlines)


def test_dora_initial_is_the_earlier_of_its_two_rules_and_reports_chain_on_submissions() -> None:
    detected = at("2026-11-02T00:00:00+00:00")
    classified = at("2026-11-02T22:00:00+00:00")
    moments: dict[str, datetime | None] = {"detection": detected, "classification": classified}
    now = at("2026-11-02T23:00:00+00:00")
    initial, intermediate, final = clocks.compute(dora(), moments, [], zone=BRUSSELS, holidays=(), now=now)
    # 4 h after classification would be 02:00 next day; 24 h after detection (00:00 next day) comes first.
    assert initial.due_at == at("2026-11-03T00:00:00+00:00")
    assert initial.anchor == "detection"
    assert initial.status == "running"
    assert intermediate.status == "waiting"
    assert intermediate.due_at is None
    assert final.status == "waiting"
    # Classified early: the 4 h rule wins.
    early = clocks.compute(
        dora(), {**moments, "classification": at("2026-11-02T02:00:00+00:00")}, [], zone=BRUSSELS, holidays=(), now=now
    )
    assert early[0].due_at == at("2026-11-02T06:00:00+00:00")
    assert early[0].status == "overdue"
    sent = [
        Sent("initial", at("2026-11-02T23:30:00+00:00"), False),
        Sent("intermediate", at("2026-11-04T10:00:00+00:00"), False),
        Sent("intermediate", at("2026-11-05T10:00:00+00:00"), False),
    ]
    later = at("2026-11-06T00:00:00+00:00")
    initial, intermediate, final = clocks.compute(dora(), moments, sent, zone=BRUSSELS, holidays=(), now=later)
    assert initial.status == "met"
    assert intermediate.due_at == at("2026-11-05T23:30:00+00:00")
    # The final report runs a month from the latest intermediate report.
    assert final.due_at == at("2026-12-05T10:00:00+00:00")
    assert final.status == "running"


def test_reminder_points_of_a_clock() -> None:
    clock = clocks.Clock(
        key="n",
        title="N",
        due_at=at("2026-11-05T00:00:00+00:00"),
        started_at=at("2026-11-02T00:00:00+00:00"),
        anchor="awareness",
        status="running",
        submitted_at=None,
    )
    points = regimes.read_points(["50%", "PT1H", "P1D", "overdue"])
    assert [clocks.point_time(clock, p) for p in points] == [
        at("2026-11-03T12:00:00+00:00"),
        at("2026-11-04T23:00:00+00:00"),
        at("2026-11-04T00:00:00+00:00"),
        at("2026-11-05T00:00:00+00:00"),
    ]


def _refused(raw: Any, reader: Any = regimes.read_deadlines) -> str:
    with pytest.raises(InvalidInput) as caught:
        reader(raw)
    return caught.value.detail


def test_invalid_regimes_name_the_place_of_the_mistake() -> None:
    def rule(after: str = "PT4H", anchor: str = "awareness") -> dict[str, str]:
        return {"after": after, "anchor": anchor}

    assert _refused([]).startswith("deadlines: ")
    assert _refused([{"key": "a", "rules": [rule("PT4Q")]}]).startswith("deadlines[0].rules[0].after: ")
    assert _refused([{"key": "a", "rules": [rule(anchor="lunch")]}]).startswith("deadlines[0].rules[0].anchor: ")
    detail = _refused([{"key": "a", "rules": [rule()]}, {"key": "b", "rules": [rule(anchor="submission:c")]}])
    assert detail.startswith("deadlines[1].rules[0].anchor: ")
    assert "names no deadline" in detail
    cycle = _refused(
        [
            {"key": "a", "rules": [rule(anchor="submission:b")]},
            {"key": "b", "rules": [rule(anchor="submission:a")]},
        ]
    )
    assert "cycle" in cycle
    assert "a → b → a" in cycle
    assert "cycle" in _refused([{"key": "a", "rules": [rule(anchor="submission:a")]}])
    assert _refused([{"key": "A B", "rules": [rule()]}]).startswith("deadlines[0].key: ")
    assert _refused([{"key": "a", "rules": [rule()]}, {"key": "a", "rules": [rule()]}]).startswith("deadlines[1].key")
    assert _refused(["50%", "1h"], regimes.read_points).startswith("reminders[1]: ")
    assert _refused(["0%"], regimes.read_points).startswith("reminders[0]: ")
    assert _refused(["P1M"], regimes.read_points).startswith("reminders[0]: ")
    assert _refused(["2026-02-30"], regimes.read_holidays).startswith("holidays[0]: ")


def test_the_shipped_regimes_are_valid() -> None:
    for spec in regimes.DEFAULTS:
        assert regimes.read_deadlines(spec.deadlines)
        regimes.read_points(spec.reminders)
        regimes.read_headings(spec.headings)
