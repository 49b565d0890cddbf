"""Reliability: `tocsin worker` processes delivering incident events to a webhook subscription are SIGKILLed at
random moments while incidents keep changing; each time another worker (another name, so it must wait out the
dead one's leases) takes over.

Pass criteria: every event stored reaches the receiver; a repeated delivery carries the same webhook-id as the
first (one id per event and subscription, whatever worker sent it); every request is signed; each incident's events
first arrive in the order they happened.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.factories import make_service
from tests.reliability.chaos.sink import new_secret
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn, scale
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.events.models import IncidentEvent
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.notify.providers.webhook import verify_standard_webhook
from tocsin.webhooks import service as webhooks

pytestmark = pytest.mark.slow


@dataclass
class Arrival:
    webhook_id: str
    event_id: int
    incident_id: int
    signed: bool
    order: int


@dataclass
class RecordingSink:
    secret: str
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/events"


@pytest.fixture
def recording_sink() -> Iterator[RecordingSink]:
    sink = RecordingSink(new_secret())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True
                return
            # A receiver that takes a moment, so that kills land while deliveries are in flight.
            time.sleep(0.01)
            headers = dict(self.headers.items())
            data = json.loads(body)["data"]
            with sink.lock:
                sink.arrivals.append(
                    Arrival(
                        webhook_id=self.headers["webhook-id"],
                        event_id=int(data["event"]["id"]),
                        incident_id=int(data["incident"]["id"]),
                        signed=verify_standard_webhook(sink.secret, headers, body, now=time.time()),
                        order=len(sink.arrivals),
                    )
                )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()


def test_events_survive_killed_workers_with_one_webhook_id_each_and_in_order(
    db: Database, recording_sink: RecordingSink, spawn: Spawn, rng: random.Random
) -> None:
    clock = SystemClock()
    with db.unit_of_work() as s:
        _, integration = make_service(s, clock.now())
        key = integration.key
        sub_id = webhooks.create(
            s, name="sink", url=recording_sink.url(), secret=recording_sink.secret, now=clock.now()
        ).id

    kills = scale(3, 8)
    workers = [spawn(f"events-{n}", lease_seconds=2.0) for n in range(kills + 1)]
    workers[0].start()
    workers[0].wait_ready()
    actor = Actor(label="drill", source="api")
    opened: list[int] = []
    changes_done = threading.Event()

    def change_incidents() -> None:
        for round_ in range(scale(8, 30)):
            batch = [
                NormalizedEvent(action="trigger", dedup_key=f"r{round_}-{n}", summary=f"r{round_}-{n}")
                for n in range(8)
            ]
            with db.unit_of_work() as s:
                ingest_batch(s, [Submission(integration_key=key, events=batch)], now=clock.now())
            with db.reader() as s:
                opened[:] = list(s.execute(select(Incident.id)).scalars())
            for incident_id in rng.sample(opened, k=min(4, len(opened))):
                with db.unit_of_work() as s:
                    incidents.add_note(s, incident_id, f"note {round_}", actor=actor, now=clock.now())
            time.sleep(rng.uniform(0.05, 0.3))
        changes_done.set()

    changer = threading.Thread(target=change_incidents)
    changer.start()
    for n in range(kills):
        time.sleep(rng.uniform(0.3, 1.2))  # when to strike: chaos timing, not a correctness wait
        workers[n].kill()
        workers[n + 1].start()
        workers[n + 1].wait_ready()
    changer.join()
    assert changes_done.is_set()

    with db.reader() as s:
        stored = {e.id: e.incident_id for e in s.execute(select(IncidentEvent)).scalars()}
    assert len(stored) > 0

    def all_arrived() -> bool:
        with recording_sink.lock:
            return set(stored) <= {a.event_id for a in recording_sink.arrivals}

    wait_for(all_arrived, timeout=scale(120, 600), what="every event at the receiver")
    with recording_sink.lock:
        arrivals = list(recording_sink.arrivals)

    assert {a.event_id for a in arrivals} == set(stored)
    assert all(a.signed for a in arrivals)
    ids_per_event: dict[int, set[str]] = {}
    for a in arrivals:
        ids_per_event.setdefault(a.event_id, set()).add(a.webhook_id)
        assert a.incident_id == stored[a.event_id]
    assert all(ids == {f"webhooks.{event_id}.{sub_id}"} for event_id, ids in ids_per_event.items())
    first_arrival: dict[int, int] = {}
    for a in arrivals:
        first_arrival.setdefault(a.event_id, a.order)
    for incident_id in set(stored.values()):
        mine = sorted(e for e, i in stored.items() if i == incident_id)
        assert [first_arrival[e] for e in mine] == sorted(first_arrival[e] for e in mine)
    duplicates = len(arrivals) - len(stored)
    print(f"{len(stored)} events, {len(arrivals)} requests ({duplicates} repeated), {kills} kills")
