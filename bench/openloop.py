"""Open-loop load at a fixed rate, timed from each request's scheduled send time.

wrk keeps a fixed number of connections busy, so when the server stalls it simply sends less and the stall hides
from its latency figures (coordinated omission). Here request ``i`` is due at ``start + i / rate`` whatever
happened before; it goes out on an idle keep-alive connection (a new one is opened when none is idle), and its
latency runs from the due time to the end of the response. A generator that falls behind therefore shows up as
latency too, never as silently lower load.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.stats import percentiles

# (index) -> (path, body); called once per request at its due time.
MakeRequest = Callable[[int], tuple[str, bytes]]
# (index, monotonic time of the end of the response, status, body)
OnResponse = Callable[[int, float, int, bytes], None]


@dataclass
class OpenLoopResult:
    rate: float
    sent: int = 0
    ok: int = 0
    failed: int = 0
    # Seconds from the due time to the end of each 2xx answer, or to the moment a request failed or was given up.
    latencies: list[float] = field(default_factory=list)
    max_connections: int = 0
    unfinished: int = 0
    # Why requests failed: an HTTP status, or the client-side error's name.
    failures: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, float]:
        return {
            "rate_per_s": self.rate,
            "sent": self.sent,
            "ok": self.ok,
            "failed": self.failed,
            "unfinished": self.unfinished,
            "connections_used": self.max_connections,
            **({"failures": dict(self.failures)} if self.failures else {}),
            **{f"{k}_ms": round(v * 1000, 2) for k, v in percentiles(self.latencies).items()},
        }


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# The server closes a keep-alive connection after 5 s without a request (uvicorn's default). Like any HTTP client
# that knows it, the pool does not reuse a connection idle for nearly that long: the request would meet a
# connection the server is closing, and count as refused although the server never saw it.
KEEP_ALIVE_REUSE = 4.0


class _Pool:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host = host
        self.port = port
        self._idle: list[tuple[Conn, float]] = []
        self.opened = 0
        self.sem = asyncio.Semaphore(limit)

    def give_back(self, conn: Conn) -> None:
        self._idle.append((conn, time.monotonic()))

    def close(self) -> None:
        for (_reader, writer), _since in self._idle:
            writer.close()
        self._idle.clear()

    async def take(self) -> Conn:
        if self._idle:
            conn, since = self._idle.pop()
            if time.monotonic() - since < KEEP_ALIVE_REUSE:
                return conn
            # The most recently used is too old, so are all the others: close them all.
            for stale, _ in [*self._idle, (conn, since)]:
                stale[1].close()
            self._idle.clear()
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)


async def _exchange(conn: Conn, host: str, path: str, body: bytes) -> tuple[int, bytes]:
    reader, writer = conn
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    payload = await reader.readexactly(length) if length else b""
    return status, payload


async def run(
    host: str,
    port: int,
    *,
    rate: float,
    seconds: float,
    make_request: MakeRequest,
    on_response: OnResponse | None = None,
    max_connections: int = 1024,
    request_timeout: float = 30.0,
) -> OpenLoopResult:
    result = OpenLoopResult(rate=rate)
    pool = _Pool(host, port, max_connections)
    total = max(1, int(rate * seconds))
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks: set[asyncio.Task[None]] = set()
    due_of: dict[asyncio.Task[None], float] = {}

    async def one(i: int, due: float) -> None:
        async with pool.sem:
            conn = None
            try:
                path, body = make_request(i)
                conn = await pool.take()
                status, payload = await asyncio.wait_for(_exchange(conn, host, path, body), request_timeout)
                ended = loop.time()
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                result.failed += 1
                result.failures[type(exc).__name__] += 1
                result.latencies.append(loop.time() - due)  # no answer: as late as the failure, at least
                if conn is not None:
                    conn[1].close()
                return
            pool.give_back(conn)
            if 200 <= status < 300:
                result.ok += 1
                result.latencies.append(ended - due)
                if on_response is not None:
                    on_response(i, time.monotonic(), status, payload)
            else:
                result.failed += 1
                result.failures[str(status)] += 1

    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i, due))
        tasks.add(task)
        due_of[task] = due
        task.add_done_callback(tasks.discard)
        result.sent += 1
    if tasks:
        _done, unfinished = await asyncio.wait(tasks, timeout=request_timeout + 5)
        # Still waiting after the timeout: failures, and as late as the wait so far (a lower bound).
        gave_up = loop.time()
        for task in unfinished:
            task.cancel()
        result.failed += len(unfinished)
        result.unfinished = len(unfinished)
        result.latencies.extend(gave_up - due_of[task] for task in unfinished)
    pool.close()
    result.max_connections = pool.opened
    return result
