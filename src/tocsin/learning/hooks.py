"""Who hears of a postmortem being published: callbacks that the domains above register (the status pages show it
beside the incident they published), called in the transaction that publishes it, so both commit or neither."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.learning.models import Postmortem

PublishedCallback = Callable[[Session, Postmortem, datetime], object]
_on_published: list[PublishedCallback] = []


def on_published(callback: PublishedCallback) -> PublishedCallback:
    """Register ``callback``; registering the same function twice adds it once."""
    if callback not in _on_published:
        _on_published.append(callback)
    return callback


def published(session: Session, postmortem: Postmortem, now: datetime) -> None:
    for callback in list(_on_published):
        callback(session, postmortem, now)
