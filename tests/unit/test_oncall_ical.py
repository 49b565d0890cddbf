"""The iCalendar writer on its own: escaping, folding, UTC times and stable UIDs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from tocsin.oncall.calculator import Shift
from tocsin.oncall.ical import feed, shift_uid

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_names_with_special_characters_survive_a_round_trip() -> None:
    name = "Ops, EU; nights \\ on-call — " + "x" * 120
    shift = Shift("7", T0, T0 + timedelta(hours=12))
    raw = feed(name, [("schedule-1", shift, f"On call: {name}")], prodid="-//T//T//EN", domain="d.test", stamp=T0)
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["X-WR-CALNAME"]) == name
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"On call: {name}"
    assert event.decoded("DTSTART") == T0
    assert b"DTSTART:20261102T090000Z\r\n" in raw
    assert b"DTEND:20261102T210000Z\r\n" in raw


def test_uid_depends_on_feed_user_and_start_only() -> None:
    a = Shift("7", T0, T0 + timedelta(hours=12))
    longer = Shift("7", T0, T0 + timedelta(hours=20), layer="other")
    assert shift_uid("schedule-1", a, "d.test") == shift_uid("schedule-1", longer, "d.test")
    assert shift_uid("schedule-1", a, "d.test") != shift_uid("schedule-2", a, "d.test")
    assert shift_uid("schedule-1", a, "d.test") != shift_uid("schedule-1", Shift("8", T0, a.end), "d.test")
    assert shift_uid("schedule-1", a, "d.test").endswith("@d.test")


def test_an_empty_calendar_is_still_valid() -> None:
    raw = feed("Empty", [], prodid="-//T//T//EN", domain="d.test", stamp=T0)
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["VERSION"] == "2.0"
    assert cal.walk("VEVENT") == []
