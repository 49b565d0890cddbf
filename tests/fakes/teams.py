"""A sink for Teams Workflows, Mattermost/Slack-compatible and Discord incoming webhooks and ntfy's JSON
publishing: records each JSON body (and its headers) and answers as the real service does (Teams 202,
Mattermost 200 "ok", Discord 204, ntfy 200 with the message), or a scripted status. The first path segment
names the service."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes._server import FakeServer, Reply, Request

_DEFAULT = {
    "teams": Reply(202, b""),
    "mattermost": Reply(200, b"ok", "text/plain"),
    "discord": Reply(204, b""),
    "ntfy": Reply.json(200, {"id": "hwQ2YpKdmg", "event": "message"}),
}


class WebhookSink:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, Any]] = []
        self._scripted: list[Reply] = []
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._scripted.extend(replies)

    def _handle(self, request: Request) -> Reply:
        kind = request.path.strip("/").split("/")[0]
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply(400, b"bad json", "text/plain")
        with self._lock:
            self.bodies.append((kind, body))
            if self._scripted:
                return self._scripted.pop(0)
        return _DEFAULT.get(kind, Reply(200, b""))
