"""A small threaded HTTP server on 127.0.0.1 (a free port picked at run time) for the third-party fakes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] | None = None

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), headers=headers)


Handler = Callable[[Request], Reply]


class FakeServer:
    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        self.requests: list[Request] = []
        self._cond = threading.Condition()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                request = Request(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = outer._handle(request)
                with outer._cond:
                    outer.requests.append(request)
                    outer._cond.notify_all()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for k, v in (reply.headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(reply.body)

        self._handler_class = _Handler
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def wait_for(self, predicate: Callable[[Request], bool], n: int = 1, timeout: float = 10) -> list[Request]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.requests if predicate(r)]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} matching request(s), got {len(found)}: {self.requests}")
                self._cond.wait(left)
