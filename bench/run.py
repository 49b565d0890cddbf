"""``python -m bench.run [--quick] [--only NAME[,NAME]] [--out DIR]``: run the benchmarks and write the report.

Sizes come in three profiles: ``full`` (the default, the figures worth committing), ``quick`` (under a minute or
so, for a look while working) and ``smoke`` (tiny, proves the harness works; used by the test suite).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    analytics,
    chat,
    clocks,
    engine_timers,
    ingest,
    knowledge,
    noise,
    paging,
    profiling,
    report,
    statuspage,
    statuspage_fanout,
    trackers,
    web_pages,
    workflows,
)
from bench.databases import postgres_available
from bench.procs import ROOT, scratch_dir

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Profile:
    name: str
    wrk_seconds: float
    fixed_rate: float
    fixed_seconds: float
    escalation_pending: int
    escalation_due: int
    escalation_window: float
    backlog_pending: int  # 0: no large-backlog run
    page_rate: float
    page_seconds: float
    notify_messages: int
    web_incidents: int
    web_alerts: int
    web_requests: int
    noise_events: int
    knowledge_incidents: int = 100_000  # past incidents behind search and similar incidents


PROFILES = {
    "full": Profile("full", 10, 1000, 10, 10_000, 10_000, 20, 100_000, 500, 10, 5000, 100_000, 1_000_000, 40, 4000),
    "quick": Profile(
        "quick", 2, 1000, 2, 500, 500, 5, 0, 500, 1, 300, 10_000, 100_000, 20, 1000, knowledge_incidents=5000
    ),
    "smoke": Profile("smoke", 1, 100, 0.5, 60, 40, 1, 0, 40, 0.5, 40, 200, 2_000, 3, 100, knowledge_incidents=300),
}

# The analytics benchmark's history per profile: incidents, notifications, people, timed repeats.
ANALYTICS_SIZES = {
    "full": (100_000, 1_000_000, 200, 20),
    "quick": (10_000, 100_000, 200, 10),
    "smoke": (300, 3_000, 20, 2),
}
FANOUT = {"full": 10_000, "quick": 2_000, "smoke": 50}

# (sizes, scratch directory, where to put profiles or None) -> figures, or None when skipped
Bench = Callable[[Profile, Path, Path | None], dict[str, Any] | None]

BENCHMARKS: dict[str, Bench] = {
    "ceiling": lambda p, d, _prof: ingest.ceiling(seconds=p.wrk_seconds, workdir=d),
    "ingest-sqlite": lambda p, d, prof: ingest.tocsin(
        backend="sqlite",
        seconds=p.wrk_seconds,
        rate=p.fixed_rate,
        rate_seconds=p.fixed_seconds,
        workdir=d,
        profile_dir=prof,
    ),
    "alertmanager-peer": lambda p, d, _prof: ingest.alertmanager(seconds=p.wrk_seconds, workdir=d),
    "ingest-postgres": lambda p, d, prof: ingest.tocsin(
        backend="postgres",
        seconds=p.wrk_seconds,
        rate=p.fixed_rate,
        rate_seconds=p.fixed_seconds,
        workdir=d,
        profile_dir=prof,
    ),
    "escalation": lambda p, d, prof: engine_timers.run(
        pending=p.escalation_pending,
        due=p.escalation_due,
        window=p.escalation_window,
        backend="sqlite",
        workdir=d,
        profile_dir=prof,
    ),
    "escalation-backlog": lambda p, d, prof: (
        engine_timers.run(
            pending=p.backlog_pending,
            due=p.escalation_due,
            window=p.escalation_window,
            backend="sqlite",
            workdir=d,
            profile_dir=prof,
        )
        if p.backlog_pending
        else None
    ),
    # `tocsin serve` for HTTP and ingest beside one `tocsin worker` for the engine, on one SQLite file.
    "event-to-page": lambda p, d, prof: paging.event_to_page(
        rate=p.page_rate, seconds=p.page_seconds, workdir=d, profile_dir=prof
    ),
    # One `tocsin serve` doing everything under one interpreter lock, at the same rate and at three fifths of it.
    "event-to-page-one-process": lambda p, d, prof: paging.event_to_page(
        rate=p.page_rate, seconds=p.page_seconds, workdir=d, profile_dir=prof, worker=False
    ),
    "event-to-page-light": lambda p, d, prof: paging.event_to_page(
        rate=round(p.page_rate * 0.6), seconds=p.page_seconds, workdir=d, profile_dir=prof, worker=False
    ),
    "notify-throughput": lambda p, d, prof: paging.notification_throughput(
        messages=p.notify_messages, workdir=d, profile_dir=prof
    ),
    "noise-rules": lambda p, d, _prof: noise.run(events=p.noise_events, samples=p.noise_events, workdir=d),
    "web-sqlite": lambda p, d, _prof: web_pages.run(
        backend="sqlite", incidents=p.web_incidents, alerts=p.web_alerts, requests=p.web_requests, workdir=d
    ),
    "statuspage": lambda p, d, _prof: statuspage.run(backend="sqlite", seconds=p.wrk_seconds, workdir=d),
    # One status page update to 10,000 email subscribers (2,000 in --quick) while events page people (issue 17).
    "statuspage-fanout": lambda p, d, _prof: statuspage_fanout.run(subscribers=FANOUT[p.name], workdir=d),
    "web-postgres": lambda p, d, _prof: web_pages.run(
        backend="postgres", incidents=p.web_incidents, alerts=p.web_alerts, requests=p.web_requests, workdir=d
    ),
    # Response metrics, reliability and on-call health over 90 days of a large history (ADR 0031).
    "analytics-sqlite": lambda p, d, _prof: _analytics("sqlite", p, d),
    "analytics-postgres": lambda p, d, _prof: _analytics("postgres", p, d),
    # Regulatory clocks (ADR 0032): the compliance view and a reminder pass over every running classification.
    "clocks-sqlite": lambda p, d, _prof: clocks.run(
        backend="sqlite", incidents_count=min(p.web_incidents, 500), samples=20, workdir=d
    ),
    "clocks-postgres": lambda p, d, _prof: clocks.run(
        backend="postgres", incidents_count=min(p.web_incidents, 500), samples=20, workdir=d
    ),
    # Remote issues created in Jira through its fake, some answered 429 first (ADR 0035).
    "trackers-sqlite": lambda p, d, _prof: trackers.run(issues=p.notify_messages, backend="sqlite", workdir=d),
    "trackers-postgres": lambda p, d, _prof: trackers.run(issues=p.notify_messages, backend="postgres", workdir=d),
    # 1,000 incidents declared over 60 s, each starting a 5-step workflow (ADR 0027).
    "workflows": lambda p, d, prof: workflows.run(
        incidents_count=1000, window=60.0, backend="sqlite", workdir=d, profile_dir=prof
    ),
    # 200 incidents asking for a Matrix war room at once, on a real Synapse (ADR 0033).
    "chat-rooms": lambda p, d, _prof: chat.run(rooms=200, backend="sqlite", workdir=d),
    # Search and similar incidents over past incidents, and precision@5 / recall@5 on a labelled set (ADR 0030).
    "knowledge-sqlite": lambda p, d, _prof: knowledge.run(
        incidents_count=p.knowledge_incidents, backend="sqlite", workdir=d
    ),
    "knowledge-postgres": lambda p, d, _prof: knowledge.run(
        incidents_count=p.knowledge_incidents, backend="postgres", workdir=d
    ),
}


def _analytics(backend: str, p: Profile, workdir: Path) -> dict[str, Any] | None:
    incidents, notifications, people, repeats = ANALYTICS_SIZES[p.name]
    return analytics.run(
        backend=backend,
        incidents=incidents,
        notifications=notifications,
        people=people,
        repeats=repeats,
        workdir=workdir,
    )


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _loop_ns() -> float:
    """Nanoseconds per iteration of an empty Python loop, the best of three: how fast this machine runs Python
    right now. It drifts by half on the machines these benchmarks run on, so figures of runs taken at different
    speeds are not comparable."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(2_000_000):
            pass
        best = min(best, time.perf_counter() - started)
    return round(best / 2_000_000 * 1e9, 1)


def _previous(out: Path, name: str) -> dict[str, Any] | None:
    latest = out / "latest.json"
    if not latest.exists():
        return None
    try:
        figures = json.loads(latest.read_text())["results"].get(name)
    except (ValueError, KeyError):
        return None
    return figures if isinstance(figures, dict) and "error" not in figures else None


def _derive(results: dict[str, Any], out: Path, notes: list[str]) -> None:
    """Figures that compare two benchmarks: ingest as % of the ceiling, our batched path against Alertmanager."""
    ceiling = results.get("ceiling") if "error" not in results.get("ceiling", {"error": 1}) else None
    if ceiling is None and (ceiling := _previous(out, "ceiling")) is not None:
        notes.append("The ceiling was not measured in this run; the one from the previous latest.json is used.")
    peer = results.get("alertmanager-peer")
    for name in ("ingest-sqlite", "ingest-postgres"):
        figures = results.get(name)
        if not isinstance(figures, dict) or "error" in figures:
            continue
        if ceiling and ceiling.get("requests_per_s"):
            figures["percent_of_ceiling"] = round(100 * figures["events_per_s"] / ceiling["requests_per_s"], 1)
        if isinstance(peer, dict) and peer.get("alerts_per_s"):
            figures["alertmanager_ratio"] = round(figures["alertmanager_alerts_per_s"] / peer["alerts_per_s"], 3)


def run(names: list[str], profile: Profile, out: Path, *, profile_dir: Path | None = None) -> dict[str, Any]:
    started = datetime.now(UTC)
    environment = {
        "cpus": os.cpu_count(),
        "loadavg_start": _loadavg(),
        "loop_ns_start": _loop_ns(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": _commit(),
        "wrk": shutil.which("wrk") is not None,
        "alertmanager": ingest.alertmanager_binary(),
    }
    results: dict[str, Any] = {}
    durations: dict[str, float] = {}
    notes: list[str] = []
    pg_problem = postgres_available() if any(n.endswith("postgres") for n in names) else None
    for name in names:
        if name.endswith("postgres") and pg_problem is not None:
            results[name] = {"error": f"PostgreSQL unreachable: {pg_problem}"}
            continue
        workdir = scratch_dir(name)
        began = time.perf_counter()
        print(f"[bench] {name} ({profile.name}) ...", file=sys.stderr, flush=True)
        try:
            figures = BENCHMARKS[name](profile, workdir, profile_dir)
        except Exception as exc:
            traceback.print_exc()
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        durations[name] = round(time.perf_counter() - began, 1)
        if figures is None:
            notes.append(f"{name}: skipped (not applicable in the {profile.name} profile or not installed).")
        else:
            results[name] = figures
            print(f"[bench] {name}: {json.dumps(figures)}", file=sys.stderr, flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
    _derive(results, out, notes)
    if profile_dir is not None:
        for folded in sorted(profile_dir.glob("*.folded")):
            folded.with_suffix(".txt").write_text(profiling.summarise(folded))
    outcome: dict[str, Any] = {
        "run_id": uuid.uuid4().hex[:12],
        "mode": profile.name,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {**environment, "loadavg_end": _loadavg(), "loop_ns_end": _loop_ns()},
        "profile": profile.__dict__,
        "seconds": durations,
        "results": results,
        "notes": notes,
    }
    outcome["verdicts"] = report.verdicts(results)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="small sizes, about a minute in all")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the harness works")
    parser.add_argument("--only", action="append", default=[], help=f"comma-separated, of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go (default bench/results)")
    parser.add_argument(
        "--profile", action="store_true", help="sample the processes under test with py-spy into OUT/profiles/"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for chunk in args.only for n in chunk.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    outcome = run(names, profile, args.out, profile_dir=args.out / "profiles" if args.profile else None)
    path = report.write(outcome, args.out)
    print(report.markdown(outcome))
    print(f"\nwritten: {path}")
    return 1 if any("error" in r for r in outcome["results"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
