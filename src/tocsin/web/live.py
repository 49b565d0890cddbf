"""Live updates for open pages, as server-sent events.

Every change to any incident appends to its timeline, so the newest timeline id is a cursor over all changes.
One feed per process watches it (a single cheap query every ``POLL`` seconds, however many browsers are open)
and tells each subscriber which incidents changed. Watching the database rather than in-process calls means a
change made by another node, the CLI or a worker shows up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from tocsin.incidents import service as incidents
from tocsin.incidents import visibility
from tocsin.runtime import Runtime
from tocsin.web.auth import WebUser, require_user, runtime_of

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

POLL = 0.5
KEEPALIVE = 15.0


class ChangeFeed:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._subscribers: set[asyncio.Queue[list[int]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last = 0

    def _latest(self) -> int:
        with self._runtime.db.reader() as session:
            return incidents.latest_change(session)

    def _changes(self, after: int) -> list[int]:
        with self._runtime.db.reader() as session:
            return incidents.changed_since(session, after)

    async def _watch(self) -> None:
        self._last = await asyncio.to_thread(self._latest)
        while self._subscribers:
            await asyncio.sleep(POLL)
            try:
                latest = await asyncio.to_thread(self._latest)
                if latest <= self._last:
                    continue
                changed = await asyncio.to_thread(self._changes, self._last)
                self._last = latest
            except Exception:
                log.warning("live feed could not read changes; retrying", exc_info=True)
                continue
            for queue in list(self._subscribers):
                queue.put_nowait(changed)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[list[int]]]:
        queue: asyncio.Queue[list[int]] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch())
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


def _readable(runtime: Runtime, who: WebUser, changed: list[int]) -> list[int]:
    """Of the incidents that changed, those this person reads: a private incident's changes are not announced to
    anyone else, not even by id (ADR 0022)."""
    with runtime.db.reader() as session:
        viewer = who.viewer(session)
        return visibility.visible_ids(session, changed, viewer, see_all=runtime.settings.teams_see_all)


@router.get("/live")
async def live(request: Request) -> StreamingResponse:
    """``event: change`` with the ids of the incidents that changed and this person reads; a comment line now and
    then keeps it open."""
    who = await asyncio.to_thread(require_user, request)
    runtime = runtime_of(request)
    feed: ChangeFeed = request.app.state.change_feed

    async def stream() -> AsyncIterator[bytes]:
        async with feed.subscribe() as queue:
            yield b"retry: 2000\n: connected\n\n"
            while not await request.is_disconnected():
                try:
                    changed = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                changed = await asyncio.to_thread(_readable, runtime, who, changed)
                if not changed:
                    continue
                yield b"event: change\ndata: " + orjson.dumps({"incidents": changed}) + b"\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"},
    )
