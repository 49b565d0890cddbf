"""War rooms at once on a real Synapse (ADR 0033): 200 incidents ask for a Matrix room in the same instant; one
worker's chat module (its own lane, its thread pool) brings them up. Figures: every room made exactly once (the
homeserver's aliases are counted), and the time from the request to the room (its "opened" note on the timeline),
median and p95. Target (issue 20): all rooms made once, median time to room < 2 s.

Before Tocsin's run, the same burst goes straight to the homeserver (``homeserver_alone``): what Synapse itself
allows on this machine, the floor under Tocsin's figure."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.chat.synapse import Synapse

from bench.databases import fresh_database
from tocsin.chat import service as chat
from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.matrix import MatrixRooms
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.engine.modules.chat import ChatModule
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor
from tocsin.services import service as services

ACTOR = Actor(label="bench", source="api")


def run(*, rooms: int = 200, backend: str = "sqlite", workdir: Path, threads: int = 16) -> dict[str, Any]:
    synapse = Synapse(workdir / "synapse")
    synapse.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    synapse.start()
    startup = time.monotonic() - started
    try:
        token = synapse.register("tocsin", admin=True)
        floor = _homeserver_alone(synapse, token, rooms=rooms, threads=threads)
        with fresh_database(backend, workdir) as url:
            return _measure(url, synapse, token, rooms=rooms, threads=threads) | {
                "synapse_start_s": round(startup, 2),
                "homeserver_alone": floor,
            }
    finally:
        synapse.stop()


def _homeserver_alone(synapse: Synapse, token: str, *, rooms: int, threads: int) -> dict[str, Any]:
    """The floor under the target: the same burst of room creations sent straight to the homeserver from as many
    threads, with no database, lease or timeline in between. The median here is what the homeserver itself
    allows; Tocsin's median is compared with it."""
    client = MatrixRooms(synapse.url, token)
    t0 = time.monotonic()

    def create(n: int) -> float:
        client.create_room(f"floor-{n}", private=False)
        return time.monotonic() - t0

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            waits = sorted(pool.map(create, range(rooms)))
    finally:
        client.close()
    return {
        "rooms": rooms,
        "median_time_to_room_s": round(statistics.median(waits), 3),
        "p95_time_to_room_s": round(waits[int(len(waits) * 0.95) - 1], 3),
        "all_rooms_done_s": round(waits[-1], 2),
        "rooms_per_s": round(rooms / waits[-1], 1),
    }


def _measure(url: str, synapse: Synapse, token: str, *, rooms: int, threads: int) -> dict[str, Any]:
    db = Database(url)
    clock = SystemClock()
    try:
        with db.unit_of_work() as s:
            service = services.create_service(s, name="bench", now=clock.now())
            ids = [
                incidents.declare(s, service_id=service.id, title=f"Bench outage {n}", actor=ACTOR, now=clock.now()).id
                for n in range(rooms)
            ]
        asked = datetime.now(UTC)
        with db.unit_of_work() as s:
            for incident_id in ids:
                chat.request_room(s, incidents.get(s, incident_id), "matrix", actor=ACTOR, now=asked)
        client = MatrixRooms(synapse.url, token)
        module = ChatModule(
            db, {"matrix": client}, clock, owner="bench", base_url="http://tocsin.test", pacer=Pacer({}),
            threads=threads, batch=rooms, lease=timedelta(minutes=5),
        )  # fmt: skip
        t0 = time.monotonic()
        while module.run_once(clock.now()):
            if time.monotonic() - t0 > 600:
                raise RuntimeError("rooms not up after 10 minutes")
        total = time.monotonic() - t0
        module.close()
        with db.reader() as s:
            notes = s.execute(
                select(TimelineEntry.incident_id, TimelineEntry.at).where(
                    TimelineEntry.message.like("War room % opened on matrix")
                )
            ).all()
            open_rooms = [r for i in ids for r in chat.rooms_of(s, i) if r.status == "open"]
        waits = sorted((at - asked).total_seconds() for _, at in notes)
        distinct = {r.room_id for r in open_rooms}
        made_once = all(client.find_room(r.name) == r.room_id for r in open_rooms)
        client.close()
        return {
            "rooms": rooms,
            "threads": threads,
            "rooms_open": len(open_rooms),
            "distinct_room_ids": len(distinct),
            "opened_notes": len(notes),
            "each_alias_to_its_room": made_once,
            "median_time_to_room_s": round(statistics.median(waits), 3) if waits else None,
            "p95_time_to_room_s": round(waits[int(len(waits) * 0.95) - 1], 3) if waits else None,
            "all_rooms_done_s": round(total, 2),
            "target_median_s": 2.0,
        }
    finally:
        db.dispose()
