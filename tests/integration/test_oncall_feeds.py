"""iCalendar feeds behind secret URLs, parsed back as RFC 5545 with the icalendar library."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from tests.conftest import ApiHarness

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def feed_path(url: str) -> str:
    assert url.startswith("http://tocsin.test/ical/")
    return url.removeprefix("http://tocsin.test")


def events(body: bytes) -> list[Any]:
    cal = icalendar.Calendar.from_ical(body)
    return [c for c in cal.walk("VEVENT")]


def setup_schedule(api: ApiHarness, start: datetime = MONDAY - timedelta(days=20, hours=3)) -> dict[str, Any]:
    for name in ("ann", "ben"):
        api.token_for(f"{name}@example.com")
    r = api.post(
        "/api/v1/schedules",
        json={
            "name": "Payments primary",
            "timezone": "Europe/Berlin",
            "layers": [
                {"rotation": "daily", "start": iso(start), "users": ["ann@example.com", "ben@example.com"]},
            ],
        },
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_schedule_feed_is_valid_rfc5545(api: ApiHarness) -> None:
    sched = setup_schedule(api)
    r = api.client.get(feed_path(sched["ical_url"]))  # no bearer token: the URL is the secret
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    raw = r.content
    # Every line ends in CRLF, and no line is longer than 75 octets.
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 75
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["VERSION"] == "2.0"
    assert cal["PRODID"] == "-//Tocsin//On-call//EN"
    assert cal["METHOD"] == "PUBLISH"
    assert cal["X-WR-CALNAME"] == "On call: Payments primary"
    found = events(raw)
    assert len(found) >= 60  # a week back and sixty days ahead of daily shifts
    for event in found:
        for field in ("DTSTART", "DTEND", "DTSTAMP"):
            assert event.decoded(field).tzinfo is not None
            assert event.decoded(field).utcoffset() == timedelta(0)
        assert event.decoded("DTEND") > event.decoded("DTSTART")
    assert re.search(rb"^DTSTART:\d{8}T\d{6}Z\r$", raw, re.MULTILINE)
    assert re.search(rb"^DTEND:\d{8}T\d{6}Z\r$", raw, re.MULTILINE)
    summaries = {str(e["SUMMARY"]) for e in found}
    assert summaries == {"On call: ann@example.com", "On call: ben@example.com"}
    # The layer started 12 October 23:00 CEST (21:00 UTC); after the 25 October change its handoffs stay at
    # 23:00 local, which is now 22:00 UTC.
    starts = sorted(e.decoded("DTSTART") for e in found)
    assert {s.astimezone(ZoneInfo("Europe/Berlin")).hour for s in starts} == {23}
    assert {s.hour for s in starts} == {22}
    # The first event is the shift under way a week ago, with its real start.
    assert starts[0] <= api.clock.now() - timedelta(days=7) < starts[1]


def test_uids_are_unique_and_stable_across_fetches(api: ApiHarness) -> None:
    sched = setup_schedule(api)
    path = feed_path(sched["ical_url"])
    first = {e.decoded("DTSTART"): str(e["UID"]) for e in events(api.client.get(path).content)}
    assert len(set(first.values())) == len(first)
    api.clock.advance(timedelta(hours=5))
    second = {e.decoded("DTSTART"): str(e["UID"]) for e in events(api.client.get(path).content)}
    shared = first.keys() & second.keys()
    assert len(shared) >= 60
    assert all(first[k] == second[k] for k in shared)
    # The shift under way a week back keeps its real start, not the start of the window, so its UID holds too.
    assert min(first) == min(second)
    assert all(uid.endswith("@tocsin.test") for uid in first.values())


def test_unknown_token_is_404_and_tokens_are_long_random_strings(api: ApiHarness) -> None:
    sched = setup_schedule(api)
    token = sched["ical_url"].rsplit("/", 1)[1].removesuffix(".ics")
    # URL-safe base64: 6 bits per character; at least 128 bits of randomness.
    assert len(token) * 6 >= 128
    assert math.log2(64) * len(token) >= 128
    r = api.client.get("/ical/schedules/not-a-token.ics")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert api.client.get(f"/ical/schedules/{token[:-1]}.ics").status_code == 404
    assert api.client.get(f"/ical/users/{token}.ics").status_code == 404
    other = api.post("/api/v1/schedules", json={"name": "other"}).json()
    assert other["ical_url"] != sched["ical_url"]
    assert api.post("/api/v1/schedules/other/ical-url", token=api.token_for("ann2@example.com")).status_code == 403
    rotated = api.post("/api/v1/schedules/other/ical-url").json()["ical_url"]
    assert api.client.get(feed_path(other["ical_url"])).status_code == 404
    assert api.client.get(feed_path(rotated)).status_code == 200
    assert api.get("/api/v1/schedules/other").json()["ical_url"] == rotated


def test_personal_feed_has_only_that_persons_shifts_across_schedules(api: ApiHarness) -> None:
    setup_schedule(api)
    r = api.post(
        "/api/v1/schedules",
        json={
            "name": "Database",
            "layers": [{"rotation": "weekly", "start": iso(MONDAY), "users": ["ben@example.com", "ann@example.com"]}],
        },
    )
    assert r.status_code == 201
    url = api.post("/api/v1/users/ann@example.com/oncall/ical-url").json()["ical_url"]
    raw = api.client.get(feed_path(url)).content
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["X-WR-CALNAME"] == "On call: ann@example.com"
    assert cal["METHOD"] == "PUBLISH"
    found = events(raw)
    names = {str(e["SUMMARY"]) for e in found}
    assert names == {"On call: Payments primary", "On call: Database"}
    database = sorted(e.decoded("DTSTART") for e in found if str(e["SUMMARY"]) == "On call: Database")
    assert database[0] == MONDAY + timedelta(days=7)
    assert all(later - earlier == timedelta(days=14) for earlier, later in itertools.pairwise(database))
    # Rotating the secret retires the old URL.
    new_url = api.post("/api/v1/users/ann@example.com/oncall/ical-url", params={"rotate": "true"}).json()["ical_url"]
    assert api.client.get(feed_path(url)).status_code == 404
    assert api.client.get(feed_path(new_url)).status_code == 200
