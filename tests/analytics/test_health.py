"""On-call health of the fixed data set (conftest) by hand: bands in each person's zone across two DST changes,
broken nights and streaks, hours on call, fairness, thresholds; and the windows in pure form."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.analytics.conftest import SINCE, UNTIL, DataSet
from tocsin.analytics import health, settings
from tocsin.analytics.periods import Period
from tocsin.analytics.windows import Windows, band, longest_streak, night_of, zone
from tocsin.db.session import Database

P = Period(SINCE, UNTIL)


def test_bands_follow_the_local_clock_across_dst() -> None:
    w = Windows()
    ny = zone("America/New_York")
    # 1 November 2026, 12:00 UTC: 08:00 EDT would be off hours; after the change it is 07:00 EST, sleep.
    assert band(datetime(2026, 11, 1, 12, tzinfo=UTC), ny, w) == "sleep"
    assert band(datetime(2026, 10, 31, 12, tzinfo=UTC), ny, w) == "off"  # Saturday 08:00 EDT
    paris = zone("Europe/Paris")
    assert band(datetime(2026, 10, 20, 8, 5, tzinfo=UTC), paris, w) == "business"  # Tuesday 10:05 CEST
    assert band(datetime(2026, 10, 20, 16, 30, tzinfo=UTC), paris, w) == "off"  # Tuesday 18:30 CEST
    assert band(datetime(2026, 10, 26, 3, tzinfo=UTC), paris, w) == "sleep"  # Monday 04:00 CET
    assert night_of(datetime(2026, 10, 26, 3, tzinfo=UTC), paris, w) == date(2026, 10, 25)
    assert zone("Not/AZone").key == "UTC"


def test_streaks() -> None:
    assert longest_streak([]) == 0
    assert longest_streak([date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 4)]) == 2
    assert longest_streak([date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 2)]) == 3


def test_people_by_hand(db: Database, data: DataSet) -> None:
    with db.unit_of_work() as s:
        settings.update(s, {"weekly_sleep_interruptions": 1}, now=SINCE)
    with db.reader() as s:
        found = {h.user_id: h for h in health.people(s, [data.alice, data.bob, data.carol], P)}
    alice, bob, carol = found[data.alice], found[data.bob], found[data.carol]
    # Alice: #1 business (two pages, one interruption), #2 Saturday 22:30 sleep, #3 and #7 sleep.
    assert alice.pages == 5
    assert alice.interruptions == {"business": 1, "off": 0, "sleep": 3}
    assert alice.sleep_nights == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 27)]
    assert alice.longest_streak == 2
    assert alice.incidents_handled == 2
    # Bob: #1 Tuesday 18:30 EDT off, #3 Sunday noon off, #2 Sunday 07:00 EST sleep.
    assert bob.pages == 3
    assert bob.interruptions == {"business": 0, "off": 2, "sleep": 1}
    assert bob.sleep_nights == [date(2026, 10, 31)]
    assert bob.longest_streak == 1
    assert bob.incidents_handled == 1
    # A weekly rotation from the start of the period: a week each, whatever the clocks do.
    assert alice.hours_on_call == 168.0
    assert bob.hours_on_call == 168.0
    # The cancelled page reached nobody; Carol is on no schedule.
    assert (carol.pages, carol.total_interruptions, carol.hours_on_call) == (0, 0, 0.0)
    # Threshold 1 sleep interruption a week: Alice has 1.5, Bob 0.5.
    assert alice.warnings == ["1.5 sleep interruptions a week (threshold 1)"]
    assert bob.warnings == []


def test_fairness(db: Database, data: DataSet) -> None:
    with db.reader() as s:
        fair = health.fairness(health.people(s, [data.alice, data.bob], P))
    assert fair["most_loaded"]["name"] == "Alice"
    assert fair["least_loaded"]["name"] == "Bob"
    assert fair["interruptions"] == {"mean": 3.5, "stdev": 0.5, "min": 3, "max": 4, "max_over_mean": 1.14}


def test_team_and_person_access(api, data: DataSet) -> None:  # type: ignore[no-untyped-def]
    since, until = SINCE.isoformat(), UNTIL.isoformat()
    r = api.get(f"/api/v1/analytics/health/teams/{data.team}?since={since}&until={until}")
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["people"]] == ["Alice", "Bob"]
    carol = api.token_for("carol2@example.com")
    # Not a member: the team is not found; nor is another person's load.
    assert api.get(f"/api/v1/analytics/health/teams/{data.team}", token=carol).status_code == 404
    assert api.get(f"/api/v1/analytics/health/people/{data.alice}", token=carol).status_code == 404
    assert api.get("/api/v1/analytics/health", token=carol).status_code == 403
    r = api.patch("/api/v1/analytics/settings", json={"business_start": 19, "business_end": 9})
    assert r.status_code == 422
    assert "business hours must start before they end" in r.json()["detail"]
    r = api.patch("/api/v1/analytics/settings", json={"sleep_start": 23})
    assert r.status_code == 200
    assert r.json()["sleep_start"] == 23
    assert api.patch("/api/v1/analytics/settings", json={"sleep_start": 23}, token=carol).status_code == 403
