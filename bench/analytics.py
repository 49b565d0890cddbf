"""The analytics over a large history: the dashboard (response metrics and service reliability for 90 days) and
on-call health (a team of ten, and everyone), timed in process on SQLite and PostgreSQL; the dashboard before and
after the incidents' facts are kept (ADR 0038).

Run: .venv/bin/python -m bench.analytics [--incidents 100000] [--notifications 1000000] [--people 200]
     [--repeats 20] [--backend sqlite|postgres|both]
Writes bench/results/analytics.json. Targets: dashboard p95 < 500 ms and on-call health p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

import tocsin.registry  # noqa: F401  (the domains' hooks; ADR 0010)
from bench.databases import fresh_database, postgres_available
from tocsin.analytics import facts as incident_facts
from tocsin.analytics import health, periods
from tocsin.analytics import service as analytics
from tocsin.db.session import Database
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify.models import ContactMethod, Notification
from tocsin.oncall.models import Schedule, ScheduleLayer
from tocsin.services.models import Service
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results" / "analytics.json"
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")
TEAM_SIZE = 10
CHUNK = 20_000


def _chunks(rows: list[dict[str, Any]]) -> Any:
    for i in range(0, len(rows), CHUNK):
        yield rows[i : i + CHUNK]


def seed(db: Database, *, incidents: int, notifications: int, people: int) -> dict[str, Any]:
    """A history over the last 100 days: teams of ten on weekly rotations, a service per team and a half, incidents
    spread evenly, each with a few timeline entries, and pages to the team's members."""
    rnd = random.Random(7)
    start = NOW - timedelta(days=100)
    teams = max(1, people // TEAM_SIZE)
    with db.unit_of_work() as s:
        s.execute(
            insert(User),
            [
                {
                    "id": i + 1,
                    "email": f"person{i}@example.com",
                    "name": f"Person {i}",
                    "timezone": ZONES[i % len(ZONES)],
                    "role": "responder",
                    "created_at": start,
                }
                for i in range(people)
            ],
        )
        s.execute(insert(Team), [{"id": t + 1, "name": f"team-{t}", "created_at": start} for t in range(teams)])
        s.execute(
            insert(TeamMember),
            [{"team_id": (u % teams) + 1, "user_id": u + 1, "role": "member"} for u in range(people)],
        )
        services = teams * 3 // 2 or 1
        s.execute(
            insert(Service),
            [
                {
                    "id": i + 1,
                    "name": f"service-{i}",
                    "team_id": (i % teams) + 1,
                    "created_at": start,
                    "downtime_cost_per_minute": 5.0 if i % 2 else None,
                }
                for i in range(services)
            ],
        )
        s.execute(
            insert(ContactMethod),
            [
                {
                    "id": u + 1,
                    "user_id": u + 1,
                    "name": "mail",
                    "type": "email",
                    "address": f"p{u}@example.com",
                    "created_at": start,
                }
                for u in range(people)
            ],
        )
        s.execute(
            insert(Schedule),
            [
                {
                    "id": t + 1,
                    "name": f"rota-{t}",
                    "timezone": ZONES[t % len(ZONES)],
                    "team_id": t + 1,
                    "feed_token": f"feed-{t}",
                    "created_at": start,
                }
                for t in range(teams)
            ],
        )
        s.execute(
            insert(ScheduleLayer),
            [
                {
                    "schedule_id": t + 1,
                    "position": 0,
                    "name": "primary",
                    "rotation": "weekly",
                    "start": start,
                    "user_ids": [u + 1 for u in range(people) if u % teams == t],
                    "restrictions": [],
                }
                for t in range(teams)
            ],
        )
    span = (NOW - start).total_seconds()
    rows: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    for n in range(incidents):
        created = start + timedelta(seconds=span * n / incidents)
        service = rnd.randrange(services) + 1
        ack = created + timedelta(seconds=rnd.expovariate(1 / 300))
        resolved = ack + timedelta(seconds=rnd.expovariate(1 / 3600))
        rows.append(
            {
                "id": n + 1,
                "number": n + 1,
                "title": f"incident {n}",
                "service_id": service,
                "status": "resolved",
                "response_status": "resolved",
                "severity": f"SEV{rnd.randrange(1, 5)}",
                "priority": f"P{rnd.randrange(1, 5)}",
                "assigned_user_id": rnd.randrange(people) + 1,
                "created_at": created,
                "updated_at": resolved,
                "acknowledged_at": ack,
                "resolved_at": resolved,
                "detected_at": created,
                "drill": n % 500 == 0,
            }
        )
        timeline.append(_entry(n + 1, "triggered", created))
        timeline.append(_entry(n + 1, "acknowledged", ack, user=1))
        if n % 3 == 0:
            timeline.append(_entry(n + 1, "escalated", created + timedelta(minutes=5)))
        timeline.append(_entry(n + 1, "resolved", resolved, user=None if n % 4 == 0 else 1))
    pages: list[dict[str, Any]] = []
    per_incident = max(1, notifications // max(incidents, 1))
    for n in range(notifications):
        incident = rows[(n // per_incident) % incidents]
        team = (incident["service_id"] - 1) % teams
        user = team + teams * rnd.randrange(TEAM_SIZE) + 1
        user = min(user, people)
        at = incident["created_at"] + timedelta(seconds=60 * (n % per_incident))
        pages.append(
            {
                "idempotency_key": f"bench:{n}",
                "kind": "page",
                "incident_id": incident["id"],
                "user_id": user,
                "contact_method_id": user,
                "status": "sent",
                "attempts": 1,
                "fence": 0,
                "payload": {},
                "created_at": at,
                "sent_at": at,
            }
        )
    for table, data in ((Incident, rows), (TimelineEntry, timeline), (Notification, pages)):
        for chunk in _chunks(data):
            with db.unit_of_work() as s:
                s.execute(insert(table), chunk)
    return {"teams": teams, "services": services, "timeline_entries": len(timeline)}


def _entry(incident_id: int, kind: str, at: datetime, user: int | None = None) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at": at,
        "kind": kind,
        "source": "web" if user else "engine",
        "actor_user_id": user,
        "actor": "",
        "message": "",
        "data": {},
    }


def backfill(db: Database) -> int:
    """What the engine's analytics_facts module does after an upgrade: every incident's facts, a batch at a time."""
    written, more = 0, True
    while more:
        with db.unit_of_work() as s:
            n, more = incident_facts.backfill(s, batch=5000, now=NOW)
        written += n
    return written


def timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    fn()  # warm: statements compiled, pages cached, as on a running server
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 1),
        "max_ms": round(samples[-1], 1),
    }


def measure(url: str, *, incidents: int, notifications: int, people: int, repeats: int) -> dict[str, Any]:
    db = Database(url)
    try:
        started = time.perf_counter()
        facts = seed(db, incidents=incidents, notifications=notifications, people=people)
        seeded = time.perf_counter() - started
        p = periods.period("90d", None, now=NOW)

        def dashboard() -> object:
            with db.reader() as s:
                return analytics.dashboard(s, p, by="service", bucket="week", visible=None, service_ids=None, now=NOW)

        # First with no kept facts (every figure from the timelines: a fresh upgrade before the backfill ran),
        # then after the backfill, the running engine's steady state.
        computed = timed(dashboard, max(3, repeats // 4))
        started = time.perf_counter()
        kept = backfill(db)
        backfilled = time.perf_counter() - started

        def team() -> object:
            with db.reader() as s:
                members = [u for u in range(1, people + 1) if (u - 1) % facts["teams"] == 0]
                return health.report(s, members, p)

        def everyone() -> object:
            with db.reader() as s:
                return health.report(s, list(range(1, people + 1)), p)

        return {
            "seed_s": round(seeded, 1),
            **facts,
            "dashboard_90d_without_kept_facts": computed,
            "facts_backfill": {"incidents": kept, "seconds": round(backfilled, 1)},
            "dashboard_90d": timed(dashboard, repeats),
            "health_team_90d": timed(team, repeats),
            "health_everyone_90d": timed(everyone, max(3, repeats // 4)),
        }
    finally:
        db.dispose()


def run(
    *, backend: str, incidents: int, notifications: int, people: int, repeats: int, workdir: Path
) -> dict[str, Any]:
    if backend == "postgres" and (why := postgres_available()) is not None:
        return {"skipped": why}
    with fresh_database(backend, workdir) as url:
        return {
            "backend": backend,
            "incidents": incidents,
            "notifications": notifications,
            "people": people,
            **measure(url, incidents=incidents, notifications=notifications, people=people, repeats=repeats),
            "target_p95_ms": 500,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--notifications", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    result: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            result[backend] = run(
                backend=backend,
                incidents=args.incidents,
                notifications=args.notifications,
                people=args.people,
                repeats=args.repeats,
                workdir=Path(tmp),
            )
            print(json.dumps({backend: result[backend]}, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
