"""A fake Slack Web API speaking the real wire format: ``POST /api/<method>`` with a Bearer token, answering
HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}`` (HTTP 429 with Retry-After when rate
limited), like Slack does. Knows ``chat.postMessage``, ``chat.update``, ``users.lookupByEmail``, ``users.info``, and
for war rooms ``conversations.create``/``.list``/``.setTopic``/``.invite``/``.members``/``.archive``/``.history``,
``.kick`` (``not_in_channel``, ``cant_kick_self``), ``.history`` (newest first, ``limit`` and ``cursor`` paging with
``has_more`` and ``response_metadata.next_cursor``; a thread's replies are not in it, its parent carries
``reply_count``), ``.replies`` (the parent then its replies, oldest first, paged the same way),
``pins.add``/``pins.list`` with Slack's errors (``name_taken``,
``already_in_channel``, ``is_archived`` …). A method it does not know answers ``unknown_method`` and is kept in
``unexpected`` (the chat tests fail on any)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
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
        self.unexpected: list[str] = []
        self.bot_user = "UBOT"
        self.users_by_email: dict[str, str] = {}
        self.profiles: dict[str, str] = {}  # user id -> profile email
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._scripted: list[Reply] = []
        self._per_method: dict[str, list[Reply]] = {}
        self.channels: dict[str, dict[str, Any]] = {}  # id -> {name, is_private, topic, members, archived, pins}
        self._ids = itertools.count(1)
        # Seconds a method takes before it acts (a kill can land while the call is in flight).
        self.delays: dict[str, float] = {}
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

    def script_for(self, method: str, *replies: Reply) -> None:
        """Answers for the next calls of one method (then the normal behaviour again)."""
        with self._lock:
            self._per_method.setdefault(method, []).extend(replies)

    def channel_named(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.channels.values() if c["name"] == name), None)

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
            if scripted is None and self._per_method.get(method):
                scripted = self._per_method[method].pop(0)
        if scripted is not None:
            return scripted
        if method in self.delays:
            time.sleep(self.delays[method])
        if method.startswith(("conversations.", "pins.")):
            with self._lock:
                return self._rooms(method, args)
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            if not channel:
                return Reply.json(200, {"ok": False, "error": "channel_not_found"})
            # A bot posting to a user id lands in the direct-message channel with that user.
            dm = "D" + channel[1:] if channel.startswith("U") else channel
            ts = f"1700000000.{next(self._ts):06d}"
            with self._lock:
                if dm in self.channels and self.channels[dm]["archived"]:
                    return Reply.json(200, {"ok": False, "error": "is_archived"})
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
        with self._lock:
            self.unexpected.append(method)
        return Reply.json(200, {"ok": False, "error": "unknown_method"})

    def _rooms(self, method: str, args: dict[str, Any]) -> Reply:
        def ok(**data: Any) -> Reply:
            return Reply.json(200, {"ok": True, **data})

        def err(error: str) -> Reply:
            return Reply.json(200, {"ok": False, "error": error})

        if method == "conversations.create":
            name = str(args.get("name", ""))
            if not name or len(name) > 80 or name != name.lower() or " " in name:
                return err("invalid_name")
            if self.channel_named(name) is not None:
                return err("name_taken")
            cid = f"C{next(self._ids):08d}"
            private = str(args.get("is_private", "")).lower() in ("true", "1")
            self.channels[cid] = {
                "name": name,
                "is_private": private,
                "topic": "",
                "members": ["UBOT"],
                "archived": False,
                "pins": [],
            }
            return ok(channel={"id": cid, "name": name, "is_private": private, "is_channel": True})
        if method == "conversations.list":
            chans = [
                {"id": cid, "name": c["name"], "is_private": c["is_private"], "is_archived": c["archived"]}
                for cid, c in self.channels.items()
                if not (c["archived"] and str(args.get("exclude_archived", "")).lower() in ("true", "1"))
            ]
            return ok(channels=chans, response_metadata={"next_cursor": ""})
        channel = self.channels.get(str(args.get("channel", "")))
        if channel is None:
            return err("channel_not_found")
        if channel["archived"] and method != "conversations.archive":
            return err("is_archived")
        if method == "conversations.setTopic":
            channel["topic"] = str(args.get("topic", ""))[:250]
            return ok(channel={"id": args["channel"], "topic": {"value": channel["topic"]}})
        if method == "conversations.invite":
            users = [u for u in str(args.get("users", "")).split(",") if u]
            if not users:
                return err("no_user")
            if all(u in channel["members"] for u in users):
                return err("already_in_channel")
            channel["members"] += [u for u in users if u not in channel["members"]]
            return ok(channel={"id": args["channel"]})
        if method == "conversations.members":
            return ok(members=list(channel["members"]), response_metadata={"next_cursor": ""})
        if method == "conversations.archive":
            if channel["archived"]:
                return err("already_archived")
            channel["archived"] = True
            return ok()
        if method == "conversations.kick":
            user = str(args.get("user", ""))
            if not user:
                return err("user_not_found")
            if user == self.bot_user:
                return err("cant_kick_self")
            if user not in channel["members"]:
                return err("not_in_channel")
            channel["members"].remove(user)
            return ok(errors={})
        if method == "conversations.history":
            return self._history(str(args["channel"]), args)
        if method == "conversations.replies":
            return self._replies(str(args["channel"]), str(args.get("ts") or ""), args)
        if method == "pins.add":
            key = (str(args["channel"]), str(args.get("timestamp")))
            if key not in self.messages:
                return err("message_not_found")
            if key[1] in channel["pins"]:
                return err("already_pinned")
            channel["pins"].append(key[1])
            return ok()
        if method == "pins.list":
            items = [
                {
                    "type": "message",
                    "channel": args["channel"],
                    "message": dict(self.messages[(str(args["channel"]), ts)], ts=ts, bot_id="BBOT"),
                }
                for ts in channel["pins"]
            ]
            return ok(items=items)
        self.unexpected.append(method)
        return err("unknown_method")

    def _history(self, channel: str, args: dict[str, Any]) -> Reply:
        """Newest first; ``latest`` (with ``inclusive``) bounds the newest; pages of ``limit`` (100 by default,
        as Slack) continued by an opaque cursor."""
        # A message with a thread_ts other than its own ts is a reply: only in conversations.replies.
        replies: dict[str, int] = {}
        for (c, ts), m in self.messages.items():
            if c == channel and m.get("thread_ts") not in (None, ts):
                replies[str(m["thread_ts"])] = replies.get(str(m["thread_ts"]), 0) + 1
        found = sorted(
            (dict(m, ts=ts, user=m.get("user", self.bot_user), type="message")
             | ({"thread_ts": ts, "reply_count": replies[ts]} if ts in replies else {})
             for (c, ts), m in self.messages.items() if c == channel and m.get("thread_ts") in (None, ts)),
            key=lambda m: float(m["ts"]), reverse=True,
        )  # fmt: skip
        latest = args.get("latest")
        if latest:
            inclusive = str(args.get("inclusive", "")).lower() in ("true", "1")
            found = [m for m in found if float(m["ts"]) < float(latest) or (inclusive and m["ts"] == latest)]
        cursor = str(args.get("cursor") or "")
        if cursor:
            before = base64.b64decode(cursor).decode().removeprefix("next_ts:")
            found = [m for m in found if float(m["ts"]) < float(before)]
        limit = int(args.get("limit") or 100)
        page, more = found[:limit], len(found) > limit
        next_cursor = base64.b64encode(f"next_ts:{page[-1]['ts']}".encode()).decode() if more else ""
        data = {"messages": page, "has_more": more, "pin_count": 0, "response_metadata": {"next_cursor": next_cursor}}
        return Reply.json(200, {"ok": True, **data})

    def _replies(self, channel: str, parent: str, args: dict[str, Any]) -> Reply:
        """The thread of ``parent``: the parent first, then its replies, oldest first; pages of ``limit``."""
        if (channel, parent) not in self.messages:
            return Reply.json(200, {"ok": False, "error": "thread_not_found"})
        found = sorted(
            (dict(m, ts=ts, user=m.get("user", self.bot_user), type="message", thread_ts=parent)
             for (c, ts), m in self.messages.items()
             if c == channel and (ts == parent or m.get("thread_ts") == parent)),
            key=lambda m: float(m["ts"]),
        )  # fmt: skip
        cursor = str(args.get("cursor") or "")
        if cursor:
            after = base64.b64decode(cursor).decode().removeprefix("next_ts:")
            found = [m for m in found if float(m["ts"]) > float(after)]
        limit = int(args.get("limit") or 10)
        page, more = found[:limit], len(found) > limit
        next_cursor = base64.b64encode(f"next_ts:{page[-1]['ts']}".encode()).decode() if more else ""
        data = {"messages": page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}
        return Reply.json(200, {"ok": True, **data})


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
