"""Ingest throughput with routing and noise rules active versus rule-free, and rule evaluation cost per alert.

Run: .venv/bin/python bench/noise.py [--events 4000] [--samples 5000]   (SQLite files in a temporary folder)
Writes bench/results/noise.json. Targets: throughput with 200 event rules, 50 silences and 20 inhibit rules within
80 % of the rule-free figure; evaluating the rules for one alert under 100 µs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = throughput(fresh_sqlite(folder, "plain.db"), with_rules=False, events=args.events)
        ruled_url = fresh_sqlite(folder, "rules.db")
        ruled = throughput(ruled_url, with_rules=True, events=args.events)
        cost = evaluation_cost(ruled_url, args.samples)
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": "sqlite (WAL, synchronous=NORMAL), group commit through IngestCommitter",
        "events": args.events,
        "rule_free_events_per_s": round(plain),
        "with_rules_events_per_s": round(ruled),
        "ratio": round(ruled / plain, 3),
        "ratio_target": 0.8,
        "evaluation": {k: round(v, 2) if isinstance(v, float) else v for k, v in cost.items()},
        "evaluation_target_us": 100,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
