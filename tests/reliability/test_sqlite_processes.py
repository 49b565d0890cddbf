"""One SQLite file shared by real processes: ``tocsin serve`` without its engine (HTTP and ingest) and a
``tocsin worker``. The worker's tick is 5 s, so a page that arrives well within that was sent because the
worker heard of the server's commit through the work signal, not because its tick came round."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.reliability.chaos import paging
from tests.reliability.chaos.sink import WebhookSink
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn
from tests.servers import TocsinServer
from tocsin.db import migrate
from tocsin.db.session import Database

pytestmark = pytest.mark.slow

TICK_SECONDS = 5
WITHIN_SECONDS = 1.5
EVENTS = 3


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate.upgrade(url)
    return url


def test_a_page_for_an_event_sent_to_serve_leaves_a_separate_worker_at_once(
    db: Database, sink: WebhookSink, spawn: Spawn, tmp_path: Path
) -> None:
    drill = paging.fleet(db, sink, incidents=EVENTS, delays=[60])
    setup = drill.setups[0]
    worker = spawn("engine-sqlite", env={"TOCSIN_ENGINE_TICK_SECONDS": str(TICK_SECONDS)})
    worker.start()
    worker.wait_ready()
    server = TocsinServer(
        db.url,
        tmp_path / "serve.log",
        env={"TOCSIN_RUN_WORKER": "false", "TOCSIN_ENGINE_TICK_SECONDS": str(TICK_SECONDS)},
    )
    server.start()
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for n in range(EVENTS):
                # Each event lands at a different moment of the worker's 5 s sleep.
                time.sleep(0.7)
                sent = datetime.now(UTC)
                response = client.post(
                    "/v2/enqueue",
                    json={
                        "routing_key": setup.integration_key,
                        "event_action": "trigger",
                        "dedup_key": f"cross-process-{uuid.uuid4().hex}",
                        "payload": {"summary": "cross-process wake", "source": "drill", "severity": "critical"},
                    },
                )
                assert response.status_code == 202, response.text
                wait_for(
                    lambda: len(sink.deliveries()) > len(latencies),
                    timeout=3 * TICK_SECONDS,
                    what=f"page {n + 1}",
                    describe=lambda: f"worker:\n{worker.log_text()[-3000:]}\nserve:\n{server.tail()}",
                )
                latencies.append((sink.deliveries()[n].at - sent).total_seconds())
    finally:
        server.stop()
    print("event-to-page across processes:", ", ".join(f"{1000 * s:.0f} ms" for s in latencies))
    assert all(d.signed for d in sink.deliveries())
    assert max(latencies) < WITHIN_SECONDS, latencies
    assert "database is locked" not in worker.log_text() + server.tail(400)
