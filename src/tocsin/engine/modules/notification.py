"""Delivers due notifications through their channel's provider, recording every attempt and outcome.

When the database drops away between marking a notification ``sending`` and recording its outcome, the module
keeps what it was doing and finishes it on a later pass, within its lease: a page that had not left yet goes out
(after checking again that it is still ours and still wanted), and one that had left gets its outcome recorded.
Without this, both would wait out the lease and be declared ambiguous, and the first would never be sent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from tocsin.core.clock import Clock
from tocsin.db.claims import Claim
from tocsin.db.session import Database
from tocsin.notify import service as notify
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry, SendResult
from tocsin.notify.retry import RetryPolicy

log = logging.getLogger(__name__)


class NotificationModule:
    name = "notification"

    def __init__(
        self,
        db: Database,
        providers: ProviderRegistry,
        ctx: notify.SendContext,
        clock: Clock,
        *,
        owner: str,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(seconds=30),
        send_lease: timedelta = notify.SEND_LEASE,
        # Small batches: sends run one after another, and the runner fires due escalation steps only between
        # batches, so the batch bounds how long a backlog of sends can hold up the next step's timer.
        batch: int = 20,
        before_send: Callable[[int], None] | None = None,
        rand: Callable[[], float] = random.random,
        senders: int = 1,
    ) -> None:
        self.db = db
        self.providers = providers
        self.ctx = ctx
        self.clock = clock
        self.owner = owner
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.send_lease = send_lease
        self.batch = batch
        # A hook for fault-injection tests (pause or kill between the last check and the provider call).
        self.before_send = before_send
        self.rand = rand
        # Sends interrupted by a database error: (message, None) has not left yet, (message, result) has.
        self._interrupted: list[tuple[OutboundMessage, SendResult | None]] = []
        # Provider calls in flight at once. A slow round trip then holds up only its own contact method's
        # messages: the fence and the committed 'sending' state already make each send safe on its own.
        self.senders = senders
        self._pool: ThreadPoolExecutor | None = None

    def run_once(self, now: datetime) -> int:
        resumed = self._resume()
        with self.db.unit_of_work() as session:
            claims = notify.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
        if self.senders > 1 and len(claims) > 1:
            self._deliver_concurrently(claims)
        else:
            self._deliver_in_order(claims)
        return resumed + len(claims)

    def _deliver_in_order(self, claims: Sequence[Claim]) -> None:
        for c in claims:
            self._deliver(c)

    def _deliver_concurrently(self, claims: Sequence[Claim]) -> None:
        """Incidents' first pages all go out before anything else of the batch (a backlog of later steps must
        not delay someone hearing of a new incident). Within each rank, one task per contact method, its messages
        in claim order: the throttle counts what a contact method was sent, and bundles what it held back, only
        if that contact method's sends do not overlap."""
        with self.db.reader() as session:
            order = notify.send_order_of(session, [c.id for c in claims])
        ranks: dict[int, dict[int | None, list[Claim]]] = {}
        for c in claims:
            channel, rank = order.get(c.id, (None, 1))
            ranks.setdefault(rank, {}).setdefault(channel, []).append(c)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.senders, thread_name_prefix="tocsin-sender")
        for rank in sorted(ranks):
            tasks = [self._pool.submit(self._deliver_in_order, group) for group in ranks[rank].values()]
            failures = [exc for exc in (t.exception() for t in tasks) if exc is not None]
            if failures:
                raise failures[0]

    def _resume(self) -> int:
        interrupted, self._interrupted = self._interrupted, []
        for i, (message, result) in enumerate(interrupted):
            try:
                if result is None:
                    self._send(message, resumed=True)
                else:
                    self._record(message, result)
            except SQLAlchemyError:
                self._interrupted.extend(interrupted[i + 1 :])
                raise
        return len(interrupted)

    def _deliver(self, c: Claim) -> None:
        with self.db.unit_of_work() as session:
            message = notify.begin_send(session, c, now=self.clock.now(), ctx=self.ctx, send_lease=self.send_lease)
        if message is not None:
            self._send(message, resumed=False)

    def _send(self, message: OutboundMessage, *, resumed: bool) -> None:
        fence = int(message.extra["fence"])
        lease_until = datetime.fromisoformat(str(message.extra["lease_until"]))
        check = notify.still_sendable if resumed else notify.still_ours
        try:
            with self.db.reader() as session:
                if not check(session, message.notification_id, fence):
                    return
        except SQLAlchemyError:
            self._interrupted.append((message, None))
            raise
        if self.before_send is not None:
            self.before_send(message.notification_id)
        if self.clock.now() >= lease_until:
            # We stalled (paused, swapped out, clock jumped) past our lease after the last check: the row may be
            # another worker's by now, and our fence cannot travel with the request. Nothing has left yet, so the
            # row goes back to due if it is still ours; otherwise its new owner sends it.
            log.warning("lease on notification %d ran out before sending; not sending", message.notification_id)
            with self.db.unit_of_work() as session:
                notify.unsend(session, message.notification_id, fence, now=self.clock.now())
            return
        provider = self.providers.get(message.contact_type)
        if provider is None:
            result = SendResult(outcome="failed", error=f"no provider configured for {message.contact_type}")
        else:
            try:
                result = provider.send(message)
            except Exception as exc:
                # A provider that raises has not classified the outcome: the message may have left.
                log.exception("provider %s raised", message.contact_type)
                result = SendResult(outcome="failed", error=f"provider error: {type(exc).__name__}")
        self._record(message, result)

    def _record(self, message: OutboundMessage, result: SendResult) -> None:
        fence = int(message.extra["fence"])
        try:
            with self.db.unit_of_work() as session:
                notify.record(
                    session,
                    message.notification_id,
                    fence,
                    result,
                    now=self.clock.now(),
                    retry=self.retry,
                    rand=self.rand,
                )
        except SQLAlchemyError:
            self._interrupted.append((message, result))
            raise

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return notify.next_due(session)
