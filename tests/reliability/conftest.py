"""Fixtures for the reliability drills: a webhook sink on 127.0.0.1 and worker processes cleaned up afterwards.

``TOCSIN_CHAOS=1`` (``make chaos``) runs the long versions; ``TOCSIN_CHAOS_SEED`` replays a run's random choices.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.chaos.sink import WebhookSink, new_secret
from tests.reliability.chaos.workers import WorkerProcess

LONG = os.environ.get("TOCSIN_CHAOS", "") == "1"


def scale(short: int, long: int) -> int:
    return long if LONG else short


@pytest.fixture
def rng() -> random.Random:
    seed = int(os.environ.get("TOCSIN_CHAOS_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"chaos seed {seed} (TOCSIN_CHAOS_SEED={seed} replays it)")
    return random.Random(seed)


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    s = WebhookSink(new_secret()).start()
    yield s
    s.stop()


Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def spawn(db_url: str, tmp_path: Path) -> Iterator[Spawn]:
    started: list[WorkerProcess] = []

    def make(owner: str, **kw: object) -> WorkerProcess:
        worker = WorkerProcess(database_url=db_url, owner=owner, log_dir=tmp_path, **kw)  # type: ignore[arg-type]
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()
    for worker in started:
        text = worker.log_text()
        if "Traceback" in text:
            print(f"--- log of {worker.owner} ---\n{text[-4000:]}")


@pytest.fixture(autouse=True)
def _drills_one_at_a_time(one_drill_at_a_time: None) -> None:
    """Drills kill and time real processes: never two at once (tests/conftest.py)."""
