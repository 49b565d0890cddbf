"""The send pipeline: what becomes of each claimed row when ``begin_send_batch`` marks a batch ``sending``.

One rule per function. ``decide`` runs them in this order, and the first that keeps a row back decides; a row no
rule keeps back goes out:

1. ``still_ours``: the row is still due (pending, or an interrupted send waiting for its one resend); otherwise
   another worker has it now and it is left alone. (Rows whose fence moved on are not even read.)
2. ``one_per_contact_method``: at most one message per contact method leaves per batch, none to a contact method
   whose call is still running, and the resend of an interrupted message goes out alone; the rest are deferred.
3. ``incident_still_triggered``: a page of an incident acknowledged or resolved since is cancelled.
4. ``contact_method_usable``: a message to a contact method removed or disabled fails.
5. ``verified_only``: an unverified contact method gets nothing but its verification code.
6. ``within_throttle``: a page over its contact method's rate limit is held back, to go out bundled.

The order matters: a deferred row is decided afresh on a later pass, so deferring comes before any verdict that
ends a row; a cancelled page needs no usable contact method; the throttle counts only what can go out.

The rules do no I/O: each reads the row and the facts it is given, with ``now`` as a parameter, and returns a
verdict or None. ``apply`` writes a verdict onto the row; the service writes the verdict's note on the timeline.
``start_sending`` and ``message_text`` prepare a row that goes out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tocsin.notify.throttle import Throttle, bundle

if TYPE_CHECKING:
    from tocsin.incidents.repository import LockedIncident
    from tocsin.notify.repository import OutboxRow, Recipient

# How long a row waits when its contact method still has a call running: a moment before the next look, rather
# than a claim and a deferral on every pass until that call returns.
AVOIDED_RETRY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Skip:
    """Not ours any more: the row is left as it is."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Not in this batch: released, and due again at ``until``."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Cancel:
    """A page nobody needs any more."""


@dataclass(frozen=True, slots=True)
class Fail:
    """Never to be sent: ``reason`` is kept on the row. With a ``note``, the incident's timeline says so and the
    user's next planned page comes forward (``notify.service.fall_back``)."""

    reason: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """Held back by the rate limit until ``retry_at``, held since ``since``; ``note`` is for the timeline, the
    first time only."""

    retry_at: datetime | None
    since: datetime
    note: str | None = None


Verdict = Skip | Defer | Cancel | Fail | Hold
SKIP = Skip()
CANCEL = Cancel()


def is_resend(row: OutboxRow) -> bool:
    """The one resend of a message whose send was interrupted (ADR 0002)."""
    return row.status == "ambiguous"


def still_ours(row: OutboxRow) -> Skip | None:
    return None if row.status in ("pending", "ambiguous") else SKIP


def one_per_contact_method(
    row: OutboxRow, *, busy: Collection[int], avoid: Collection[int], batch_started: bool, now: datetime
) -> Defer | None:
    """``busy``: contact methods with a message in this batch already or a call still running (``avoid``).

    The resend of an interrupted message goes out alone: interrupted again beside others, it would not be sent a
    third time.
    """
    if row.contact_method_id in busy or (is_resend(row) and batch_started):
        # Behind what is due now; a contact method whose call is still running gets a moment first.
        return Defer(now + (AVOIDED_RETRY if row.contact_method_id in avoid else timedelta(0)))
    return None


def incident_still_triggered(row: OutboxRow, incident: LockedIncident | None) -> Cancel | None:
    if row.kind == "page" and (incident is None or incident.status != "triggered"):
        return CANCEL
    return None


def contact_method_usable(recipient: Recipient | None) -> Fail | None:
    if recipient is None or recipient.disabled:
        return Fail("contact method removed or disabled")
    return None


def verified_only(row: OutboxRow, recipient: Recipient) -> Fail | None:
    """An unconfirmed phone number may belong to someone else: it gets nothing but its verification code."""
    if recipient.verified or row.kind == "verify":
        return None
    note = f"{recipient.type} to {recipient.user_name} not sent: the contact method is not verified"
    return Fail("contact method not verified", note)


def within_throttle(
    row: OutboxRow, recipient: Recipient, sent_times: Sequence[datetime], throttle: Throttle, now: datetime
) -> Hold | None:
    """Only pages count against the rate limit; the resend of an interrupted message is the same message, counted
    when it started."""
    if row.kind != "page" or is_resend(row):
        return None
    decision = throttle.decide(sent_times, now)
    if decision.allowed:
        return None
    if row.held_since is not None:
        return Hold(decision.retry_at, row.held_since)
    note = f"{recipient.type} to {recipient.user_name} held back by the rate limit; it will go out bundled"
    return Hold(decision.retry_at, now, note)


def decide(
    row: OutboxRow,
    *,
    incident: LockedIncident | None,
    recipient: Recipient | None,
    sent_times: Sequence[datetime],
    busy: Collection[int],
    avoid: Collection[int],
    batch_started: bool,
    throttle: Throttle,
    now: datetime,
) -> Verdict | None:
    """The rules in their order (see the module's docstring); None: the row goes out."""
    verdict: Verdict | None = (
        still_ours(row)
        or one_per_contact_method(row, busy=busy, avoid=avoid, batch_started=batch_started, now=now)
        or incident_still_triggered(row, incident)
        or contact_method_usable(recipient)
    )
    if verdict is not None or recipient is None:
        return verdict
    return verified_only(row, recipient) or within_throttle(row, recipient, sent_times, throttle, now)


def apply(row: OutboxRow, verdict: Verdict) -> None:
    """Write a verdict onto the row (``save_rows`` stores what changed)."""
    match verdict:
        case Skip():
            pass
        case Defer(until=until):
            row.lease_owner = None
            row.lease_until = None
            row.next_attempt_at = until
        case Cancel():
            row.status = "cancelled"
            row.next_attempt_at = None
            row.lease_until = None
        case Fail(reason=reason):
            row.status = "failed"
            row.last_error = reason
            row.next_attempt_at = None
        case Hold(retry_at=retry_at, since=since):
            row.held_since = since
            row.next_attempt_at = retry_at
            row.lease_until = None


def gathers_held(row: OutboxRow) -> bool:
    """A page let through after being held back takes the messages held back beside it along, as one bundle."""
    return row.kind == "page" and not is_resend(row) and row.held_since is not None


def start_sending(row: OutboxRow, bundled: Sequence[OutboxRow]) -> None:
    """Mark a row that goes out ``sending``, with the held-back rows it carries as a bundle."""
    row.status = "sending"
    row.attempts += 1
    row.held_since = None
    for other in bundled:
        other.status = "bundled"
        other.next_attempt_at = None
        other.held_since = None
        other.provider_ref = f"bundled-into:{row.id}"
    if bundled:
        row.payload = {**row.payload, "bundled": [o.id for o in bundled]}


def message_text(row: OutboxRow, recipient: Recipient, bundled_numbers: Sequence[int] | None) -> str:
    """What a message says beside the incident: the bundle's summary, a notice's own text, or a test's line.
    ``bundled_numbers``: the incident numbers of the rows bundled into this one, None when there are none."""
    text = bundle(sorted(set(bundled_numbers))) if bundled_numbers is not None else ""
    if not text:
        text = str(row.payload.get("text", "")) if row.kind != "page" else ""
    if row.kind == "test":
        text = f"Test notification from Tocsin to {recipient.user_name} by {recipient.type}."
    return text
