"""Ingest throughput: the no-op ceiling, Tocsin on SQLite or PostgreSQL, and Prometheus Alertmanager as a peer.

Each server is one process on 127.0.0.1 driven by the same load generators: wrk (32 connections, closed loop)
for sustained throughput, and the open-loop generator at a fixed rate for latency.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench import openloop, procs, profiling, seed, wrk
from bench.databases import fresh_database
from tocsin.alerts.models import Alert
from tocsin.db.session import Database

BATCH = 100
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")


def _pd_body(key: str, run: str, i: int) -> bytes:
    return json.dumps(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": f"{run}-{i}",
            "payload": {"summary": f"Disk almost full {run}-{i}", "source": "bench", "severity": "critical"},
        }
    ).encode()


def _fixed_rate(port: int, key: str, *, rate: float, seconds: float) -> dict[str, Any]:
    run = "fixed-" + uuid.uuid4().hex[:8]
    result = asyncio.run(
        openloop.run(
            "127.0.0.1", port, rate=rate, seconds=seconds, make_request=lambda i: ("/v2/enqueue", _pd_body(key, run, i))
        )
    )
    return result.summary()


def ceiling(*, seconds: float, workdir: Path) -> dict[str, Any]:
    server = procs.uvicorn("ceiling", "bench.ceiling_app:create_app", env={}, log_dir=workdir)
    try:
        result = wrk.run(server.url, "pagerduty.lua", seconds=seconds, env={"BENCH_ROUTING_KEY": "x" * 32})
    finally:
        server.stop()
    return {
        "requests_per_s": round(result.ok_per_second, 1),
        "failed": result.failed,
        "wrk_p50_ms": result.p50_ms,
        "wrk_p99_ms": result.p99_ms,
        "peak_rss_mb": server.peak_rss_mb(),
    }


def _stored_alerts(url: str) -> int:
    db = Database(url)
    try:
        with db.reader() as s:
            return int(s.execute(select(func.count()).select_from(Alert)).scalar_one())
    finally:
        db.dispose()


def _commit_batches(base_url: str) -> tuple[float, float]:
    """(commits, submissions) so far, from the ingest writer's histogram on /metrics."""
    text = httpx.get(base_url + "/metrics", timeout=30).text
    figures = {"count": 0.0, "sum": 0.0}
    for line in text.splitlines():
        for suffix in figures:
            if line.startswith(f"tocsin_ingest_batch_submissions_{suffix} "):
                figures[suffix] = float(line.split()[1])
    return figures["count"], figures["sum"]


def _mean_batch(before: tuple[float, float], after: tuple[float, float]) -> float:
    commits = after[0] - before[0]
    return round((after[1] - before[1]) / commits, 1) if commits else 0.0


def tocsin(
    *,
    backend: str,
    seconds: float,
    rate: float,
    rate_seconds: float,
    workdir: Path,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    with fresh_database(backend, workdir) as url:
        world = seed.ingest_world(url)
        env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "WARNING"}
        server = procs.uvicorn(f"tocsin-{backend}", "tocsin.app:create_app", env=env, log_dir=workdir)
        try:
            before = _commit_batches(server.url)
            with profiling.maybe(server.pid, profile_dir, f"ingest-{backend}-pagerduty"):
                single = wrk.run(
                    server.url, "pagerduty.lua", seconds=seconds, env={"BENCH_ROUTING_KEY": world.routing_key}
                )
            single_batch = _mean_batch(before, _commit_batches(server.url))
            assert server.port is not None
            fixed = _fixed_rate(server.port, world.routing_key, rate=rate, seconds=rate_seconds)
            with profiling.maybe(server.pid, profile_dir, f"ingest-{backend}-alertmanager"):
                batches = wrk.run(
                    server.url,
                    "alertmanager_webhook.lua",
                    seconds=seconds,
                    env={"BENCH_INTEGRATION_KEY": world.alertmanager_key, "BENCH_BATCH": str(BATCH)},
                )
            rss = server.peak_rss_mb()
        finally:
            server.stop()
        stored = _stored_alerts(url)
    accepted = single.ok + int(fixed["ok"]) + batches.ok * BATCH
    return {
        "backend": backend,
        "events_per_s": round(single.ok_per_second, 1),
        "events_failed": single.failed,
        "wrk_p50_ms": single.p50_ms,
        "wrk_p99_ms": single.p99_ms,
        # Submissions per group commit while wrk ran: small batches mean per-commit costs dominate.
        "mean_commit_batch": single_batch,
        "fixed_rate": fixed,
        "alertmanager_alerts_per_s": round(batches.ok_per_second * BATCH, 1),
        "alertmanager_batches_failed": batches.failed,
        "alertmanager_p99_ms": batches.p99_ms,
        "accepted": accepted,
        "stored_alerts": stored,
        # Requests still in flight when a run ends are stored too, so stored may exceed accepted, never trail it.
        "stored_covers_accepted": stored >= accepted,
        "peak_rss_mb": rss,
    }


def alertmanager_binary() -> str | None:
    return next((p for p in map(shutil.which, ALERTMANAGER_BINARIES) if p), None)


def alertmanager(*, seconds: float, workdir: Path) -> dict[str, Any] | None:
    """The same batches to Alertmanager's own API; None when Alertmanager is not installed."""
    binary = alertmanager_binary()
    if binary is None:
        return None
    config = workdir / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    storage = workdir / "alertmanager-data"
    storage.mkdir(exist_ok=True)
    port = procs.free_port()
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.path={storage}",
        "--cluster.listen-address=",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    proc = procs.start("alertmanager", args, port=port, log_dir=workdir)
    try:
        proc.wait_http("/-/ready")
        result = wrk.run(proc.url, "alertmanager_api.lua", seconds=seconds, env={"BENCH_BATCH": str(BATCH)})
        rss = proc.peak_rss_mb()
    finally:
        proc.stop()
    return {
        "binary": binary,
        "alerts_per_s": round(result.ok_per_second * BATCH, 1),
        "batches_failed": result.failed,
        "p99_ms": result.p99_ms,
        "peak_rss_mb": rss,
    }
