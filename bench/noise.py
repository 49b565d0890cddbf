"""Ingest throughput with routing and noise rules active versus rule-free, and rule evaluation cost per alert.

Run: .venv/bin/python bench/noise.py [--events 4000] [--samples 5000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
SQLite files go to a temporary folder; with --postgres (an admin URL), two scratch databases are created and dropped.
Writes bench/results/noise.json. Targets: throughput with 200 event rules, 50 silences and 20 inhibit rules within
80 % of the rule-free figure; evaluating the rules for one alert under 100 µs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

import tocsin.registry  # noqa: F401  (the domains' hooks; ADR 0010)
from tocsin.alerts import routing_service, silence_service
from tocsin.alerts.committer import IngestCommitter
from tocsin.alerts.rules.inhibition import Firing, inhibitor
from tocsin.alerts.rules.ruleset import route, silence_for
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.core.clock import FakeClock
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.services import service as services

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results" / "noise.json"


def setup(db: Database, *, with_rules: bool) -> str:
    with db.unit_of_work() as s:
        service = services.create_service(s, name="checkout-api", now=NOW)
        services.create_service(s, name="payments", now=NOW)
        key = services.add_integration(s, service, name="prom", type="alertmanager", now=NOW).key
    if not with_rules:
        return key
    with db.unit_of_work() as s:
        # Realistic rules that mostly do not match, so every alert is checked against all of them.
        for i in range(200):
            routing_service.put_event_rule(
                s,
                name=f"rule-{i}",
                matchers=[
                    {"field": "labels.team", "value": f"team-{i}"},
                    {"field": "labels.instance", "op": "=~", "value": f"host-{i}-[0-9]+"},
                ],
                actions={"service": "payments", "priority": "P2", "title": "[{labels.team}] {summary}"},
                integration_key=key if i % 2 else None,
                now=NOW,
            )
        for i in range(50):
            silence_service.create_silence(
                s,
                matchers=[{"field": "labels.alertname", "value": f"Muted{i}"}, {"field": "labels.env", "value": "dev"}],
                starts_at=NOW - timedelta(hours=1),
                ends_at=NOW + timedelta(days=1),
                author="bench",
                comment=f"silence {i}",
                now=NOW,
            )
        for i in range(20):
            routing_service.put_inhibit_rule(
                s,
                name=f"inhibit-{i}",
                source=[{"field": "labels.alertname", "value": f"ClusterDown{i}"}],
                target=[{"field": "labels.severity", "value": "warning"}],
                equal=["cluster"],
                now=NOW,
            )
    return key


def event(n: int) -> NormalizedEvent:
    labels = {"alertname": f"HighLoad{n % 50}", "instance": f"web-{n}", "cluster": f"c{n % 7}", "team": "web"}
    return NormalizedEvent(action="trigger", dedup_key=f"bench-{n}", summary=f"Load high on web-{n}", labels=labels)


def throughput(url: str, *, with_rules: bool, events: int) -> float:
    db = Database(url)
    key = setup(db, with_rules=with_rules)
    committer = IngestCommitter(db, FakeClock(NOW))
    committer.start()
    try:
        # Warm up (compiles the rules once, as a running server would have).
        committer.submit_sync(Submission(integration_key=key, events=[event(-1)]))
        started = time.perf_counter()
        futures = [committer.submit_nowait(Submission(integration_key=key, events=[event(n)])) for n in range(events)]
        for f in futures:
            f.result(120)
        elapsed = time.perf_counter() - started
    finally:
        committer.stop()
        db.dispose()
    return events / elapsed


def evaluation_cost(url: str, samples: int) -> dict[str, float]:
    db = Database(url)
    with db.reader() as s:
        rules = routing_service.ruleset(s, NOW)
        integration_id = services.list_integrations(s)[0].id
        service_id = services.list_services(s)[0].id
    db.dispose()
    firing_event = NormalizedEvent(
        action="trigger", dedup_key="src", summary="down", labels={"alertname": "ClusterDown3", "cluster": "c1"}
    )
    firing_view = route(rules, firing_event, integration_id=integration_id, service_id=service_id).view
    firing = [Firing(alert_id=1, labels=firing_event.labels, view=firing_view)]
    events = [event(n) for n in range(samples)]
    timings: list[float] = []
    for e in events:
        started = time.perf_counter()
        decision = route(rules, e, integration_id=integration_id, service_id=service_id)
        silence_for(rules, decision, NOW)
        rules.is_inhibit_source(decision.view)
        candidates = rules.inhibit_candidates(decision.view)
        if candidates:
            inhibitor(candidates, decision.view, firing)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return {
        "rules": rules.rule_count,
        "silences": len(rules.silences),
        "inhibit_rules": len(rules.inhibit_rules),
        "mean_us": statistics.fmean(timings) * 1e6,
        "p50_us": timings[len(timings) // 2] * 1e6,
        "p99_us": timings[int(len(timings) * 0.99)] * 1e6,
    }


def fresh_sqlite(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    migrate.upgrade(url)
    return url


@contextmanager
def scratch_postgres(admin_url: str, name: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def compare(plain_url: str, ruled_url: str, args: argparse.Namespace) -> dict[str, Any]:
    return _compare(plain_url, ruled_url, args.events)


def _compare(plain_url: str, ruled_url: str, events: int) -> dict[str, Any]:
    plain = throughput(plain_url, with_rules=False, events=events)
    ruled = throughput(ruled_url, with_rules=True, events=events)
    return {
        "rule_free_events_per_s": round(plain),
        "with_rules_events_per_s": round(ruled),
        "ratio": round(ruled / plain, 3),
    }


def run(*, events: int, samples: int, workdir: Path) -> dict[str, Any]:
    """The SQLite figures as ``make bench`` reports them (``main`` adds PostgreSQL when asked)."""
    ruled_url = fresh_sqlite(workdir, "rules.db")
    figures = _compare(fresh_sqlite(workdir, "plain.db"), ruled_url, events)
    cost = evaluation_cost(ruled_url, samples)
    return {
        "events": events,
        **figures,
        "evaluation": {k: round(v, 2) if isinstance(v, float) else v for k, v in cost.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also measure on PostgreSQL (scratch databases)")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": args.events,
        "path": "group commit through IngestCommitter; every event opens a new alert and incident",
        "ratio_target": 0.8,
        "evaluation_target_us": 100,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ruled_url = fresh_sqlite(folder, "rules.db")
        result["sqlite"] = compare(fresh_sqlite(folder, "plain.db"), ruled_url, args)
        cost = evaluation_cost(ruled_url, args.samples)
    result["evaluation"] = {k: round(v, 2) if isinstance(v, float) else v for k, v in cost.items()}
    if args.postgres:
        with (
            scratch_postgres(args.postgres, "tocsin_bench_plain") as plain_url,
            scratch_postgres(args.postgres, "tocsin_bench_rules") as rules_url,
        ):
            result["postgresql"] = compare(plain_url, rules_url, args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
