"""Reliability: `tocsin worker` processes running workflows (a remediation action, a signed webhook, a timeline
update per SEV1 incident) are SIGKILLed at random moments, the receiver slow enough that kills land mid-call; each
time another worker (another name, so it must wait out the dead one's leases) takes over.

Pass criteria: every run finishes (none lost); no action run reaches the receiver twice, and an action step whose
worker died mid-call is marked ambiguous, never repeated; a webhook step that is sent again carries its first
webhook-id; every other step is done exactly once.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.factories import make_service
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn, scale
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor
from tocsin.workflows import actions
from tocsin.workflows import service as workflows
from tocsin.workflows.models import ActionRun, WorkflowRun, WorkflowStepRun

pytestmark = pytest.mark.slow
SECRET = "whsec_" + base64.b64encode(b"a key of thirty-two bytes, exact").decode()


@dataclass
class SlowSink:
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"


@pytest.fixture
def slow_sink() -> Iterator[SlowSink]:
    sink = SlowSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with sink.lock:
                sink.requests.append((self.path, self.headers["webhook-id"]))
            time.sleep(0.3)  # a slow automation: kills land while calls are in flight
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield sink
    server.shutdown()
    server.server_close()


def test_workflow_steps_survive_killed_workers_never_running_an_action_twice(
    db: Database, slow_sink: SlowSink, spawn: Spawn, rng: random.Random
) -> None:
    clock = SystemClock()
    with db.unit_of_work() as s:
        service, _ = make_service(s, clock.now())
        actions.save_action(
            s, "Restart", {"url": slow_sink.url("/action"), "timeout_seconds": 2, "secret": SECRET}, now=clock.now()
        )
        workflows.save_workflow(
            s,
            "SEV1",
            {
                "trigger": {"event": "declared"},
                "steps": [
                    {"kind": "action", "action": "Restart", "on_error": "continue"},
                    {"kind": "webhook", "url": slow_sink.url("/hook"), "secret": SECRET},
                    {"kind": "stakeholder_update", "message": "handled {{incident.number}}"},
                ],
            },
            now=clock.now(),
        )
        service_id = service.id

    kills = scale(3, 8)
    workers = [spawn(f"flows-{n}", lease_seconds=2.0) for n in range(kills + 1)]
    workers[0].start()
    workers[0].wait_ready()
    opened: list[int] = []

    def declare() -> None:
        for n in range(scale(12, 60)):
            with db.unit_of_work() as s:
                incident = incidents.declare(
                    s,
                    service_id=service_id,
                    title=f"down {n}",
                    actor=Actor("drill", "api"),
                    now=clock.now(),
                    severity="SEV1",
                )
                opened.append(incident.id)
            time.sleep(rng.uniform(0.05, 0.2))

    declarer = threading.Thread(target=declare)
    declarer.start()
    for n in range(kills):
        time.sleep(rng.uniform(0.4, 1.5))  # when to strike: chaos timing, not a correctness wait
        workers[n].kill()
        workers[n + 1].start()
        workers[n + 1].wait_ready()
    declarer.join()

    def all_finished() -> bool:
        with db.reader() as s:
            runs = list(s.scalars(select(WorkflowRun)))
        return len(runs) == len(opened) and all(r.status in ("done", "failed") for r in runs)

    wait_for(all_finished, timeout=scale(180, 900), what="every run finished")
    with db.reader() as s:
        steps = list(s.scalars(select(WorkflowStepRun)))
        action_runs = list(s.scalars(select(ActionRun)))
        updates = [
            e.message for e in s.scalars(select(TimelineEntry)) if e.message.startswith("Stakeholder update: handled")
        ]
    with slow_sink.lock:
        requests = list(slow_sink.requests)

    action_ids = [wid for path, wid in requests if path == "/action"]
    assert len(action_ids) == len(set(action_ids)), "an action run reached the receiver twice"
    assert len(action_runs) == len(opened), "one action run per incident"
    by_kind: dict[str, list[WorkflowStepRun]] = {}
    for step in steps:
        by_kind.setdefault(step.kind, []).append(step)
    assert len(by_kind["action"]) == len(opened)
    assert all(x.status in ("done", "ambiguous") for x in by_kind["action"])
    ambiguous = sum(1 for x in by_kind["action"] if x.status == "ambiguous")
    assert ambiguous <= kills
    assert all(x.status == "done" for x in by_kind["webhook"])
    hook_ids = {wid for path, wid in requests if path == "/hook"}
    assert hook_ids == {f"wf_{x.idempotency_key}" for x in by_kind["webhook"]}, "a resend keeps its webhook-id"
    assert sorted(updates) == sorted(f"Stakeholder update: handled {n}" for n in _numbers(db, opened))
    print(f"{len(opened)} runs, {len(requests)} requests, {ambiguous} ambiguous actions, {kills} kills")


def _numbers(db: Database, ids: list[int]) -> list[int]:
    with db.reader() as s:
        return [incidents.get(s, i).number for i in ids]
