"""A fake Slack Web API speaking the real wire format: ``POST /api/<method>`` with a Bearer token, answering
HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}`` (HTTP 429 with Retry-After when rate
limited), like Slack does. Knows ``chat.postMessage``, ``chat.update``, ``users.lookupByEmail`` and ``users.info``."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.fakes._server import FakeServer, Reply, Request

BOT_TOKEN = "xoxb-fake-0000-token"
SIGNING_SECRET = "fake-slack-signing-secret-0123"


@dataclass
class Call:
    method: str
    args: dict[str, Any]


class FakeSlack:
    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.users_by_email: dict[str, str] = {}
        self.profiles: dict[str, str] = {}  # user id -> profile email
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._scripted: list[Reply] = []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/api/"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._scripted.extend(replies)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def _handle(self, request: Request) -> Reply:
        method = request.path.removeprefix("/api/").split("?")[0]
        if not request.path.startswith("/api/"):
            # A response_url: Slack takes the JSON answer without a token.
            with self._lock:
                self.calls.append(Call(request.path, json.loads(request.body or b"{}")))
            return Reply(200, b"ok", "text/plain")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply.json(200, {"ok": False, "error": "invalid_auth"})
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            args: dict[str, Any] = json.loads(request.body or b"{}")
        else:
            args = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        with self._lock:
            self.calls.append(Call(method, args))
            scripted = self._scripted.pop(0) if self._scripted else None
        if scripted is not None:
            return scripted
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            if not channel:
                return Reply.json(200, {"ok": False, "error": "channel_not_found"})
            # A bot posting to a user id lands in the direct-message channel with that user.
            dm = "D" + channel[1:] if channel.startswith("U") else channel
            ts = f"1700000000.{next(self._ts):06d}"
            with self._lock:
                self.messages[(dm, ts)] = args
            return Reply.json(200, {"ok": True, "channel": dm, "ts": ts, "message": {"text": args.get("text")}})
        if method == "chat.update":
            key = (str(args.get("channel")), str(args.get("ts")))
            with self._lock:
                if key not in self.messages:
                    return Reply.json(200, {"ok": False, "error": "message_not_found"})
                self.messages[key] = args
            return Reply.json(200, {"ok": True, "channel": key[0], "ts": key[1]})
        if method == "users.lookupByEmail":
            user = self.users_by_email.get(str(args.get("email")))
            if user is None:
                return Reply.json(200, {"ok": False, "error": "users_not_found"})
            return Reply.json(200, {"ok": True, "user": {"id": user}})
        if method == "users.info":
            email = self.profiles.get(str(args.get("user")))
            if email is None:
                return Reply.json(200, {"ok": False, "error": "user_not_found"})
            return Reply.json(200, {"ok": True, "user": {"id": args["user"], "profile": {"email": email}}})
        return Reply.json(200, {"ok": False, "error": "unknown_method"})


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
