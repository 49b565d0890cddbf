"""The public status page under load: ``summary.json`` and the page's HTML, served by one uvicorn process on a
page of 50 components with 90 days of status history and an active incident, under wrk's closed loop (32
connections). Both come from the in-process cache, invalidated on change; the figures are requests per second and
wrk's p99. Target (issue 17): >= 2,000 requests/s with p99 < 50 ms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import procs, wrk
from bench.databases import fresh_database
from tocsin.db.session import Database
from tocsin.incidents.schemas import Actor
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import ComponentStatusChange

COMPONENTS = 50


def seed(url: str, *, components: int = COMPONENTS) -> None:
    db = Database(url)
    now = datetime.now(UTC)
    start = now - timedelta(days=95)
    try:
        with db.unit_of_work() as s:
            page = statuspages.create_page(s, slug="bench", name="Bench Cloud", now=start)
            groups = [statuspages.add_group(s, page, name=f"Region {n}", position=n, now=start) for n in range(5)]
            made = [
                statuspages.add_component(
                    s, page, name=f"Service {n}", group_id=groups[n % 5].id, position=n, now=start
                )
                for n in range(components)
            ]
            for n, component in enumerate(made):
                for day in range(3, 90, 7 + n % 5):
                    at = now - timedelta(days=day, hours=n % 24)
                    s.add(ComponentStatusChange(component_id=component.id, status="partial_outage", at=at, source="b"))
                    s.add(
                        ComponentStatusChange(
                            component_id=component.id, status="operational", at=at + timedelta(minutes=40), source="b"
                        )
                    )
            statuspages.create_incident(
                s,
                page,
                name="Elevated error rates",
                body="We are **investigating** elevated error rates on the API.",
                impact="major",
                components={str(made[0].id): "partial_outage"},
                actor=Actor(label="bench", source="api"),
                now=now,
            )
    finally:
        db.dispose()


def run(*, backend: str, seconds: float, workdir: Path) -> dict[str, Any] | None:
    if not wrk.available():
        return None
    with fresh_database(backend, workdir) as url:
        seed(url)
        env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "WARNING", "TOCSIN_RUN_WORKER": "false"}
        server = procs.uvicorn(f"tocsin-statuspage-{backend}", "tocsin.app:create_app", env=env, log_dir=workdir)
        figures: dict[str, Any] = {"backend": backend, "components": COMPONENTS}
        try:
            # /healthz, the cheapest route of the same app, is the reference: what the machine allows right now.
            pages = (
                ("healthz_reference", "/healthz"),
                ("summary_json", "/status/bench/api/v2/summary.json"),
                ("page_html", "/status/bench"),
            )
            for name, path in pages:
                answer = httpx.get(server.url + path, timeout=30)
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {answer.status_code}")
                result = wrk.run(server.url, "get.lua", seconds=seconds, env={"BENCH_PATH": path})
                figures[name] = {
                    "requests_per_second": round(result.ok_per_second),
                    "p50_ms": round(result.p50_ms, 1),
                    "p99_ms": round(result.p99_ms, 1),
                    "failed": result.failed,
                    "bytes": len(answer.content),
                }
        finally:
            server.stop()
    return figures
