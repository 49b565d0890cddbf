"""Regulatory clocks (ADR 0032): the cost of computing every running clock (the compliance view, ``GET
/api/v1/clocks``, as an admin and as a team member whose view is filtered by visibility) and of one reminder pass
of the engine, with N incidents each classified under two regimes (DORA and GDPR Art. 33).

Run through ``python -m bench.run --only clocks-sqlite`` (or ``clocks-postgres``). Target: the compliance view of
1,000 running classifications under 500 ms p95; an idle reminder pass under 500 ms.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tocsin.registry  # noqa: F401  (the domains' hooks; ADR 0010)
from bench.databases import fresh_database
from bench.stats import percentile
from tocsin.access import service as access
from tocsin.compliance import service as compliance
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _seed(db: Database, count: int) -> int:
    actor = Actor(label="bench", source="api")
    with db.unit_of_work() as s:
        compliance.seed_defaults(s, now=NOW)
        team = teams.create_team(s, name="ops", now=NOW)
        member = users.create_user(s, email="m@example.com", name="M", role="responder", now=NOW)
        teams.set_member(s, team, member)
        service = services.create_service(s, name="core", now=NOW, team_id=team.id)
        service_id, member_id = service.id, member.id
    made = 0
    while made < count:
        with db.unit_of_work() as s:
            for i in range(made, min(made + 200, count)):
                opened = NOW - timedelta(minutes=i % 3000)
                incident = incidents.declare(
                    s, service_id=service_id, title=f"Breach {i}", actor=actor, now=opened, private=i % 10 == 0
                )
                for regime in ("dora", "gdpr-33"):
                    compliance.classify(
                        s,
                        incident,
                        regime,
                        awareness_at=opened,
                        classified_at=opened,
                        determined_at=opened,
                        detected_at=None,
                        note="",
                        actor=actor,
                        now=NOW,
                    )
        made = min(made + 200, count)
    return member_id


def _timed(fn: Any, samples: int) -> dict[str, float]:
    """Wall time, and the process's CPU time beside it: on a shared machine the first is mostly waiting."""
    wall, cpu = [], []
    for _ in range(samples):
        began, began_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return {
        "p50_ms": round(percentile(wall, 50), 1),
        "p95_ms": round(percentile(wall, 95), 1),
        "cpu_p50_ms": round(percentile(cpu, 50), 1),
        "cpu_p95_ms": round(percentile(cpu, 95), 1),
    }


def run(*, backend: str, incidents_count: int, samples: int, workdir: Path) -> dict[str, Any]:
    with fresh_database(backend, workdir) as url:
        db = Database(url)
        try:
            member_id = _seed(db, incidents_count)

            def view(user_id: int | None) -> None:
                with db.reader() as s:
                    viewer = access.viewer_of(s, users.get_user(s, user_id)) if user_id else None
                    compliance.running_clocks(s, viewer, see_all=False, now=NOW)

            def reminder_pass() -> None:
                with db.unit_of_work() as s:
                    compliance.remind_due(s, now=NOW)

            reminder_pass()  # the first pass writes the reminders already due; later ones find nothing new
            return {
                "backend": backend,
                "classifications": incidents_count * 2,
                "compliance_view_admin": _timed(lambda: view(None), samples),
                "compliance_view_member": _timed(lambda: view(member_id), samples),
                "idle_reminder_pass": _timed(reminder_pass, max(3, samples // 4)),
            }
        finally:
            db.dispose()
