"""War rooms in the background (ADR 0033): claims the rooms that are due (lease and fence) and brings each to what
its incident wants: created once, topic, members invited, the pinned summary, the notice and the archive.

A lane of its own: chat platforms are slow and rate limited, and a chat outage must never hold up paging.

Idempotency across a worker's death: before each call whose outcome could be lost (creating the room, posting the
summary, an invite) the row records that the call is in flight; the next claim then asks the platform what
happened (the room by name, the pinned message, the room's members) instead of calling again blindly."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from tocsin.chat import service as chat
from tocsin.chat.pacing import Pacer, backoff
from tocsin.chat.platforms.base import ChatError, NameTaken, Paced, Platform
from tocsin.core.clock import Clock
from tocsin.db.claims import Claim
from tocsin.db.session import Database

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 10
# The summary post is in flight: the next claim looks for it among the room's pins before posting again.
POSTING = "?"
_RELEASE: dict[str, object] = {"lease_owner": None, "lease_until": None}


class _Stale(Exception):
    """Our claim was taken over: stop touching the row."""


class ChatModule:
    name = "chat"
    lane = "chat"

    def __init__(
        self,
        db: Database,
        platforms: Mapping[str, Platform],
        clock: Clock,
        *,
        owner: str,
        base_url: str,
        archive_after: timedelta = timedelta(days=7),
        notice_before: timedelta = timedelta(hours=24),
        pacer: Pacer | None = None,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 64,
        threads: int = 8,
        export_conversation: bool = False,
        export_limit: int = 1_000_000,
    ) -> None:
        self.db = db
        self.platforms = dict(platforms)
        self.clock = clock
        self.owner = owner
        self.base_url = base_url
        self.archive_after = archive_after
        self.notice_before = min(notice_before, archive_after)
        self.pacer = pacer or Pacer({})
        self.lease = lease
        self.batch = batch
        self.export_conversation = export_conversation
        self.export_limit = export_limit
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chat")

    def run_once(self, now: datetime) -> int:
        with self.db.unit_of_work() as session:
            claims = chat.claim(session, now=now, owner=self.owner, lease=self.lease, limit=self.batch)
        if not claims:
            return 0
        # Rooms first, for every claimed row, then their topics, members and summaries: what people wait for is
        # the room, and a burst of incidents should not wait behind the others' pinned messages.
        list(self._pool.map(lambda c: self._work_safely(c, only_create=True), claims))
        list(self._pool.map(self._work_safely, claims))
        return len(claims)

    def next_due(self) -> datetime | None:
        with self.db.reader() as session:
            return chat.next_due(session)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # --- one room ------------------------------------------------------------------------------------------------

    def _work_safely(self, claim: Claim, *, only_create: bool = False) -> None:
        try:
            self.work(claim, only_create=only_create)
        except _Stale:
            pass
        except Exception:
            log.exception("chat room %s: unexpected failure", claim.id)
            self._record(claim, due_at=self.clock.now() + timedelta(minutes=5), last_error="internal error")

    def _record(self, claim: Claim, **changes: object) -> None:
        with self.db.unit_of_work() as session:
            if not chat.apply(session, claim, self.clock.now(), **changes):
                raise _Stale

    def _finish(self, claim: Claim, started: datetime, due: datetime | None, **changes: object) -> None:
        with self.db.unit_of_work() as session:
            if not chat.finish(session, claim, started, self.clock.now(), due, **changes):
                raise _Stale

    def _call(self, platform: Platform, fn: Callable[[], T]) -> T:
        self.pacer.take(platform.name)
        return fn()

    def work(self, claim: Claim, *, only_create: bool = False) -> None:
        started = self.clock.now()
        with self.db.unit_of_work() as session:
            row = chat.lock(session, claim)
            if row is None or (only_create and row.room_id is not None):
                return
            if row.lease_owner is None or (row.due_at is not None and row.due_at > started):
                # Put back by the first phase (a failure, or pacing): its due time stands.
                return
            want = chat.wanted(session, row, self.base_url)
        platform = self.platforms.get(want.platform)
        if platform is None:
            self._record(claim, due_at=None, last_error=f"chat platform {want.platform} is not configured")
            return
        try:
            if only_create:
                self._create(claim, platform, want)
                return
            self._bring_about(claim, platform, want, started)
        except Paced as exc:
            self._record(claim, due_at=self.clock.now() + timedelta(seconds=exc.retry_after or 1), **_RELEASE)
        except ChatError as exc:
            attempts = want.attempts + 1
            wait = max(backoff(attempts), exc.retry_after or 0)
            if not exc.transient and attempts >= MAX_ATTEMPTS:
                self._record(
                    claim, attempts=attempts, last_error=str(exc)[:2000], due_at=None, status="failed", **_RELEASE
                )
                return
            due = self.clock.now() + timedelta(seconds=wait)
            self._record(claim, attempts=attempts, last_error=str(exc)[:2000], due_at=due, **_RELEASE)

    def _bring_about(self, claim: Claim, p: Platform, want: chat.Wanted, started: datetime) -> None:
        room = want.external_id
        if room is None:
            room = self._create(claim, p, want)
        if want.current_topic != want.topic:
            self._call(p, lambda: p.set_topic(room, want.topic))
            self._record(claim, topic=want.topic)
        self._remove(claim, p, room, want)
        self._invite(claim, p, room, want)
        self._summary(claim, p, room, want)
        self._archive(claim, p, room, want, started)

    def _create(self, claim: Claim, p: Platform, want: chat.Wanted) -> str:
        found: str | None = None
        if want.status == "creating":
            # A worker died with the create in flight: it may have made the room.
            found = self._call(p, lambda: p.find_room(want.name))
        if found is None:
            self._record(claim, status="creating")
            try:
                found = self._call(p, lambda: p.create_room(want.name, private=want.private))
            except NameTaken:
                found = self._call(p, lambda: p.find_room(want.name))
                if found is None:
                    raise ChatError(f"the name {want.name} is taken by a room the bot cannot see") from None
        self._record(claim, room_id=found, status="open", last_error=None)
        with self.db.unit_of_work() as session:
            row = chat.lock(session, claim)
            if row is None:
                raise _Stale
            chat.note(session, row.incident_id, f"War room {want.name} opened on {want.platform}", now=self.clock.now())
        return found

    def _accounts(self, claim: Claim, p: Platform, want: chat.Wanted) -> list[str]:
        accounts = []
        for uid, email in want.people.items():
            account = want.accounts.get(uid)
            if account is None:
                account = self._call(p, lambda e=email: p.account_of(e))  # type: ignore[misc]
                if account is None:
                    continue
                with self.db.unit_of_work() as session:
                    chat.link(session, uid, want.platform, account, now=self.clock.now())
            if not want.held_out(uid, account):
                accounts.append(account)
        return accounts

    def _invite(self, claim: Claim, p: Platform, room: str, want: chat.Wanted) -> None:
        # Those removed earlier in this pass (``_remove``) are no longer invited: never written back as such.
        invited = [a for a in want.invited if a not in want.removing]
        if want.inviting:
            # Invites whose answers were lost: whoever is in the room now was invited; the others are asked again.
            present = self._call(p, lambda: p.members(room))
            invited += [a for a in want.inviting if a in present and a not in invited]
            self._record(claim, invited=invited, inviting=[])
        todo = [a for a in self._accounts(claim, p, want) if a not in invited and a not in want.removing]
        if not todo:
            return
        self._record(claim, inviting=todo)
        for account in todo:
            self._call(p, lambda a=account: p.invite(room, a))  # type: ignore[misc]
            invited.append(account)
            self._record(claim, invited=invited, inviting=[a for a in todo if a not in invited])

    def _remove(self, claim: Claim, p: Platform, room: str, want: chat.Wanted) -> None:
        """Removals asked for: each checked against the room's members first, so that one whose answer was lost (or
        someone who already left) is never removed twice."""
        if not want.removing:
            return
        present = self._call(p, lambda: p.members(room))
        for account in want.removing:
            removed, reason = True, ""
            if account in present:
                try:
                    removed = self._call(p, lambda a=account: p.kick(room, a))  # type: ignore[misc]
                except ChatError as exc:
                    if exc.transient:
                        raise
                    # Refused for good (rights, a protected member …): said on the timeline, not retried, and the
                    # room's other work is not held up behind it.
                    removed, reason = False, str(exc)[:300]
            with self.db.unit_of_work() as session:
                done = chat.removal_done(session, claim, account, removed=removed, reason=reason, now=self.clock.now())
                if not done:
                    raise _Stale

    def _export(self, claim: Claim, p: Platform, room: str, want: chat.Wanted) -> None:
        """The whole conversation, kept on the incident for the postmortem before the room goes away: read (no
        side effect, so a pass that dies here simply reads again), then written once under the claim."""
        messages, more = self._call(p, lambda: p.history(room, self.export_limit))
        messages.sort(key=lambda m: m.at)
        with self.db.reader() as session:
            names = chat.names_of_accounts(session, want.platform, [m.author for m in messages])
        lines = [f"{m.at:%Y-%m-%d %H:%M:%S} {names.get(m.author, m.author)}: {m.text}" for m in messages]
        # The newest lines that fit within the limit, counted from the end.
        size, first = 0, len(lines)
        while first > 0 and size + len(lines[first - 1].encode()) + 1 <= self.export_limit:
            first -= 1
            size += len(lines[first].encode()) + 1
        cut = more or first > 0
        lines = lines[first:]
        head = f"Conversation of {want.name} on {want.platform}, {len(lines)} message(s), oldest first (UTC)."
        if cut:
            head += f" Older messages were cut: the export keeps the newest {self.export_limit} bytes."
        text = "\n".join([head, *lines])
        with self.db.unit_of_work() as session:
            if not chat.save_export(session, claim, text=text, messages=len(lines), cut=cut, now=self.clock.now()):
                raise _Stale

    def _summary(self, claim: Claim, p: Platform, room: str, want: chat.Wanted) -> None:
        ref = want.summary_ref
        if ref == POSTING:
            ref = self._call(p, lambda: p.find_pinned(room))
            if ref is not None:
                self._record(claim, summary_ref=ref)
        if ref is None or ref == POSTING:
            self._record(claim, summary_ref=POSTING)
            ref = self._call(p, lambda: p.post(room, want.summary))
            self._record(claim, summary_ref=ref, summary_text=want.summary)
            self._call(p, lambda: p.pin(room, ref))
            return
        if want.current_summary != want.summary:
            self._call(p, lambda: p.update(room, ref, want.summary))
            self._record(claim, summary_text=want.summary)

    def _archive(self, claim: Claim, p: Platform, room: str, want: chat.Wanted, started: datetime) -> None:
        now = self.clock.now()
        if want.resolved_at is None:
            self._finish(claim, started, None, archive_at=None, notice_sent_at=None, attempts=0, last_error=None)
            return
        archive_at = want.archive_at or want.resolved_at + self.archive_after
        notice_at = archive_at - self.notice_before
        if not want.notice_sent and now >= notice_at:
            when = f"{archive_at:%Y-%m-%d %H:%M} UTC"
            self._call(p, lambda: p.post(room, f"This incident is resolved: this room will be archived at {when}."))
            self._record(claim, notice_sent_at=now, archive_at=archive_at)
            want_notice = True
        else:
            want_notice = want.notice_sent
        if want_notice and now >= archive_at:
            if self.export_conversation and not want.exported:
                self._export(claim, p, room, want)
            self._call(p, lambda: p.archive(room))
            self._finish(claim, started, None, status="archived", archived_at=now, attempts=0, last_error=None)
            return
        due = archive_at if want_notice else notice_at
        self._finish(claim, started, due, archive_at=archive_at, attempts=0, last_error=None)
