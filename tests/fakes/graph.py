"""A fake Microsoft Graph (v1.0) for Teams war rooms, speaking Graph's documented shapes: the client-credentials
token endpoint, ``/teams/{team}/channels`` (create, ``$filter=displayName eq '…'``, ``PATCH`` description),
``…/channels/{id}/members`` (``aadUserConversationMember`` with ``user@odata.bind``; listed with their membership
ids, removed with ``DELETE …/members/{membership-id}``), ``…/messages`` (post, ``PATCH`` edit, listed newest first
in pages of ``$top`` continued by ``@odata.nextLink``, without replies unless ``$expand=replies``, which carries up
to ``expand_limit`` of them and ``replies@odata.nextLink`` for the rest, read from ``…/messages/{id}/replies``),
and ``/users/{email}``. Errors as Graph sends them:
``{"error": {"code", "message"}}``, a taken channel name is 400 ``NameAlreadyExists``, throttling 429 with
Retry-After. Anything else fails the test (404, kept in ``unexpected``)."""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes._server import FakeServer, Reply, Request

TEAM = "team-0001"
TOKEN = "graph-access-token"


def _error(status: int, code: str, message: str = "") -> Reply:
    return Reply.json(status, {"error": {"code": code, "message": message or code}})


class FakeGraph:
    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, str] = {}  # email -> object id
        self.names: dict[str, str] = {}  # object id -> display name
        self.unexpected: list[str] = []
        self.sent: dict[tuple[str, str], dict[str, Any]] = {}
        self.throttle_next = 0
        self.replies: dict[tuple[str, str], list[str]] = {}  # (channel, parent message) -> reply ids, oldest first
        self.expand_limit = 1000  # replies carried by $expand=replies, as Graph documents
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
        if len(parts) == 3 and parts[1] == "members" and method == "DELETE":
            user = next((m for m in channel["members"] if _membership(channel["id"], m) == parts[2]), None)
            if user is None:
                return _error(404, "NotFound", "membership not found")
            channel["members"].remove(user)
            return Reply(204)
        if len(parts) >= 2 and parts[1].startswith("members"):
            if method == "GET":
                value = [
                    {
                        "@odata.type": "#microsoft.graph.aadUserConversationMember",
                        "id": _membership(channel["id"], m),
                        "roles": [],
                        "displayName": self.names.get(m, m),
                        "userId": m,
                        "email": None,
                    }
                    for m in channel["members"]
                ]
                return Reply.json(200, {"value": value})
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
                self.sent[(channel["id"], mid)] = {"from": {"application": {"displayName": "Tocsin"}}}
                return Reply.json(201, {"id": mid, "body": body["body"]})
            if method == "GET" and len(parts) == 2:
                return self._messages(channel, parts[1])
            if method == "GET" and len(parts) == 4 and parts[3].split("?")[0] == "replies":
                return self._replies(channel, parts[2], parts[3])
            if method == "PATCH" and len(parts) == 3 and parts[2] in channel["messages"]:
                channel["messages"][parts[2]] = body["body"]
                return Reply(204)
        self.unexpected.append(f"{method} channels{rest}")
        return _error(404, "UnknownRoute")

    def say(self, channel_id: str, user: str, text: str, at: str) -> None:
        """A person's message in a channel (``at``: ISO 8601 with Z)."""
        mid = str(next(self._ids))
        self.channels[channel_id]["messages"][mid] = {"contentType": "text", "content": text}
        who = {"id": user, "displayName": self.names.get(user, user), "userIdentityType": "aadUser"}
        self.sent[(channel_id, mid)] = {"from": {"user": who}, "createdDateTime": at}

    def reply(self, channel_id: str, parent: str, user: str, text: str, at: str) -> None:
        """A person's reply in the thread of message ``parent``."""
        self.say(channel_id, user, text, at)
        mid = max(self.channels[channel_id]["messages"], key=int)
        self.replies.setdefault((channel_id, parent), []).append(mid)

    def _message(self, channel: dict[str, Any], k: str) -> dict[str, Any]:
        return {
            "id": k,
            "messageType": "message",
            "createdDateTime": self.sent.get((channel["id"], k), {}).get("createdDateTime", "2023-11-14T22:13:20Z"),
            "from": self.sent.get((channel["id"], k), {}).get("from"),
            "body": channel["messages"][k],
        }

    def _messages(self, channel: dict[str, Any], rest: str) -> Reply:
        query = parse_qs(urlsplit(rest).query)
        top = int(query.get("$top", ["20"])[0])
        skip = int(base64.b64decode(query["$skiptoken"][0]).decode()) if "$skiptoken" in query else 0
        expand = query.get("$expand", [""])[0] == "replies"
        threaded = {r for rs in self.replies.values() for r in rs}
        ids = sorted((k for k in channel["messages"] if k not in threaded), key=int, reverse=True)
        value = []
        for k in ids[skip : skip + top]:
            item = self._message(channel, k)
            if expand:
                replies = self.replies.get((channel["id"], k), [])
                item["replies"] = [self._message(channel, r) for r in replies[: self.expand_limit]]
                if len(replies) > self.expand_limit:
                    token = base64.b64encode(str(self.expand_limit).encode()).decode()
                    item["replies@odata.nextLink"] = (
                        f"{self.url}/teams/{TEAM}/channels/{channel['id']}/messages/{k}/replies?$skiptoken={token}"
                    )
            value.append(item)
        data: dict[str, Any] = {"value": value}
        if skip + top < len(ids):
            token = base64.b64encode(str(skip + top).encode()).decode()
            more = "&$expand=replies" if expand else ""
            data["@odata.nextLink"] = (
                f"{self.url}/teams/{TEAM}/channels/{channel['id']}/messages?$top={top}{more}&$skiptoken={token}"
            )
        return Reply.json(200, data)

    def _replies(self, channel: dict[str, Any], parent: str, rest: str) -> Reply:
        """A thread's replies in pages of ``$top`` (50 by default), continued by ``@odata.nextLink``."""
        query = parse_qs(urlsplit(rest).query)
        top = int(query.get("$top", ["50"])[0])
        skip = int(base64.b64decode(query["$skiptoken"][0]).decode()) if "$skiptoken" in query else 0
        replies = self.replies.get((channel["id"], parent), [])
        data: dict[str, Any] = {"value": [self._message(channel, r) for r in replies[skip : skip + top]]}
        if skip + top < len(replies):
            token = base64.b64encode(str(skip + top).encode()).decode()
            data["@odata.nextLink"] = (
                f"{self.url}/teams/{TEAM}/channels/{channel['id']}/messages/{parent}/replies?$top={top}"
                f"&$skiptoken={token}"
            )
        return Reply.json(200, data)


def _membership(channel: str, user: str) -> str:
    """A membership id shaped like Graph's (base64 of the channel and user)."""
    return base64.b64encode(f"1#{channel}#{user}".encode()).decode().rstrip("=")
