"""A real HTTP receiver on 127.0.0.1 that records every webhook Tocsin delivers to it.

Each delivery is recorded with its ``webhook-id`` (stable per notification: ``msg_<notification id>``), the wall
time it arrived, whether its Standard Webhooks signature verifies, and optionally what ``observe`` saw in the
database at that instant (to catch a sender acting on a row it no longer owns).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tocsin.notify.providers.webhook import verify_standard_webhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class Delivery:
    webhook_id: str
    path: str
    at: datetime
    signed: bool
    observed: Any = None

    @property
    def notification_id(self) -> int:
        return int(self.webhook_id.removeprefix("msg_"))


class WebhookSink:
    def __init__(self, secret: str, *, observe: Callable[[int], Any] | None = None) -> None:
        self.secret = secret
        self.observe = observe
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died half-way through the request: like any HTTP server, the receiver never
                    # sees an incomplete request, so it is not a delivery.
                    self.close_connection = True
                    return
                arrived = datetime.now(UTC)
                headers = {k: v for k, v in self.headers.items()}
                webhook_id = headers.get("webhook-id", headers.get("Webhook-Id", ""))
                signed = verify_standard_webhook(sink.secret, headers, body, now=time.time())
                observed = None
                if sink.observe is not None and webhook_id.startswith("msg_"):
                    observed = sink.observe(int(webhook_id.removeprefix("msg_")))
                sink._record(Delivery(webhook_id, self.path, arrived, signed, observed))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{path.lstrip('/')}"

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def by_notification(self) -> dict[int, list[Delivery]]:
        found: dict[int, list[Delivery]] = {}
        for d in self.deliveries():
            found.setdefault(d.notification_id, []).append(d)
        return found
