"""Delivers due notifications through their channel's provider, recording every attempt and outcome.

A pass works on a claimed batch in four steps, each one statement or transaction for the whole batch: mark the
batch ``sending`` (``begin_send_batch``), check it is still ours and still wanted right before the calls
(``sendable_now``), call the providers (one message per contact method; in this thread while calls are fast, with
helper threads joining while one is slow), record the outcomes (``record_batch``). A batch is never larger than
the number of calls that can be in flight at once, so every message marked ``sending`` is handed to its provider
within moments: a worker killed mid-batch leaves ambiguous only sends that were under way.

When the database drops away between marking a batch ``sending`` and recording its outcomes, the module keeps
what it was doing and finishes it on a later pass, within its lease: a page that had not left yet goes out
(after checking again that it is still ours and still wanted), and one that had left gets its outcome recorded.
Without this, both would wait out the lease and be declared ambiguous, and the first would never be sent.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tocsin.core.clock import Clock
from tocsin.db.claims import Claim
from tocsin.db.session import NOTIFICATION_WORK, Database
from tocsin.engine.spillover import Spillover
from tocsin.notify import service as notify
from tocsin.notify.outgoing import Outgoing
from tocsin.notify.providers.base import ProviderRegistry, SendResult
from tocsin.notify.retry import RetryPolicy

log = logging.getLogger(__name__)

# (message, None): marked sending, not handed to a provider yet; (message, result): sent, outcome not recorded.
Interrupted = tuple[Outgoing, SendResult | None]


class NotificationModule:
    name = "notification"
    # Sends run on their own thread, so a backlog of provider calls never delays an escalation timer.
    lane = "sends"
    wakes_on = frozenset({NOTIFICATION_WORK})

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
        before_send: Callable[[int], None] | None = None,
        rand: Callable[[], float] = random.random,
        senders: int = 32,
    ) -> None:
        self.db = db
        self.providers = providers
        self.ctx = ctx
        self.clock = clock
        self.owner = owner
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.send_lease = send_lease
        # Provider calls in flight at once, and so the batch size: a slow round trip holds up only its own message
        # (helpers join while a call is slow, and a call still running a second after the rest of its batch is
        # left to finish on its own: see engine/spillover.py).
        self.senders = max(1, senders)
        # A hook for fault-injection tests (pause or kill between the last check and the provider call).
        self.before_send = before_send
        self.rand = rand
        self._interrupted: list[Interrupted] = []
        self._calls = Spillover(self.senders)
        # Contact methods with a call still running from an earlier batch (a straggler): nothing more goes to them
        # until it returns. Stragglers finish on other threads, hence the lock.
        self._lock = threading.Lock()
        self._busy: set[int] = set()

    def run_once(self, now: datetime) -> int:
        resumed = self._resume()
        with self._lock:
            busy = set(self._busy)
        messages: list[Outgoing] | None = None
        with self.db.unit_of_work() as session:
            claims = notify.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.senders)
            if self.db.is_sqlite:
                # Marking the batch sending in the claim's transaction: a SQLite write transaction holds the whole
                # database, so nothing can come between them. (On PostgreSQL the claim's row locks, taken before
                # the incidents', would deadlock with an acknowledgement, which locks the incident first.)
                messages = self._begin(session, claims, busy)
        if not claims:
            return resumed
        if messages is None:
            with self.db.unit_of_work() as session:
                messages = self._begin(session, claims, busy)
        self._send(messages)
        return resumed + len(claims)

    def _begin(self, session: Session, claims: Sequence[Claim], busy: set[int]) -> list[Outgoing]:
        if not claims:
            return []
        return notify.begin_send_batch(
            session, claims, now=self.clock.now(), ctx=self.ctx, send_lease=self.send_lease, avoid=busy
        )

    def _resume(self) -> int:
        with self._lock:
            interrupted, self._interrupted = self._interrupted, []
        if not interrupted:
            return 0
        self._record([(m, r) for m, r in interrupted if r is not None], also_unsent=interrupted)
        self._send([m for m, r in interrupted if r is None])
        return len(interrupted)

    def _send(self, messages: Sequence[Outgoing]) -> None:
        if not messages:
            return
        try:
            with self.db.reader() as session:
                ready = notify.sendable_now(session, messages)
        except SQLAlchemyError:
            self._interrupt([(m, None) for m in messages])
            raise
        if len(ready) < len(messages):
            going = {m.notification_id for m in ready}
            self._give_back([m for m in messages if m.notification_id not in going])
        outcomes: list[tuple[Outgoing, SendResult]] = []
        failure: BaseException | None = None
        # Every contact method of the batch counts as busy while its call runs; a straggler's stays busy until its
        # own thread has recorded it (marked before the calls, so that a straggler finishing at once cannot be
        # marked busy after it has already freed its contact method).
        with self._lock:
            self._busy.update(m.contact_method_id for m in ready)
        stragglers: set[int] = set()
        try:
            results, stragglers = self._calls.run(ready, self._guarded_call, late=self._finish_late)
        finally:
            with self._lock:
                self._busy.difference_update(m.contact_method_id for i, m in enumerate(ready) if i not in stragglers)
        for index, (message, result) in enumerate(zip(ready, results, strict=True)):
            if index in stragglers:
                continue
            if isinstance(result, SendResult):
                outcomes.append((message, result))
            elif isinstance(result, BaseException):
                failure = failure or result
        self._record(outcomes)
        if failure is not None:
            raise failure

    def _finish_late(self, message: Outgoing, result: SendResult | BaseException | None) -> None:
        """A straggler's call returned, on its own thread: record it there, and free its contact method."""
        try:
            if isinstance(result, SendResult):
                self._record([(message, result)])
            elif isinstance(result, BaseException):
                log.error("send of notification %d failed: %r", message.notification_id, result)
        except SQLAlchemyError:
            log.warning("outcome of notification %d kept to record on a later pass", message.notification_id)
        finally:
            with self._lock:
                self._busy.discard(message.contact_method_id)

    def _interrupt(self, items: Sequence[Interrupted]) -> None:
        with self._lock:
            self._interrupted.extend(items)

    def _give_back(self, messages: Sequence[Outgoing]) -> None:
        """Rows that must not go out now (acknowledged since, or no longer ours): those still ours go back to due,
        where the next pass cancels them or sends them."""
        with self.db.unit_of_work() as session:
            for m in messages:
                notify.unsend(session, m.notification_id, m.fence, now=self.clock.now())

    def _guarded_call(self, message: Outgoing) -> SendResult | BaseException | None:
        try:
            return self._call(message)
        except Exception as exc:  # handed back to the pass, which fails after recording the rest
            return exc

    def _call(self, outgoing: Outgoing) -> SendResult | None:
        """One provider call; None when the message was not sent after all."""
        message = outgoing.message
        if self.before_send is not None:
            self.before_send(message.notification_id)
        if self.clock.now() >= outgoing.lease_until:
            # We stalled (paused, swapped out, clock jumped) past our lease after the last check: the row may be
            # another worker's by now, and our fence cannot travel with the request. Nothing has left yet, so the
            # row goes back to due if it is still ours; otherwise its new owner sends it.
            log.warning("lease on notification %d ran out before sending; not sending", message.notification_id)
            with self.db.unit_of_work() as session:
                notify.unsend(session, message.notification_id, outgoing.fence, now=self.clock.now())
            return None
        provider = self.providers.get(message.contact_type)
        if provider is None:
            return SendResult(outcome="failed", error=f"no provider configured for {message.contact_type}")
        try:
            return provider.send(message)
        except Exception as exc:
            # A provider that raises has not classified the outcome: the message may have left.
            log.exception("provider %s raised", message.contact_type)
            return SendResult(outcome="failed", error=f"provider error: {type(exc).__name__}")

    def _record(
        self, outcomes: Sequence[tuple[Outgoing, SendResult]], *, also_unsent: Sequence[Interrupted] = ()
    ) -> None:
        if not outcomes:
            return
        try:
            with self.db.unit_of_work() as session:
                notify.record_batch(session, outcomes, now=self.clock.now(), retry=self.retry, rand=self.rand)
        except SQLAlchemyError:
            self._interrupt([*outcomes, *((m, r) for m, r in also_unsent if r is None)])
            raise

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return notify.next_due(session)

    def close(self) -> None:
        self._calls.close()
