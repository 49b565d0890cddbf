"""Matrix war rooms through the client-server API, as the bot account (its own access token).

A room's name is also its local alias (``#inc-12-db-down:server``): looking the alias up is how a create whose
answer was lost is found again, and a taken alias is ``M_ROOM_IN_USE``. The topic is the ``m.room.topic`` state,
the pinned summary the ``m.room.pinned_events`` state, an edit an ``m.replace`` relation. Matrix has no archive:
the bot posts the notice, marks the topic and leaves. Messages are sent with a transaction id, which the server
deduplicates for the bot's device."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from tocsin.chat.platforms.base import HISTORY_PAGES, ChatError, ChatMessage, NameTaken
from tocsin.core import tls
from tocsin.core.numbers import is_ascii_digits

API = "/_matrix/client/v3"
SUMMARY_MARK = "Incident summary"


def _q(value: str) -> str:
    return quote(value, safe="")


class MatrixRooms:
    name = "matrix"

    def __init__(
        self, homeserver: str, token: str, *, timeout: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self._base = homeserver.rstrip("/")
        self._http = client or httpx.Client(
            timeout=timeout, headers={"Authorization": f"Bearer {token}"}, verify=tls.client_context()
        )
        self._server: str | None = None
        self._me: str | None = None

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, *, ok: tuple[str, ...] = ()) -> Any:
        try:
            response = self._http.request(method, self._base + API + path, json=body)
        except httpx.HTTPError as exc:
            raise ChatError(f"Matrix unreachable: {type(exc).__name__}", transient=True) from None
        if response.status_code == 200:
            return response.json()
        try:
            data = response.json()
        except ValueError:
            data = {}
        code = str(data.get("errcode", "")) if isinstance(data, dict) else ""
        if code in ok:
            return None
        if code == "M_ROOM_IN_USE":
            raise NameTaken("M_ROOM_IN_USE")
        retry_ms = data.get("retry_after_ms") if isinstance(data, dict) else None
        retry = response.headers.get("retry-after")
        after = float(retry) if retry and is_ascii_digits(retry) else (float(retry_ms) / 1000 if retry_ms else None)
        transient = response.status_code == 429 or response.status_code >= 500
        message = str(data.get("error", "")) if isinstance(data, dict) else ""
        raise ChatError(
            f"Matrix: HTTP {response.status_code} {code} {message}"[:500], transient=transient, retry_after=after
        )

    def whoami(self) -> str:
        if self._me is None:
            self._me = str(self._request("GET", "/account/whoami")["user_id"])
            self._server = self._me.split(":", 1)[1]
        return self._me

    def alias(self, name: str) -> str:
        self.whoami()
        return f"#{name}:{self._server}"

    def create_room(self, name: str, *, private: bool) -> str:
        self.whoami()
        body = {
            "name": name,
            "room_alias_name": name,
            "preset": "private_chat" if private else "public_chat",
            "visibility": "private",
        }
        return str(self._request("POST", "/createRoom", body)["room_id"])

    def find_room(self, name: str) -> str | None:
        found = self._request("GET", f"/directory/room/{_q(self.alias(name))}", ok=("M_NOT_FOUND",))
        return None if found is None else str(found["room_id"])

    def set_topic(self, room: str, topic: str) -> None:
        self._request("PUT", f"/rooms/{_q(room)}/state/m.room.topic", {"topic": topic})

    def invite(self, room: str, account: str) -> None:
        try:
            self._request("POST", f"/rooms/{_q(room)}/invite", {"user_id": account})
        except ChatError as exc:
            # Synapse refuses to invite someone already in the room with a 403: for us, that invite is done.
            if "already in the room" not in str(exc) and "is already joined" not in str(exc):
                raise

    def kick(self, room: str, account: str) -> bool:
        if account == self.whoami():
            return False
        try:
            self._request("POST", f"/rooms/{_q(room)}/kick", {"user_id": account, "reason": "removed on request"})
        except ChatError as exc:
            # Someone who already left (or was never there): Synapse answers 403 "not in the room".
            if "not in the room" not in str(exc) and "not in room" not in str(exc):
                raise
        return True

    def history(self, room: str, budget: int) -> tuple[list[ChatMessage], bool]:
        found: list[ChatMessage] = []
        size = 0
        since: str | None = None
        for _ in range(HISTORY_PAGES):
            path = f"/rooms/{_q(room)}/messages?dir=b&limit=100" + (f"&from={_q(since)}" if since else "")
            page = self._request("GET", path)
            for event in page.get("chunk") or []:
                content = event.get("content") or {}
                body = content.get("body")
                if event.get("type") != "m.room.message" or not isinstance(body, str) or "m.new_content" in content:
                    continue
                message = ChatMessage(
                    at=datetime.fromtimestamp(int(event.get("origin_server_ts", 0)) / 1000, UTC),
                    author=str(event.get("sender", "someone")),
                    text=body,
                )
                found.append(message)
                size += message.size()
            end = page.get("end")
            if not end or not page.get("chunk"):
                return found, False
            if size >= budget:
                return found, True
            since = str(end)
        return found, True

    def members(self, room: str) -> set[str]:
        found = self._request("GET", f"/rooms/{_q(room)}/members")
        return {
            str(e.get("state_key"))
            for e in found.get("chunk") or []
            if (e.get("content") or {}).get("membership") in ("join", "invite")
        }

    def _send(self, room: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
        txn = uuid.uuid4().hex
        return str(self._request("PUT", f"/rooms/{_q(room)}/send/{event_type}/{txn}", content)["event_id"])

    def post(self, room: str, text: str) -> str:
        return self._send(room, {"msgtype": "m.text", "body": text})

    def update(self, room: str, ref: str, text: str) -> None:
        self._send(
            room,
            {
                "msgtype": "m.text",
                "body": "* " + text,
                "m.new_content": {"msgtype": "m.text", "body": text},
                "m.relates_to": {"rel_type": "m.replace", "event_id": ref},
            },
        )

    def pin(self, room: str, ref: str) -> None:
        self._request("PUT", f"/rooms/{_q(room)}/state/m.room.pinned_events", {"pinned": [ref]})

    def find_pinned(self, room: str) -> str | None:
        found = self._request("GET", f"/rooms/{_q(room)}/state/m.room.pinned_events", ok=("M_NOT_FOUND",))
        pinned = (found or {}).get("pinned") or []
        return str(pinned[0]) if pinned else None

    def archive(self, room: str) -> None:
        self._request("PUT", f"/rooms/{_q(room)}/state/m.room.topic", {"topic": "[archived]"})
        self._request("POST", f"/rooms/{_q(room)}/leave", {})

    def account_of(self, email: str) -> str | None:
        # Matrix finds accounts by email only through an identity server; people link their account instead.
        return None

    def event(self, room: str, event_id: str) -> dict[str, Any] | None:
        """One event of a room (a message that got the capture reaction)."""
        found = self._request("GET", f"/rooms/{_q(room)}/event/{_q(event_id)}", ok=("M_NOT_FOUND", "M_FORBIDDEN"))
        return found if isinstance(found, dict) else None

    def sync(self, since: str | None, *, timeout_ms: int = 0) -> dict[str, Any]:
        path = f"/sync?timeout={timeout_ms}" + (f"&since={_q(since)}" if since else "")
        found: dict[str, Any] = self._request("GET", path)
        return found

    def join(self, room: str) -> None:
        self._request("POST", f"/join/{_q(room)}", {})
