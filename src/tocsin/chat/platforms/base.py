"""What the engine asks of a chat platform, and how a platform says a call failed.

Every call is one request; retries, backoff and rate limits are the engine's (``chat/pacing.py``), so that a
failure is recorded on the room and never hidden in a client's loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Pages of history fetched for one export, at most (a bound on a runaway cursor, not a size limit).
HISTORY_PAGES = 500


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a room's conversation, as the platform keeps it (``author``: the platform's account)."""

    at: datetime
    author: str
    text: str

    def size(self) -> int:
        return len(self.text.encode()) + len(self.author.encode()) + 24


class ChatError(Exception):
    """A call that failed. ``transient``: worth trying again later (``retry_after`` seconds when the platform said
    so); otherwise the room records the error and waits for a person."""

    def __init__(self, message: str, *, transient: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class NameTaken(ChatError):
    """A room of that name exists already (perhaps ours, made by a worker that died before recording it)."""


class Platform(Protocol):
    name: str

    def create_room(self, name: str, *, private: bool) -> str:
        """Create the room; its platform id. Raises ``NameTaken`` when the name is in use."""
        ...

    def find_room(self, name: str) -> str | None:
        """The id of the room of that name the bot made or is in, if any (after an ambiguous create)."""
        ...

    def set_topic(self, room: str, topic: str) -> None: ...

    def invite(self, room: str, account: str) -> None:
        """Invite one account; already being in the room counts as done."""
        ...

    def kick(self, room: str, account: str) -> bool:
        """Remove one account from the room; True when it is out (already gone counts), False when the platform
        will not remove it (the bot itself)."""
        ...

    def history(self, room: str, budget: int) -> tuple[list[ChatMessage], bool]:
        """The room's messages, newest first, until about ``budget`` bytes are gathered: (messages, whether older
        ones were left unread)."""
        ...

    def members(self, room: str) -> set[str]:
        """Accounts in (or invited to) the room: what an invite of unknown outcome is checked against."""
        ...

    def post(self, room: str, text: str) -> str:
        """Post a message; its reference (to update or pin it)."""
        ...

    def update(self, room: str, ref: str, text: str) -> None: ...

    def pin(self, room: str, ref: str) -> None: ...

    def find_pinned(self, room: str) -> str | None:
        """The bot's pinned summary, if one was posted by a worker that died before recording it."""
        ...

    def archive(self, room: str) -> None: ...

    def account_of(self, email: str) -> str | None:
        """The chat account of a person, found by email; None when the platform does not know them."""
        ...


class Paced(ChatError):
    """Our own pacing held the call back: not the platform's failure, so it does not count as an attempt."""
