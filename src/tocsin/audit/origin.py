"""Who is acting, and from where: set once by each transport, read by the audit hook when a session flushes.

A transport either puts an ``Origin`` in ``session.info`` (one unit of work) or sets the context variable for the
work it runs (a request, a command). The context variable holds a mutable object, so that an authentication
dependency running in a worker thread can fill in the user of the request it belongs to. Work with neither — the
engine, the ingest writer, start-up — is the system acting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

Channel = Literal["api", "web", "cli", "apply", "system"]
CHANNELS: tuple[Channel, ...] = ("api", "web", "cli", "apply", "system")

_SESSION_KEY = "tocsin_audit_origin"


@dataclass(slots=True)
class Origin:
    channel: Channel
    actor: str = ""
    user_id: int | None = None
    token_id: int | None = None
    ip: str = ""
    user_agent: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def signed_in(self, *, user_id: int, label: str, token_id: int | None = None) -> None:
        self.user_id = user_id
        self.actor = label
        self.token_id = token_id


SYSTEM = Origin(channel="system", actor="system")

_current: ContextVar[Origin | None] = ContextVar("tocsin_audit_origin", default=None)


def current() -> Origin | None:
    return _current.get()


@contextmanager
def acting(origin: Origin) -> Iterator[Origin]:
    """Everything flushed inside the block is recorded as done by ``origin``."""
    token = _current.set(origin)
    try:
        yield origin
    finally:
        _current.reset(token)


def set_for_session(session: Session, origin: Origin) -> None:
    session.info[_SESSION_KEY] = origin


def of_session(session: Session) -> Origin:
    found = session.info.get(_SESSION_KEY)
    if isinstance(found, Origin):
        return found
    return _current.get() or SYSTEM
