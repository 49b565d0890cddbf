"""Escalation timer lateness: how long after its due time the real engine fires a step and pages.

Incidents are opened through the real ingest service (which arms their timers), then a bench-only helper moves
the due times so that they fall evenly over a window starting a moment after the engine starts; any further
timers form a backlog due an hour later. The engine is Tocsin's own (``Runtime.build_engine``); the only
additions are a clock reading after each escalation commits and a provider that records when it is called.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import profiling, seed
from bench.databases import fresh_database
from bench.stats import percentiles
from tocsin.db.claims import Claim
from tocsin.db.session import Database
from tocsin.engine.modules.escalation import EscalationModule
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry, SendResult
from tocsin.runtime import Runtime
from tocsin.settings import load_settings

LEAD = timedelta(seconds=2)  # time for the engine to start before the first timer is due


class TimedEscalationModule(EscalationModule):
    """The real module, noting the wall-clock time each claimed batch of fires committed."""

    def __init__(self, db: Database, *, owner: str) -> None:
        super().__init__(db, owner=owner)
        self.fired: dict[int, float] = {}

    def on_fired(self, claims: Sequence[Claim]) -> None:
        committed = time.time()
        for c in claims:
            self.fired[c.id] = committed


class TimedProvider:
    """Stands in for the webhook channel: records when each page reaches the provider, and delivers it."""

    contact_type = "webhook"

    def __init__(self) -> None:
        self.calls: dict[int, float] = {}
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        if message.incident is not None:
            with self._lock:
                self.calls.setdefault(message.incident.id, time.time())
        return SendResult("delivered", provider_ref=message.message_id, status_code=200)


def run(
    *, pending: int, due: int, window: float, backend: str, workdir: Path, profile_dir: Path | None = None
) -> dict[str, Any]:
    due = min(due, pending)
    with fresh_database(backend, workdir) as url:
        # Pages spread over enough people that none meets the throttle (its per-person history stays short too).
        people = math.ceil(due / seed.PAGES_PER_PERSON)
        world = seed.paging_world(url, people=people, webhook_base="http://127.0.0.1:9")
        seeded = time.perf_counter()
        seed.open_incidents(url, world.keys, pending)
        seed_seconds = time.perf_counter() - seeded
        start = datetime.now(UTC) + LEAD
        timers = seed.spread_due_times(
            url, start=start, window=timedelta(seconds=window), due=due, later=timedelta(hours=1)
        )

        provider = TimedProvider()
        settings = load_settings(database_url=url)
        runtime = Runtime.build(settings, providers=ProviderRegistry([provider]))
        runner = runtime.build_engine(owner="bench-engine")
        timed = TimedEscalationModule(runtime.db, owner="bench-engine")
        runner.modules = [timed if m.name == "escalation" else m for m in runner.modules]
        runner.start()
        try:
            with profiling.maybe(os.getpid(), profile_dir, f"escalation-{pending}"):
                deadline = time.monotonic() + LEAD.total_seconds() + window + max(60.0, window * 6)
                while time.monotonic() < deadline and (len(timed.fired) < due or len(provider.calls) < due):
                    time.sleep(0.2)
            gave_up = time.time()
        finally:
            runner.stop()
            runtime.db.dispose()

    # A timer that had not fired (or paged) when the wait ended counts as late as the wait: a lower bound.
    fire_late = [timed.fired.get(t.escalation_id, gave_up) - t.due_at.timestamp() for t in timers]
    page_late = [provider.calls.get(t.incident_id, gave_up) - t.due_at.timestamp() for t in timers]
    early = sum(1 for x in fire_late if x < 0)
    fire = percentiles(fire_late)
    page = percentiles(page_late)
    return {
        "backend": backend,
        "pending": pending,
        "people": people,
        "due_in_window": due,
        "window_s": window,
        "required_fires_per_s": round(due / window, 1) if window else 0.0,
        "seed_incidents_per_s": round(pending / seed_seconds, 1) if seed_seconds else 0.0,
        "fired": sum(1 for t in timers if t.escalation_id in timed.fired),
        "paged": sum(1 for t in timers if t.incident_id in provider.calls),
        "fired_early": early,
        "fire_lateness_p50_s": round(fire["p50"], 3),
        "fire_lateness_p99_s": round(fire["p99"], 3),
        "fire_lateness_max_s": round(fire["max"], 3),
        "page_lateness_p50_s": round(page["p50"], 3),
        "page_lateness_p99_s": round(page["p99"], 3),
        "page_lateness_max_s": round(page["max"], 3),
    }
