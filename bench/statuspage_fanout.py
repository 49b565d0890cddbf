"""One status page update fanned out to many email subscribers, while paging goes on.

Real processes, as deployed: ``tocsin serve`` (HTTP and ingest) beside one ``tocsin worker`` (the engine, whose
status page lane sends the mail) on one SQLite file, a local SMTP server (aiosmtpd) that accepts every message,
and a webhook sink that stands for the on-call people's phones. Events arrive at a steady rate before the update
(the reference) and during the fan-out; the figures are how long the fan-out took until the SMTP server held every
mail, and event-to-page latency in both phases. Target (issue 17): 10,000 subscribers within 2 minutes, without
blocking paging."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert

from bench import openloop, procs, seed
from bench.databases import fresh_database
from bench.sink import WebhookSink
from bench.stats import percentiles
from tocsin.db.session import Database
from tocsin.incidents.schemas import Actor
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import Subscriber


class _Counter:
    """Accepts every message; notes when each arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.arrivals.append(time.monotonic())
        return "250 OK"


def _seed_page(url: str, subscribers: int) -> None:
    db = Database(url)
    now = datetime.now(UTC)
    try:
        with db.unit_of_work() as s:
            page = statuspages.create_page(s, slug="fanout", name="Fan-out Cloud", now=now)
            statuspages.add_component(s, page, name="API", now=now)
            rows = [
                {
                    "page_id": page.id,
                    "kind": "email",
                    "address": f"subscriber-{i}@example.com",
                    "component_ids": [],
                    "confirmed_at": now,
                    "created_at": now,
                    "created_ip": "",
                    "failures": 0,
                }
                for i in range(subscribers)
            ]
            s.execute(insert(Subscriber), rows)
    finally:
        db.dispose()


def _publish(url: str) -> int:
    db = Database(url)
    try:
        with db.unit_of_work() as s:
            page = statuspages.get_page(s, "fanout")
            (component,) = statuspages.components(s, page)
            row, _ = statuspages.create_incident(
                s,
                page,
                name="Elevated error rates",
                body="We are investigating elevated error rates on the API.",
                impact="major",
                components={str(component.id): "partial_outage"},
                actor=Actor(label="bench", source="api"),
                now=datetime.now(UTC),
            )
            return row.id
    finally:
        db.dispose()


async def _run(url: str, *, subscribers: int, rate: float, workdir: Path, within: float) -> dict[str, Any]:
    counter = _Counter()
    smtp = Controller(counter, hostname="127.0.0.1", port=procs.free_port())
    smtp.start()
    sink = WebhookSink()
    await sink.start()
    people = 40
    world = await asyncio.to_thread(seed.paging_world, url, people=people, webhook_base=sink.url)
    await asyncio.to_thread(_seed_page, url, subscribers)
    env = {
        "TOCSIN_DATABASE_URL": url,
        "TOCSIN_OUTBOUND_ALLOWLIST": "127.0.0.1",
        "TOCSIN_SMTP_HOST": "127.0.0.1",
        "TOCSIN_SMTP_PORT": str(smtp.port),
        "TOCSIN_SMTP_FROM": "status@example.com",
    }
    engine = await asyncio.to_thread(procs.tocsin_worker, env, log_dir=workdir)
    # A busy machine may take more than a minute to start the server.
    server = await asyncio.to_thread(
        procs.tocsin_serve, {**env, "TOCSIN_RUN_WORKER": "false"}, log_dir=workdir, wait=180.0
    )
    run = uuid.uuid4().hex[:8]
    answered: dict[str, float] = {}
    phase_of: dict[str, str] = {}
    phase = "reference"

    def make_request(i: int) -> tuple[str, bytes]:
        title = f"{run}-{phase}-{i}"
        phase_of[title] = phase
        body = {
            "routing_key": world.keys[i % len(world.keys)],
            "event_action": "trigger",
            "dedup_key": title,
            "payload": {"summary": title, "source": "bench", "severity": "critical"},
        }
        return "/v2/enqueue", json.dumps(body).encode()

    def on_response(i: int, at: float, _status: int, _body: bytes) -> None:
        answered[f"{run}-{phase}-{i}"] = at

    try:
        assert server.port is not None
        # A contact method pages at most 5 times in 15 minutes: two events per person and phase keep under it.
        per_phase = 2 * people
        await openloop.run(
            "127.0.0.1", server.port, rate=rate, seconds=per_phase / rate, make_request=make_request,
            on_response=on_response,
        )  # fmt: skip
        await sink.wait_for(per_phase, within=30)
        phase = "fanout"
        started = time.monotonic()
        await asyncio.to_thread(_publish, url)
        queued = time.monotonic() - started
        load = asyncio.create_task(
            openloop.run(
                "127.0.0.1",
                server.port,
                rate=rate,
                seconds=per_phase / rate,
                make_request=make_request,
                on_response=on_response,
            )
        )
        deadline = started + within
        while len(counter.arrivals) < subscribers and time.monotonic() < deadline:  # noqa: ASYNC110  (another thread's count)
            await asyncio.sleep(0.2)
        finished = counter.arrivals[-1] if counter.arrivals else time.monotonic()
        await load
        await sink.wait_for(2 * per_phase, within=30)
        worker_rss = engine.peak_rss_mb()
    finally:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(engine.stop)
        await sink.stop()
        smtp.stop()
    first: dict[str, float] = {}
    for a in sink.arrivals:
        title = _title(a.body)
        first.setdefault(title, a.at)
    figures: dict[str, Any] = {
        "subscribers": subscribers,
        "mails_received": len(counter.arrivals),
        "queue_seconds": round(queued, 2),
        "fanout_seconds": round(finished - started, 1),
        "mails_per_second": round(len(counter.arrivals) / max(0.001, finished - started)),
        "paging_rate_per_s": rate,
        "worker_peak_rss_mb": worker_rss,
    }
    for name in ("reference", "fanout"):
        delays = [first[t] - at for t, at in answered.items() if phase_of.get(t) == name and t in first]
        missing = sum(1 for t in answered if phase_of.get(t) == name and t not in first)
        spread = percentiles(delays)
        figures[f"event_to_page_{name}_p50_ms"] = round(spread["p50"] * 1000, 1)
        figures[f"event_to_page_{name}_p99_ms"] = round(spread["p99"] * 1000, 1)
        figures[f"event_to_page_{name}_max_ms"] = round(spread["max"] * 1000, 1)
        figures[f"pages_missing_{name}"] = missing
    return figures


def _title(body: bytes) -> str:
    try:
        incident = json.loads(body)["data"]["incident"]
    except (ValueError, KeyError, TypeError):
        return ""
    return str(incident.get("title", "")) if isinstance(incident, dict) else ""


def run(*, subscribers: int, rate: float = 10.0, workdir: Path, within: float = 300.0) -> dict[str, Any]:
    with fresh_database("sqlite", workdir) as url:
        return asyncio.run(_run(url, subscribers=subscribers, rate=rate, workdir=workdir, within=within))
