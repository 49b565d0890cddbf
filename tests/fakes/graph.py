"""A fake Microsoft Graph (v1.0) for Teams war rooms, speaking Graph's documented shapes: the client-credentials
token endpoint, ``/teams/{team}/channels`` (create, ``$filter=displayName eq '…'``, ``PATCH`` description),
``…/channels/{id}/members`` (``aadUserConversationMember`` with ``user@odata.bind``), ``…/messages`` (post,
``PATCH`` edit), and ``/users/{email}``. Errors as Graph sends them: ``{"error": {"code", "message"}}``, a taken
channel name is 400 ``NameAlreadyExists``, throttling 429 with Retry-After. Anything else fails the test (404)."""

from __future__ import annotations

import itertools
import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from tests.fakes._server import FakeServer, Reply, Request

TEAM = "team-0001"
TOKEN = "graph-access-token"


def _error(status: int, code: str, message: str = "") -> Reply:
    return Reply.json(status, {"error": {"code": code, "message": message or code}})


class FakeGraph:
    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, str] = {}  # email -> object id
        self.unexpected: list[str] = []
        self.throttle_next = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/v1.0"

    @property
    def token_url(self) -> str:
        return self.server.url + "/tenant/oauth2/v2.0/token"

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            return self._route(request)

    def _route(self, request: Request) -> Reply:
        path = request.path
        if path == "/tenant/oauth2/v2.0/token" and request.method == "POST":
            if b"grant_type=client_credentials" not in request.body:
                return Reply.json(400, {"error": "unsupported_grant_type"})
            return Reply.json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "InvalidAuthenticationToken")
        if self.throttle_next:
            self.throttle_next -= 1
            return Reply.json(429, {"error": {"code": "TooManyRequests"}}, headers={"Retry-After": "7"})
        body: dict[str, Any] = json.loads(request.body) if request.body else {}
        base = f"/v1.0/teams/{TEAM}/channels"
        if path.startswith(base):
            return self._channels(request.method, unquote(path[len(base) :]), body)
        found = re.fullmatch(r"/v1\.0/users/([^?]+)(\?.*)?", path)
        if found and request.method == "GET":
            user = self.users.get(unquote(found.group(1)))
            return Reply.json(200, {"id": user}) if user else _error(404, "Request_ResourceNotFound")
        self.unexpected.append(f"{request.method} {path}")
        return _error(404, "UnknownRoute", f"{request.method} {path}")

    def _channels(self, method: str, rest: str, body: dict[str, Any]) -> Reply:
        if rest == "" and method == "POST":
            name = str(body.get("displayName", ""))
            if any(c["displayName"] == name for c in self.channels.values()):
                return _error(400, "NameAlreadyExists", "Channel name already existed, please use other name.")
            cid = f"19:{next(self._ids):04d}@thread.tacv2"
            self.channels[cid] = {
                "id": cid, "displayName": name, "description": "", "membershipType": body.get("membershipType"),
                "members": [], "messages": {},
            }  # fmt: skip
            return Reply.json(201, {k: v for k, v in self.channels[cid].items() if k not in ("members", "messages")})
        if rest.startswith("?") and method == "GET":
            wanted = re.search(r"displayName eq '(.*)'$", rest)
            name = wanted.group(1).replace("''", "'") if wanted else None
            value = [
                {"id": c["id"], "displayName": c["displayName"]}
                for c in self.channels.values()
                if c["displayName"] == name
            ]
            return Reply.json(200, {"value": value})
        parts = rest.lstrip("/").split("/")
        channel = self.channels.get(parts[0].split("?")[0])
        if channel is None:
            return _error(404, "NotFound")
        if len(parts) == 1 and method == "PATCH":
            channel["description"] = str(body.get("description", channel["description"]))
            return Reply(204)
        if len(parts) >= 2 and parts[1].startswith("members"):
            if method == "GET":
                return Reply.json(200, {"value": [{"userId": m} for m in channel["members"]]})
            bind = str(body.get("user@odata.bind", ""))
            user = re.search(r"users\('([^']+)'\)", bind)
            if body.get("@odata.type") != "#microsoft.graph.aadUserConversationMember" or user is None:
                return _error(400, "BadRequest")
            if user.group(1) in channel["members"]:
                return _error(409, "Conflict")
            channel["members"].append(user.group(1))
            return Reply.json(201, {"userId": user.group(1)})
        if len(parts) >= 2 and parts[1].startswith("messages"):
            if method == "POST" and len(parts) == 2:
                mid = str(next(self._ids))
                channel["messages"][mid] = body["body"]
                return Reply.json(201, {"id": mid, "body": body["body"]})
            if method == "GET":
                value = [{"id": k, "body": v} for k, v in channel["messages"].items()]
                return Reply.json(200, {"value": value})
            if method == "PATCH" and len(parts) == 3 and parts[2] in channel["messages"]:
                channel["messages"][parts[2]] = body["body"]
                return Reply(204)
        self.unexpected.append(f"{method} channels{rest}")
        return _error(404, "UnknownRoute")
