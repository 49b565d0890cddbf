"""Microsoft Teams war rooms through Microsoft Graph (app-only token, client credentials).

A room is a channel of the configured team: ``POST /teams/{team}/channels`` (``membershipType`` ``private`` for
private incidents, with the app as owner), found again by ``GET /teams/{team}/channels?$filter=displayName eq
'…'``; a taken name is HTTP 400 ``NameAlreadyExists``. Members are added with ``POST
/teams/{team}/channels/{channel}/members`` (private channels) and users are found by ``GET /users/{email}``. The
summary is a channel message (``POST …/messages``, edited with ``PATCH …/messages/{id}``); Teams' topic is the
channel description (``PATCH``). Graph throttles with HTTP 429 and Retry-After."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from tocsin.chat.platforms.base import HISTORY_PAGES, ChatError, ChatMessage, NameTaken
from tocsin.core import tls
from tocsin.core.numbers import is_ascii_digits


class GraphRooms:
    name = "teams"

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        team_id: str,
        timeout: float = 10.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._team = quote(team_id, safe="")
        self._http = httpx.Client(timeout=timeout, verify=tls.client_context())
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] < time.monotonic() + 60:
                try:
                    response = self._http.post(
                        self._token_url,
                        data={
                            "grant_type": "client_credentials",
                            "client_id": self._client_id,
                            "client_secret": self._secret,
                            "scope": "https://graph.microsoft.com/.default",
                        },
                    )
                except httpx.HTTPError as exc:
                    raise ChatError(f"Microsoft sign-in unreachable: {type(exc).__name__}", transient=True) from None
                if response.status_code != 200:
                    raise ChatError(f"Microsoft sign-in refused: HTTP {response.status_code}", transient=False)
                data = response.json()
                self._token = (str(data["access_token"]), time.monotonic() + float(data.get("expires_in", 3599)))
            return self._token[0]

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, *, ok: tuple[int, ...] = ()) -> Any:
        try:
            url = path if path.startswith(self._base + "/") else self._base + path
            response = self._http.request(method, url, json=body, headers={"Authorization": f"Bearer {self._bearer()}"})
        except httpx.HTTPError as exc:
            raise ChatError(f"Microsoft Graph unreachable: {type(exc).__name__}", transient=True) from None
        if response.status_code in ok:
            return None
        if 200 <= response.status_code < 300:
            return response.json() if response.content else {}
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        if code == "NameAlreadyExists":
            raise NameTaken(code)
        retry = response.headers.get("retry-after")
        raise ChatError(
            f"Microsoft Graph: HTTP {response.status_code} {code}",
            transient=response.status_code == 429 or response.status_code >= 500,
            retry_after=float(retry) if retry and is_ascii_digits(retry) else None,
        )

    def create_room(self, name: str, *, private: bool) -> str:
        body: dict[str, Any] = {"displayName": name, "membershipType": "private" if private else "standard"}
        made = self._request("POST", f"/teams/{self._team}/channels", body)
        return str(made["id"])

    def find_room(self, name: str) -> str | None:
        safe = name.replace("'", "''")
        found = self._request("GET", f"/teams/{self._team}/channels?$filter=displayName eq '{safe}'")
        for channel in (found or {}).get("value") or []:
            if channel.get("displayName") == name:
                return str(channel["id"])
        return None

    def set_topic(self, room: str, topic: str) -> None:
        self._request("PATCH", f"/teams/{self._team}/channels/{quote(room, safe='')}", {"description": topic[:1024]})

    def invite(self, room: str, account: str) -> None:
        body = {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": [],
            "user@odata.bind": f"https://graph.microsoft.com/v1.0/users('{account}')",
        }
        self._request("POST", f"/teams/{self._team}/channels/{quote(room, safe='')}/members", body, ok=(409,))

    def kick(self, room: str, account: str) -> bool:
        # The membership's own id is needed: found among the channel's members by the user's object id.
        channel = f"/teams/{self._team}/channels/{quote(room, safe='')}/members"
        found = self._request("GET", channel)
        for member in (found or {}).get("value") or []:
            if str(member.get("userId")) == account and member.get("id"):
                self._request("DELETE", f"{channel}/{quote(str(member['id']), safe='')}", ok=(404,))
        return True

    def history(self, room: str, budget: int) -> tuple[list[ChatMessage], bool]:
        """The channel's messages with their replies: the list leaves replies out unless expanded, and an
        expansion carries at most 1,000 of a thread's replies, the rest behind ``replies@odata.nextLink``."""
        found: list[ChatMessage] = []
        size = 0
        path = f"/teams/{self._team}/channels/{quote(room, safe='')}/messages?$top=50&$expand=replies"
        for _ in range(HISTORY_PAGES):
            page = self._request("GET", path) or {}
            for item in page.get("value") or []:
                size += _keep(found, item)
                for reply in item.get("replies") or []:
                    size += _keep(found, reply)
                more = item.get("replies@odata.nextLink")
                if more:
                    size += self._more_replies(str(more), found)
            link = page.get("@odata.nextLink")
            if not link:
                return found, False
            if size >= budget:
                return found, True
            path = self._next(str(link))
        return found, True

    def _more_replies(self, link: str, found: list[ChatMessage]) -> int:
        size = 0
        for _ in range(HISTORY_PAGES):
            page = self._request("GET", self._next(link)) or {}
            for reply in page.get("value") or []:
                size += _keep(found, reply)
            link = str(page.get("@odata.nextLink") or "")
            if not link:
                break
        return size

    def _next(self, link: str) -> str:
        if not link.startswith(self._base + "/"):
            raise ChatError("Microsoft Graph: a next page outside the Graph endpoint")
        return link

    def members(self, room: str) -> set[str]:
        found = self._request("GET", f"/teams/{self._team}/channels/{quote(room, safe='')}/members")
        return {str(m.get("userId")) for m in (found or {}).get("value") or []}

    def post(self, room: str, text: str) -> str:
        made = self._request(
            "POST",
            f"/teams/{self._team}/channels/{quote(room, safe='')}/messages",
            {"body": {"contentType": "text", "content": text}},
        )
        return str(made["id"])

    def update(self, room: str, ref: str, text: str) -> None:
        self._request(
            "PATCH",
            f"/teams/{self._team}/channels/{quote(room, safe='')}/messages/{quote(ref, safe='')}",
            {"body": {"contentType": "text", "content": text}},
        )

    def pin(self, room: str, ref: str) -> None:
        # Graph pins messages in chats only; a channel's first message is its summary, kept in place by edits.
        return None

    def find_pinned(self, room: str) -> str | None:
        found = self._request("GET", f"/teams/{self._team}/channels/{quote(room, safe='')}/messages?$top=50")
        for message in (found or {}).get("value") or []:
            content = str((message.get("body") or {}).get("content", ""))
            if content.startswith("Incident summary"):
                return str(message["id"])
        return None

    def archive(self, room: str) -> None:
        # Channels cannot be archived one by one: the channel is kept, marked in its description.
        self._request("PATCH", f"/teams/{self._team}/channels/{quote(room, safe='')}", {"description": "[archived]"})

    def account_of(self, email: str) -> str | None:
        found = self._request("GET", f"/users/{quote(email, safe='@')}?$select=id", ok=(404,))
        return None if found is None else str(found["id"])


def _keep(found: list[ChatMessage], item: dict[str, Any]) -> int:
    """One message into ``found`` (system events and deleted messages left out); its size."""
    if item.get("messageType", "message") != "message" or item.get("deletedDateTime"):
        return 0
    sender = item.get("from") or {}
    who = sender.get("user") or sender.get("application") or {}
    message = ChatMessage(
        at=graph_time(str(item.get("createdDateTime") or "")),
        author=str(who.get("displayName") or who.get("id") or "someone"),
        text=str((item.get("body") or {}).get("content") or ""),
    )
    found.append(message)
    return message.size()


def graph_time(value: str) -> datetime:
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
