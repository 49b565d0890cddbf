"""Tracker sync throughput: N remote issues requested at once, created by the real engine module against a local
tracker on loopback that speaks the GitHub issues API (201 with the issue), one in ten answering 429 with
``Retry-After: 1`` on its first try. Reports issues synced per second, the process CPU per issue, and duplicates
(two remote issues for one local object; must be 0).

``python -m bench.trackers [--issues N] [--backend sqlite|postgres]``."""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.databases import fresh_database
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.engine.modules.trackers import TrackerModule
from tocsin.notify.ssrf import UrlGuard
from tocsin.trackers import service as trackers
from tocsin.trackers.http import GuardedHttp
from tocsin.trackers.models import RemoteIssue

TOKEN = "bench-token"


class _Tracker:
    def __init__(self) -> None:
        self.titles: list[str] = []
        self.limited: set[str] = set()
        self.lock = threading.Lock()
        numbers = itertools.count(1)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(200, {"total_count": 0, "incomplete_results": False, "items": []})

            def do_POST(self) -> None:
                data = json.loads(self.rfile.read(int(self.headers["content-length"])))
                title = data["title"]
                with outer.lock:
                    if title.endswith("0") and title not in outer.limited:
                        outer.limited.add(title)
                        limited = True
                    else:
                        limited = False
                        outer.titles.append(title)
                        number = next(numbers)
                if limited:
                    self._answer(429, {"message": "API rate limit exceeded"}, {"Retry-After": "1"})
                    return
                self._answer(201, {"number": number, "html_url": f"https://t.example/{number}", "state": "open"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


def run(*, issues: int = 500, backend: str = "sqlite", workdir: Path) -> dict[str, Any]:
    tracker = _Tracker()
    clock = SystemClock()
    try:
        with fresh_database(backend, workdir) as url:
            db = Database(url)
            with db.unit_of_work() as s:
                spec = trackers.ConnectionSpec(
                    name="gh", kind="github", base_url=tracker.url, project="o/r", token=TOKEN
                )
                conn = trackers.create_connection(s, spec, now=clock.now()).id
                for n in range(issues):
                    trackers.request_issue(
                        s, local_ref=f"action_item:{n}", connection=conn, title=f"item {n}", body="b", now=clock.now()
                    )
            module = TrackerModule(
                db, GuardedHttp(UrlGuard(["127.0.0.1/32"])), clock, owner="bench", lease=timedelta(seconds=60), batch=32
            )
            # The retry timer of a 429 is the tracker's Retry-After (1 s); bring those rows forward once due.
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            while True:
                module.run_once(clock.now())
                with db.reader() as s:
                    left = s.scalar(select(func.count()).where(RemoteIssue.status == "pending"))
                if not left:
                    break
                if time.monotonic() - started > 600:
                    raise RuntimeError("tracker sync did not finish in 10 minutes")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            with db.reader() as s:
                synced = s.scalar(select(func.count()).where(RemoteIssue.status == "synced")) or 0
            db.dispose()
    finally:
        tracker.server.shutdown()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "backend": backend,
        "issues": issues,
        "synced": synced,
        "rate_limited": len(tracker.limited),
        "seconds": round(elapsed, 2),
        "issues_per_s": round(synced / elapsed, 1),
        "cpu_ms_per_issue": round(1000 * cpu / max(synced, 1), 2),
        "duplicates": len(tracker.titles) - len(set(tracker.titles)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(run(issues=args.issues, backend=args.backend, workdir=Path(d)), indent=2))


if __name__ == "__main__":
    main()
