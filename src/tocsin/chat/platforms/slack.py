"""Slack war rooms through the Web API: ``conversations.create``/``.invite``/``.setTopic``/``.archive``/
``.members``/``.list``, ``chat.postMessage``/``chat.update``, ``pins.add``/``pins.list``, ``users.lookupByEmail``.

Slack answers most errors with HTTP 200 ``{"ok": false, "error": …}``; ``ratelimited`` comes as HTTP 429 with
Retry-After. The client has no retry handlers of its own: the engine retries with backoff and records each try."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from tocsin.chat.platforms.base import HISTORY_PAGES, ChatError, ChatMessage, NameTaken
from tocsin.core.numbers import is_ascii_digits
from tocsin.notify.providers import transport_logs

transport_logs.install()

TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# Slack truncates topics at 250 characters; cut before it does, so that what we keep is what Slack shows.
TOPIC_LIMIT = 250
SUMMARY_MARK = "Incident summary"

T = TypeVar("T")


class SlackRooms:
    name = "slack"

    def __init__(self, token: str, *, base_url: str = "https://slack.com/api/", timeout: int = 10) -> None:
        self._client = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])

    def _call(self, fn: Callable[[], T], *, ok_errors: frozenset[str] = frozenset()) -> T | None:
        try:
            return fn()
        except SlackApiError as exc:
            data = exc.response.data
            error = str(data.get("error", "")) if isinstance(data, dict) else ""
            if error in ok_errors:
                return None
            status = int(exc.response.status_code)
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            if error == "name_taken":
                raise NameTaken("name_taken") from None
            transient = error in TRANSIENT or status == 429 or status >= 500
            raise ChatError(
                f"Slack: HTTP {status}" + (f": {error}" if error else ""),
                transient=transient,
                retry_after=float(retry_after) if retry_after and is_ascii_digits(str(retry_after)) else None,
            ) from None
        except (TimeoutError, URLError, OSError) as exc:
            raise ChatError(f"Slack unreachable: {type(exc).__name__}", transient=True) from None
        except (SlackClientError, ValueError, KeyError) as exc:
            raise ChatError(f"unexpected Slack answer: {type(exc).__name__}: {str(exc)[:200]}") from None

    def create_room(self, name: str, *, private: bool) -> str:
        found = self._call(lambda: self._client.conversations_create(name=name, is_private=private))
        assert found is not None
        return str(found["channel"]["id"])

    def find_room(self, name: str) -> str | None:
        cursor: str | None = None
        for _ in range(50):
            page = self._call(
                lambda c=cursor: self._client.conversations_list(  # type: ignore[misc]
                    types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=c
                )
            )
            assert page is not None
            for channel in page.get("channels") or []:
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    def set_topic(self, room: str, topic: str) -> None:
        self._call(lambda: self._client.conversations_setTopic(channel=room, topic=topic[:TOPIC_LIMIT]))

    def invite(self, room: str, account: str) -> None:
        self._call(
            lambda: self._client.conversations_invite(channel=room, users=account),
            ok_errors=frozenset({"already_in_channel"}),
        )

    def kick(self, room: str, account: str) -> bool:
        try:
            self._call(
                lambda: self._client.conversations_kick(channel=room, user=account),
                ok_errors=frozenset({"not_in_channel"}),
            )
        except ChatError as exc:
            if str(exc).endswith(": cant_kick_self"):
                return False
            raise
        return True

    def history(self, room: str, budget: int) -> tuple[list[ChatMessage], bool]:
        """The room's messages, newest pages first, with each thread's replies (``conversations.history`` leaves
        them out: they come from ``conversations.replies`` of the parent); ``True`` when the budget cut it short."""
        found: list[ChatMessage] = []
        size = 0
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            page = self._call(
                lambda c=cursor: self._client.conversations_history(channel=room, limit=200, cursor=c)  # type: ignore[misc]
            )
            assert page is not None
            for item in page.get("messages") or []:
                size += _keep(found, item)
                if item.get("reply_count") and item.get("thread_ts") == item.get("ts"):
                    size += self._thread(room, str(item["ts"]), found)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not page.get("has_more") or not cursor:
                return found, False
            if size >= budget:
                return found, True
        return found, True

    def _thread(self, room: str, parent: str, found: list[ChatMessage]) -> int:
        """The replies of one thread (not its parent, which the history gave) into ``found``; their size."""
        size = 0
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            page = self._call(
                lambda c=cursor: self._client.conversations_replies(channel=room, ts=parent, limit=200, cursor=c)  # type: ignore[misc]
            )
            assert page is not None
            for item in page.get("messages") or []:
                if str(item.get("ts")) != parent:
                    size += _keep(found, item)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not page.get("has_more") or not cursor:
                break
        return size

    def members(self, room: str) -> set[str]:
        found = self._call(lambda: self._client.conversations_members(channel=room, limit=1000))
        assert found is not None
        return {str(m) for m in found.get("members") or []}

    def post(self, room: str, text: str) -> str:
        sent = self._call(lambda: self._client.chat_postMessage(channel=room, text=text, unfurl_links=False))
        assert sent is not None
        return str(sent["ts"])

    def update(self, room: str, ref: str, text: str) -> None:
        self._call(lambda: self._client.chat_update(channel=room, ts=ref, text=text))

    def pin(self, room: str, ref: str) -> None:
        self._call(lambda: self._client.pins_add(channel=room, timestamp=ref), ok_errors=frozenset({"already_pinned"}))

    def find_pinned(self, room: str) -> str | None:
        found = self._call(lambda: self._client.pins_list(channel=room))
        assert found is not None
        for item in found.get("items") or []:
            message: dict[str, Any] = item.get("message") or {}
            if str(message.get("text", "")).startswith(SUMMARY_MARK):
                return str(message.get("ts"))
        return None

    def archive(self, room: str) -> None:
        self._call(lambda: self._client.conversations_archive(channel=room), ok_errors=frozenset({"already_archived"}))

    def account_of(self, email: str) -> str | None:
        found = self._call(
            lambda: self._client.users_lookupByEmail(email=email), ok_errors=frozenset({"users_not_found"})
        )
        return None if found is None else str(found["user"]["id"])

    def email_of(self, account: str) -> str | None:
        found = self._call(lambda: self._client.users_info(user=account), ok_errors=frozenset({"user_not_found"}))
        if found is None:
            return None
        email = (found["user"].get("profile") or {}).get("email")
        return str(email) if email else None

    def message(self, room: str, ts: str) -> tuple[str, str] | None:
        """(author account, text) of one message of a channel, for timeline capture."""
        found = self._call(
            lambda: self._client.conversations_history(channel=room, latest=ts, inclusive=True, limit=1),
            ok_errors=frozenset({"channel_not_found", "not_in_channel"}),
        )
        if found is None:
            return None
        for item in found.get("messages") or []:
            if str(item.get("ts")) == ts:
                return str(item.get("user") or item.get("bot_id") or "someone"), str(item.get("text", ""))
        return None


def _keep(found: list[ChatMessage], item: dict[str, Any]) -> int:
    """One message of the conversation into ``found`` (those without text, such as joins, are left out); its size."""
    text = str(item.get("text") or "")
    if not text:
        return 0
    message = ChatMessage(
        at=slack_time(str(item.get("ts", "0"))),
        author=str(item.get("user") or item.get("bot_id") or "someone"),
        text=text,
    )
    found.append(message)
    return message.size()


def slack_time(ts: str) -> datetime:
    """A message's ``ts`` (seconds since the epoch, with a sequence after the dot) as a time."""
    whole, _, _ = ts.partition(".")
    seconds = int(whole) if whole.isascii() and whole.isdigit() else 0
    fraction = ts[len(whole) + 1 :]
    micros = int(fraction[:6].ljust(6, "0")) if fraction.isascii() and fraction.isdigit() else 0
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
