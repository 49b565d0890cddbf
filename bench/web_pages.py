"""Server time of the console's busiest pages on a large database: the incident list and the incident page.

The database is filled straight through Core inserts (fast, and not what is measured): ``incidents`` incidents, of
which 2 % are open and scattered through history, ten alerts each on average, one incident holding many alerts,
and three timeline entries per incident. One open incident is worked as a major incident is: 20 roles held (each
handed over once, so 40 holdings in its history), 20 tasks, and a timeline entry for each. A signed-in client then
fetches each page one request at a time (no concurrency, so the figure is the server's time per page plus a
loopback round trip).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from bench import procs
from bench.databases import fresh_database
from tocsin.alerts.models import Alert
from tocsin.db.session import Database
from tocsin.incidents.models import Counter, Incident, TimelineEntry
from tocsin.incidents.service import INCIDENT_COUNTER
from tocsin.response.models import IncidentRole, IncidentTask, RoleAssignment
from tocsin.services import service as services
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

PASSWORD = "bench-password-0123"
CHUNK = 5000
# The response on the incident shown with roles and tasks: as many roles as tasks.
RESPONSE_ITEMS = 20


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def seed(url: str, *, incidents: int, alerts: int, big_incident_alerts: int) -> dict[str, int]:
    rng = random.Random(7)
    db = Database(url)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        with db.unit_of_work() as s:
            now = datetime.now(UTC)
            users.create_user(
                s,
                email="bench@example.com",
                name="Bench",
                role="admin",
                now=now,
                password_hash=hash_password(PASSWORD),
            )
            service = services.create_service(s, name="bench-web", now=now)
            integration = services.add_integration(s, service, name="bench", type="pagerduty_v2", now=now)
            service_id, integration_id = service.id, integration.id
        words = ["disk", "latency", "errors", "memory", "queue", "certificate", "replication", "timeout"]
        incident_rows: list[dict[str, Any]] = []
        for n in range(1, incidents + 1):
            at = start + timedelta(minutes=5 * n)
            open_ = rng.random() < 0.02
            incident_rows.append(
                {
                    "id": n,
                    "number": n,
                    "title": f"{rng.choice(words)} {rng.choice(words)} on host-{n % 500}",
                    "description": "",
                    "service_id": service_id,
                    "status": "triggered" if open_ else "resolved",
                    "urgency": "high",
                    "severity": "SEV3",
                    "priority": "P3",
                    "alert_count": 0,
                    "created_at": at,
                    "updated_at": at,
                    "resolved_at": None if open_ else at + timedelta(minutes=30),
                }
            )
        per_incident = [0] * (incidents + 1)
        alert_rows: list[dict[str, Any]] = []
        big = incidents // 2
        for i in range(alerts):
            incident = big if i < big_incident_alerts else rng.randint(1, incidents)
            per_incident[incident] += 1
            at = start + timedelta(minutes=5 * incident, seconds=per_incident[incident])
            alert_rows.append(
                {
                    "integration_id": integration_id,
                    "service_id": service_id,
                    "incident_id": incident,
                    "dedup_key": f"k{i}",
                    "status": "resolved",
                    "summary": f"alert {i}",
                    "severity": "error",
                    "source": f"host-{i % 500}",
                    "labels": {"alertname": "HighLatency", "instance": f"host-{i % 500}:9100", "job": "node"},
                    "details": {"value": i},
                    "links": {"links": [{"href": "https://grafana.example/d/1", "text": "dashboard"}]},
                    "event_count": 1,
                    "created_at": at,
                    "last_event_at": at,
                    "resolved_at": at,
                }
            )
        for row in incident_rows:
            row["alert_count"] = per_incident[row["id"]]
        timeline_rows = [
            {
                "incident_id": row["id"],
                "at": row["created_at"] + timedelta(minutes=k),
                "kind": kind,
                "source": "integration" if k == 0 else "web",
                "actor": "bench",
                "message": "",
                "data": {},
            }
            for row in incident_rows
            for k, kind in enumerate(("triggered", "note", "resolved"))
        ]
        with db.unit_of_work() as s:
            for chunk in _chunks(incident_rows):
                s.execute(insert(Incident), chunk)
            s.execute(insert(Counter).values(name=INCIDENT_COUNTER, value=incidents))
        for rows, table in ((alert_rows, Alert), (timeline_rows, TimelineEntry)):
            for chunk in _chunks(rows):
                with db.unit_of_work() as s:
                    s.execute(insert(table), chunk)
        open_numbers = [r["number"] for r in incident_rows if r["status"] != "resolved"]
        worked = open_numbers[len(open_numbers) // 3]
        _seed_response(db, worked, start + timedelta(minutes=5 * worked))
        if db.is_sqlite:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        return {
            "big": big,
            "open": len(open_numbers),
            "sample_open": open_numbers[len(open_numbers) // 2],
            "worked": worked,
        }
    finally:
        db.dispose()


def _seed_response(db: Database, incident_id: int, opened: datetime) -> None:
    """Roles (each handed over once), tasks and their timeline entries on one incident (ids equal numbers here)."""
    with db.unit_of_work() as s:
        user_id = users.get_user(s, "bench@example.com").id
        roles = [
            {
                "name": f"Role {k}",
                "description": "",
                "instructions": "",
                "position": k,
                "created_at": opened,
                "updated_at": opened,
            }
            for k in range(RESPONSE_ITEMS)
        ]
        s.execute(insert(IncidentRole), roles)
        role_ids = list(s.scalars(select(IncidentRole.id).order_by(IncidentRole.position)))
        holdings = []
        for k, role_id in enumerate(role_ids):
            first = opened + timedelta(minutes=k)
            handover = first + timedelta(minutes=30)
            for began, ended in ((first, handover), (handover, None)):
                holdings.append(
                    {
                        "incident_id": incident_id,
                        "role_id": role_id,
                        "user_id": user_id,
                        "assigned_at": began,
                        "ended_at": ended,
                    }
                )
        s.execute(insert(RoleAssignment), holdings)
        tasks = [
            {
                "incident_id": incident_id,
                "position": k,
                "title": f"Task {k}",
                "assignee_user_id": user_id,
                "due_at": opened + timedelta(hours=k),
                "status": "done" if k % 3 == 0 else "open",
                "checklist": "",
                "created_at": opened,
            }
            for k in range(RESPONSE_ITEMS)
        ]
        s.execute(insert(IncidentTask), tasks)
        entries = [
            {
                "incident_id": incident_id,
                "at": opened + timedelta(minutes=k),
                "kind": kind,
                "source": "web",
                "actor": "bench",
                "message": f"{kind} {k}",
                "data": {},
            }
            for k in range(RESPONSE_ITEMS)
            for kind in ("role_assigned", "task_added")
        ]
        s.execute(insert(TimelineEntry), entries)


def _measure(client: httpx.Client, path: str, requests: int) -> dict[str, float]:
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
    }


def run(*, backend: str, incidents: int, alerts: int, requests: int, workdir: Path) -> dict[str, Any]:
    with fresh_database(backend, workdir) as url:
        began = time.monotonic()
        facts = seed(url, incidents=incidents, alerts=alerts, big_incident_alerts=min(200, alerts // 10))
        seeded = time.monotonic() - began
        env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "WARNING", "TOCSIN_RUN_WORKER": "false"}
        server = procs.uvicorn(f"tocsin-web-{backend}", "tocsin.app:create_app", env=env, log_dir=workdir)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                r = client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
                if "tocsin_session" not in client.cookies:
                    raise RuntimeError(f"sign-in failed: {r.status_code}")
                for path in ("/incidents", f"/incidents/{facts['big']}"):
                    client.get(path)  # warm up templates and caches
                pages = {
                    "list_open": "/incidents",
                    "list_all": "/incidents?status=all",
                    "list_search": "/incidents?status=all&q=replication+disk",
                    "incident_typical": f"/incidents/{facts['sample_open']}",
                    "incident_many_alerts": f"/incidents/{facts['big']}",
                    "incident_worked": f"/incidents/{facts['worked']}",
                    "live_rows": "/incidents?partial=rows",
                }
                figures = {name: _measure(client, path, requests) for name, path in pages.items()}
        finally:
            server.stop()
    # The list as responders open it (open incidents, or all); a title search is reported on its own line.
    worst_list = max(figures[n]["p95_ms"] for n in ("list_open", "list_all"))
    worst_page = max(figures[n]["p95_ms"] for n in ("incident_typical", "incident_many_alerts"))
    # The incident page of a worked incident (roles, tasks and their history) is its own target.
    return {
        "backend": backend,
        "incidents": incidents,
        "alerts": alerts,
        "open_incidents": facts["open"],
        "seed_seconds": round(seeded, 1),
        "requests_per_page": requests,
        "list_p95_ms": worst_list,
        "search_p95_ms": figures["list_search"]["p95_ms"],
        "incident_page_p95_ms": worst_page,
        "worked_incident_page_p95_ms": figures["incident_worked"]["p95_ms"],
        "pages": figures,
    }
