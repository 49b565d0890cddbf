"""A local webhook receiver: answers 200 at once and notes when each message arrived.

It runs on asyncio streams so that one thread can take hundreds of messages a second while a load generator
shares its loop. A few messages keep their headers so that the Standard Webhooks signature can be checked
afterwards, off the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
KEEP_HEADERS = 5


@dataclass
class Arrival:
    at: float  # time.monotonic()
    path: str
    body: bytes
    headers: dict[str, str] | None = None


@dataclass
class WebhookSink:
    arrivals: list[Arrival] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def wait_for(self, count: int, *, within: float) -> None:
        """Return once ``count`` messages have arrived, or when ``within`` seconds have passed."""
        deadline = time.monotonic() + within
        while len(self.arrivals) < count and (remaining := deadline - time.monotonic()) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                keep = headers if len(self.arrivals) < KEEP_HEADERS else None
                self.arrivals.append(Arrival(time.monotonic(), path, body, keep))
                self._arrived.set()
                writer.write(_OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, IndexError, ValueError):
            pass
        finally:
            writer.close()


class ThreadedSink:
    """The sink on its own event loop in a background thread, for when the caller's thread is busy or blocking."""

    def __init__(self) -> None:
        self.sink = WebhookSink()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sink", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.sink.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the webhook sink did not start")
        return self.sink

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sink.stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
