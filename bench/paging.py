"""From an event's 2xx to the page leaving Tocsin, and how many pages a second the engine sends.

Both run Tocsin as real processes that page people through signed webhooks to a local sink: ``tocsin serve``
with its in-process engine, or ``tocsin serve`` without one beside a ``tocsin worker`` on the same SQLite file
(each process then has an interpreter, and so a core, of its own). Loopback is refused by the SSRF guard unless
allow-listed, hence ``TOCSIN_OUTBOUND_ALLOWLIST=127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import openloop, procs, profiling, seed
from bench.databases import fresh_database
from bench.sink import Arrival, ThreadedSink, WebhookSink
from bench.stats import percentiles
from tocsin.db.session import Database
from tocsin.engine.modules.escalation import EscalationModule
from tocsin.notify.providers.webhook import verify_standard_webhook


def _signatures_valid(arrivals: list[Arrival], secrets: list[str]) -> int:
    """How many of the kept requests carry a valid Standard Webhooks signature for their person's secret."""
    valid = 0
    for a in arrivals:
        if a.headers is None:
            continue
        person = int(a.path.rsplit("/", 1)[-1])
        if verify_standard_webhook(secrets[person], a.headers, a.body, now=time.time()):
            valid += 1
    return valid


def _title(arrival: Arrival) -> str:
    try:
        incident = json.loads(arrival.body)["data"]["incident"]
    except (ValueError, KeyError, TypeError):
        return ""
    return str(incident.get("title", "")) if isinstance(incident, dict) else ""


async def _event_to_page(
    url: str, *, rate: float, seconds: float, workdir: Path, profile_dir: Path | None, worker: bool
) -> dict[str, Any]:
    sink = WebhookSink()
    await sink.start()
    total = max(1, int(rate * seconds))
    world = await asyncio.to_thread(
        seed.paging_world, url, people=math.ceil(total / seed.PAGES_PER_PERSON), webhook_base=sink.url
    )
    env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_OUTBOUND_ALLOWLIST": "127.0.0.1"}
    engine: procs.Process | None = None
    if worker:
        engine = await asyncio.to_thread(procs.tocsin_worker, env, log_dir=workdir)
        server = await asyncio.to_thread(procs.tocsin_serve, {**env, "TOCSIN_RUN_WORKER": "false"}, log_dir=workdir)
    else:
        server = await asyncio.to_thread(procs.tocsin_serve, env, log_dir=workdir)
    processes = [server] if engine is None else [server, engine]

    cpu_at_start = {p.name: p.cpu_seconds() for p in processes}
    run = uuid.uuid4().hex[:8]
    answered: dict[str, float] = {}

    def make_request(i: int) -> tuple[str, bytes]:
        body = {
            "routing_key": world.keys[i % len(world.keys)],
            "event_action": "trigger",
            "dedup_key": f"{run}-{i}",
            "payload": {"summary": f"{run}-{i}", "source": "bench", "severity": "critical"},
        }
        return "/v2/enqueue", json.dumps(body).encode()

    def on_response(i: int, at: float, _status: int, _body: bytes) -> None:
        answered[f"{run}-{i}"] = at

    try:
        # The sampler is entered and left in a thread: py-spy is waited for, which must not stall the sink.
        sampler = profiling.maybe(server.pid, profile_dir, "event-to-page-server")
        await asyncio.to_thread(sampler.__enter__)
        engine_sampler: AbstractContextManager[None] = (
            profiling.maybe(engine.pid, profile_dir, "event-to-page-worker") if engine else nullcontext()
        )
        await asyncio.to_thread(engine_sampler.__enter__)
        try:
            assert server.port is not None
            load = await openloop.run(
                "127.0.0.1", server.port, rate=rate, seconds=seconds, make_request=make_request, on_response=on_response
            )
            await sink.wait_for(load.ok, within=max(30.0, seconds * 6))
            gave_up = time.monotonic()
            rss = max(p.peak_rss_mb() for p in processes)
            cpu_used = {p.name: p.cpu_seconds() - cpu_at_start[p.name] for p in processes}
        finally:
            await asyncio.to_thread(engine_sampler.__exit__, None, None, None)
            await asyncio.to_thread(sampler.__exit__, None, None, None)
    finally:
        for p in processes:
            await asyncio.to_thread(p.stop)
        await sink.stop()
    first_page: dict[str, float] = {}
    for a in sink.arrivals:
        first_page.setdefault(_title(a), a.at)
    delays = [first_page[t] - at for t, at in answered.items() if t in first_page]
    # A page that never came within the wait counts as late as the wait itself: a lower bound, never dropped.
    missing = [gave_up - at for t, at in answered.items() if t not in first_page]
    spread = percentiles(delays + missing)
    return {
        "processes": "tocsin serve + tocsin worker" if engine else "tocsin serve",
        "rate_per_s": rate,
        "events_sent": load.sent,
        "events_accepted": load.ok,
        **({"events_refused": dict(load.failures)} if load.failures else {}),
        "pages_received": len(sink.arrivals),
        "pages_matched": len(delays),
        "pages_missing": len(missing),
        "signatures_checked": sum(1 for a in sink.arrivals if a.headers is not None),
        "signatures_valid": _signatures_valid(sink.arrivals, world.secrets),
        "ingest_p50_ms": load.summary()["p50_ms"],
        "ingest_p99_ms": load.summary()["p99_ms"],
        "event_to_page_p50_ms": round(spread["p50"] * 1000, 1),
        "event_to_page_p99_ms": round(spread["p99"] * 1000, 1),
        "event_to_page_max_ms": round(spread["max"] * 1000, 1),
        "server_peak_rss_mb": rss,
        # Everything the server did per event: HTTP, ingest, firing the step, sending the page, recording it.
        "server_cpu_ms_per_event": round(sum(cpu_used.values()) * 1000 / max(1, load.ok), 3),
        # With a worker beside the server, what each process spent (HTTP and ingest; the engine).
        **(
            {f"{name}_cpu_ms_per_event": round(sec * 1000 / max(1, load.ok), 3) for name, sec in cpu_used.items()}
            if engine
            else {}
        ),
    }


def event_to_page(
    *, rate: float, seconds: float, workdir: Path, profile_dir: Path | None = None, worker: bool = True
) -> dict[str, Any]:
    """``worker``: the engine runs in a ``tocsin worker`` beside the server; otherwise inside ``tocsin serve``."""
    with fresh_database("sqlite", workdir) as url:
        return asyncio.run(
            _event_to_page(url, rate=rate, seconds=seconds, workdir=workdir, profile_dir=profile_dir, worker=worker)
        )


def notification_throughput(*, messages: int, workdir: Path, profile_dir: Path | None = None) -> dict[str, Any]:
    """Queue ``messages`` due pages (incidents opened and their first step fired here), then time a separate
    ``tocsin worker`` sending them all."""
    with fresh_database("sqlite", workdir) as url, ThreadedSink() as sink:
        world = seed.paging_world(url, people=math.ceil(messages / seed.PAGES_PER_PERSON), webhook_base=sink.url)
        seed.open_incidents(url, world.keys, messages)
        db = Database(url)
        try:
            firing = EscalationModule(db, owner="bench-seed", batch=1000)
            while firing.run_once(datetime.now(UTC)):
                pass
        finally:
            db.dispose()
        env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_OUTBOUND_ALLOWLIST": "127.0.0.1"}
        started = time.monotonic()
        worker = procs.tocsin_worker(env, log_dir=workdir)
        cpu_at_start = 0.0
        try:
            with profiling.maybe(worker.pid, profile_dir, "notify-throughput-worker"):
                deadline = started + 60 + messages / 50
                while not sink.arrivals and time.monotonic() < deadline:
                    if worker.popen.poll() is not None:
                        raise RuntimeError(f"tocsin worker exited:\n{worker.log_tail()}")
                    time.sleep(0.01)
                # From the first page on: start-up (imports, connections) is not sending.
                cpu_at_start = worker.cpu_seconds()
                while len(sink.arrivals) < messages and time.monotonic() < deadline:
                    if worker.popen.poll() is not None:
                        raise RuntimeError(f"tocsin worker exited:\n{worker.log_tail()}")
                    time.sleep(0.1)
                rss = worker.peak_rss_mb()
                cpu = worker.cpu_seconds() - cpu_at_start
        finally:
            worker.stop()
        arrivals = list(sink.arrivals)
    if len(arrivals) >= 2:
        span = arrivals[-1].at - arrivals[0].at
        rate = (len(arrivals) - 1) / span if span > 0 else 0.0
    else:
        rate = 0.0
    return {
        "queued": messages,
        "received": len(arrivals),
        "first_after_start_s": round(arrivals[0].at - started, 2) if arrivals else None,
        "messages_per_s": round(rate, 1),
        "signatures_checked": sum(1 for a in arrivals if a.headers is not None),
        "signatures_valid": _signatures_valid(arrivals, world.secrets),
        "worker_peak_rss_mb": rss,
        "worker_cpu_ms_per_message": round(cpu * 1000 / max(1, len(arrivals) - 1), 3),
    }
