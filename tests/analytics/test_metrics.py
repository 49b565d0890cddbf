"""Response metrics of the fixed data set (conftest), each figure computed by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.analytics.conftest import SINCE, UNTIL, DataSet
from tocsin.analytics import facts, metrics, reliability
from tocsin.analytics import repository as repo
from tocsin.analytics.periods import Period
from tocsin.db.session import Database

P = Period(SINCE, UNTIL)


def keep_facts(db: Database) -> None:
    """What the backfill does on a running engine: every incident's facts written, so that reads trust them."""
    with db.unit_of_work() as s:
        written, more = facts.backfill(s, now=UNTIL)
    assert written >= 8
    assert not more
    with db.reader() as s:
        assert all(r.known for r in repo.incident_rows(s, SINCE, UNTIL))


@pytest.mark.parametrize("kept", [False, True], ids=["computed", "kept-facts"])
def test_overall_figures_by_hand(db: Database, data: DataSet, kept: bool) -> None:
    if kept:
        keep_facts(db)
    with db.reader() as s:
        body = metrics.report(s, P)
    o = body["overall"]
    # Incidents 1, 2, 3 and 7: the drill (4), the merged (5), the canceled (6) and the one after the period (8)
    # are left out.
    assert o["count"] == 4
    # Acknowledged after 300, 600 and 1800 s (7 never was): median 600; p90 at rank 1.8 = 600 + 0.8 * 1200.
    assert o["mtta"] == {"count": 3, "median": 600.0, "p90": 1560.0, "mean": 900.0}
    # Resolved after 2400 (1), 5400 (2, after its reopening) and 7200 s (7).
    assert o["mttr"] == {"count": 3, "median": 5400.0, "p90": 6840.0, "mean": 5000.0}
    # Detection: impact 09:50 → detected 09:58 (480 s); first alert 11:57 → detected 12:00 (180 s).
    assert o["mttd"] == {"count": 2, "median": 330.0, "p90": 450.0, "mean": 330.0}
    assert o["mttm"] == {"count": 1, "median": 1200.0, "p90": 1200.0, "mean": 1200.0}
    assert o["first_update"] == {"count": 1, "median": 900.0, "p90": 900.0, "mean": 900.0}
    # Downtime: 09:50 → 10:40 (3000 s), 12:00 → 13:30 (5400 s), 00:00 → 02:00 (7200 s); 3 is still open.
    assert o["downtime"]["count"] == 3
    assert o["downtime"]["median"] == 5400.0
    assert o["escalations"] == {"total": 3, "per_incident": 0.75}
    assert o["reopened"] == 1
    # Of the three resolved, 7 was resolved by its monitor.
    assert o["auto_resolved"] == {"resolved": 3, "auto": 1, "share": 0.3333}
    assert o["downtime_cost"] == 500.0


@pytest.mark.parametrize("kept", [False, True], ids=["computed", "kept-facts"])
def test_by_service_and_severity(db: Database, data: DataSet, kept: bool) -> None:
    if kept:
        keep_facts(db)
    with db.reader() as s:
        by_service = metrics.report(s, P, by="service", with_trend=False)["groups"]
        by_severity = metrics.report(s, P, by="severity", with_trend=False)["groups"]
    services = {g["label"]: g for g in by_service}
    assert services["api"]["count"] == 2
    assert services["db"]["count"] == 2
    assert services["api"]["mtta"]["median"] == 450.0
    assert services["db"]["mttr"]["median"] == 7200.0
    assert {g["label"]: g["count"] for g in by_severity} == {"SEV2": 2, "SEV1": 1, "SEV3": 1}


def test_weekly_trend_has_every_week(db: Database, data: DataSet) -> None:
    with db.reader() as s:
        trend = metrics.report(s, P, bucket="week")["trend"]
    assert [b["start"][:10] for b in trend] == ["2026-10-19", "2026-10-26"]
    assert [b["count"] for b in trend] == [2, 2]


def test_reliability_per_service(db: Database, data: DataSet) -> None:
    with db.reader() as s:
        body = reliability.report(s, P)
    rows = {r["service"]: r for r in body["services"]}
    assert rows["api"] == {
        "service_id": data.api,
        "service": "api",
        "incidents": 2,
        "downtime_minutes": 140.0,
        "cost": 500.0,
    }
    assert rows["db"]["downtime_minutes"] == 120.0
    assert rows["db"]["cost"] is None


BAD = [
    ("since=2026-11-01&until=2026-10-01", "must come after"),
    ("by=colour", "unknown group-by field"),
    ("bucket=day", "unknown bucket"),
    ("since=yesterday", "neither a duration"),
    ("service=nope", "unknown service"),
]


def test_bad_input_is_422(api) -> None:  # type: ignore[no-untyped-def]
    for query, message in BAD:
        r = api.get(f"/api/v1/analytics/metrics?{query}")
        assert r.status_code == 422, (query, r.text)
        assert message in r.json()["detail"]
    assert api.get("/api/v1/analytics/metrics?since=30d&by=service&format=csv").status_code == 200
