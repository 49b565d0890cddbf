"""What a provider's answer does to a row marked ``sending``: the end of the send pipeline, for ``record_batch``.

``record_outcome`` writes the outcome onto the row (delivered; retry later, with backoff honouring Retry-After;
or failed for good) and says what the incident's timeline reads. It does no I/O and takes ``now`` as a parameter;
the service writes the timeline, brings a failed page's fallback forward, and edits a chat page of an incident
that was settled meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tocsin.incidents.timeline import TimelineKind
from tocsin.notify.providers.base import SendResult
from tocsin.notify.retry import RetryPolicy

if TYPE_CHECKING:
    from tocsin.notify.repository import OutboxRow, Recipient

# Channels whose messages are edited in place when the incident changes (the provider keeps a message reference).
UPDATABLE_TYPES = ("slack",)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the timeline says of an outcome (``kind``, ``text``); ``falls_back``: a page failed for good, so the
    user's next planned page comes forward; ``edits``: a chat page was delivered, to be edited at once if its
    incident was settled meanwhile."""

    kind: TimelineKind
    text: str
    falls_back: bool = False
    edits: bool = False


def record_outcome(
    row: OutboxRow,
    result: SendResult,
    recipient: Recipient | None,
    *,
    fence: int,
    now: datetime,
    retry: RetryPolicy,
    rand: Callable[[], float],
) -> Recorded | None:
    """Write a provider's answer onto the row it was sent for; None when the row is no longer ours (``fence``)."""
    if row.fence != fence:
        # The row was declared ambiguous while we were sending; keep that verdict but note what really happened.
        row.last_error = f"late outcome after lease expiry: {result.outcome}"
        return None
    who = f"{recipient.type} to {recipient.user_name}" if recipient else f"contact to {row.user_id}"
    row.lease_until = None
    row.lease_owner = None
    if result.outcome == "delivered":
        recorded = _delivered(row, result, recipient, who, now)
    else:
        recorded = _not_delivered(row, result, who, now, retry, rand)
    if row.kind == "verify" and row.status in ("sent", "failed"):
        # The code has reached the phone or never will: the outbox keeps only its hash.
        row.payload = {k: v for k, v in row.payload.items() if k != "text"}
    return recorded


def _delivered(row: OutboxRow, result: SendResult, recipient: Recipient | None, who: str, now: datetime) -> Recorded:
    row.status = "sent"
    row.sent_at = now
    row.provider_ref = result.provider_ref
    row.next_attempt_at = None
    edits = row.kind == "page" and recipient is not None and recipient.type in UPDATABLE_TYPES
    if row.kind == "status" and "ref" in row.payload:
        # A chat message edited in place (Slack); other status messages are notices of their own.
        return Recorded(TimelineKind.NOTIFY_UPDATED, f"Updated the message: {who}", edits=edits)
    return Recorded(TimelineKind.NOTIFIED, f"Notified {who}", edits=edits)


def _not_delivered(
    row: OutboxRow, result: SendResult, who: str, now: datetime, retry: RetryPolicy, rand: Callable[[], float]
) -> Recorded:
    detail = result.error or (f"HTTP {result.status_code}" if result.status_code else "")
    next_at = None
    if result.outcome == "retry":
        next_at = retry.next_attempt(
            row.attempts, now, status=result.status_code, retry_after=result.retry_after, rand=rand
        )
    row.last_error = detail or result.outcome
    if next_at is not None:
        row.status = "pending"
        row.next_attempt_at = next_at
        return Recorded(TimelineKind.NOTIFY_RETRY, f"{who} failed ({detail}); retrying at {next_at:%H:%M:%S} UTC")
    row.status = "failed"
    row.next_attempt_at = None
    falls_back = row.kind == "page" and row.incident_id is not None
    return Recorded(TimelineKind.NOTIFY_FAILED, f"{who} failed ({detail}); giving up", falls_back=falls_back)
