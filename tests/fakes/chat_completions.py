"""An OpenAI-compatible chat-completions endpoint: ``POST /v1/chat/completions`` with ``model`` and ``messages``,
answering ``choices[0].message.content``. Any other path or a malformed body fails the test (recorded in
``unexpected``); ``script`` queues answers (a text, a status code, or a delay in seconds before answering)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.fakes._server import FakeServer, Reply, Request

_ROLES = ("system", "user", "assistant")


class FakeChat:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.unexpected: list[str] = []
        self._scripted: list[str | int | float] = []
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/v1"

    def script(self, *answers: str | int | float) -> None:
        with self._lock:
            self._scripted.extend(answers)

    def _handle(self, request: Request) -> Reply:
        if request.path != "/v1/chat/completions":
            self.unexpected.append(f"POST {request.path}")
            return Reply(404, b"not found", "text/plain")
        try:
            body = json.loads(request.body)
            messages = body["messages"]
            shaped = isinstance(body["model"], str) and isinstance(messages, list) and bool(messages)
            roles = all(m["role"] in _ROLES and isinstance(m["content"], str) for m in messages)
            if not (shaped and roles):
                raise ValueError("not a chat-completions request")
        except (ValueError, KeyError, TypeError):
            self.unexpected.append(f"bad body {request.body[:200]!r}")
            return Reply(400, b"bad request", "text/plain")
        with self._lock:
            self.calls.append({"body": body, "headers": request.headers})
            if not self._scripted:
                self.unexpected.append("a call nobody scripted")
                return Reply(500, b"unexpected", "text/plain")
            answer = self._scripted.pop(0)
        if isinstance(answer, float):
            time.sleep(answer)
            return Reply.json(200, _completion("too late"))
        if isinstance(answer, int):
            return Reply.json(answer, {"error": {"message": "refused"}})
        return Reply.json(200, _completion(answer))


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "local",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
