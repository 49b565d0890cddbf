"""Who hears of a remote issue's status changing (a tracker webhook, or the answer to a push): callbacks that
domains above register, called inside the transaction that records the change, so that what they write commits
with it or not at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class RemoteStatusChange:
    local_ref: str
    connection_id: int
    remote_key: str
    remote_status: str | None
    state: str  # open | closed
    previous_state: str | None
    # "webhook": the tracker told us; "push": our own close/reopen took effect; "create": the issue was made.
    source: str
    at: datetime


StatusCallback = Callable[[Session, RemoteStatusChange], None]
_callbacks: list[StatusCallback] = []


def on_remote_status(callback: StatusCallback) -> StatusCallback:
    """Register ``callback`` (usable as a decorator); registering the same function twice adds it once."""
    if callback not in _callbacks:
        _callbacks.append(callback)
    return callback


def remove(callback: StatusCallback) -> None:
    if callback in _callbacks:
        _callbacks.remove(callback)


def fire(session: Session, change: RemoteStatusChange) -> None:
    for callback in list(_callbacks):
        callback(session, change)
