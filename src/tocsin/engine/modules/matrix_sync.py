"""Commands and reactions from Matrix war rooms (ADR 0033), read over the bot's own authenticated ``/sync``.

Nothing reaches Tocsin from Matrix but what the bot's homeserver hands the bot: no inbound endpoint to forge. The
sync starts from now (the first sync's history is skipped: a command is for the present); each event is handled
once (its id is recorded as used, so two workers syncing the same bot act once). ``!tocsin <command>`` in a war
room runs the command for the sender's linked user and the answer is posted in the room; a reaction with the
capture emoji puts the message it reacts to on the incident's timeline."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.chat import commands
from tocsin.chat import service as chat
from tocsin.chat.platforms.base import ChatError
from tocsin.chat.platforms.matrix import MatrixRooms
from tocsin.core.clock import Clock
from tocsin.db.session import Database
from tocsin.notify import replies

log = logging.getLogger(__name__)
PREFIX = "!tocsin"
# Slack's emoji names, as Matrix clients send the emoji itself.
EMOJI = {"memo": "📝", "pushpin": "📌", "star": "⭐", "bookmark": "🔖"}


class MatrixSyncModule:
    name = "matrix-sync"
    lane = "matrix-sync"

    def __init__(
        self,
        db: Database,
        client: MatrixRooms,
        clock: Clock,
        *,
        base_url: str,
        see_all: bool,
        capture: str = "memo",
        every: timedelta = timedelta(seconds=1),
        timeout_ms: int = 0,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.base_url = base_url
        self.see_all = see_all
        self.capture = {capture, EMOJI.get(capture.strip(":"), capture)}
        self.every = every
        self.timeout_ms = timeout_ms
        self.since: str | None = None
        self._next: datetime | None = None

    def run_once(self, now: datetime) -> int:
        if self._next is not None and now < self._next:
            return 0
        self._next = now + self.every
        try:
            first = self.since is None
            found = self.client.sync(self.since, timeout_ms=0 if first else self.timeout_ms)
        except ChatError as exc:
            log.warning("Matrix sync failed: %s", exc)
            return 0
        self.since = str(found.get("next_batch") or self.since or "")
        if first:
            return 0
        handled = 0
        joined: dict[str, Any] = (found.get("rooms") or {}).get("join") or {}
        for room_id, room in joined.items():
            for event in (room.get("timeline") or {}).get("events") or []:
                handled += self.handle(room_id, event)
        return handled

    def next_due(self) -> datetime | None:
        return self._next

    def handle(self, room_id: str, event: dict[str, Any]) -> int:
        sender = str(event.get("sender", ""))
        if sender == self.client.whoami() or not event.get("event_id"):
            return 0
        content = event.get("content") or {}
        kind = event.get("type")
        if kind == "m.room.message" and str(content.get("body", "")).startswith(PREFIX + " "):
            return self._command(room_id, event, sender, str(content["body"])[len(PREFIX) + 1 :])
        relates = content.get("m.relates_to") or {}
        if kind == "m.reaction" and relates.get("rel_type") == "m.annotation" and relates.get("key") in self.capture:
            return self._capture(room_id, event, str(relates.get("event_id", "")))
        return 0

    def _first(self, session: Any, event: dict[str, Any], now: datetime) -> bool:
        key = "matrix:" + hashlib.sha256(str(event["event_id"]).encode()).hexdigest()[:48]
        return replies.first_use(session, key, now)

    def _command(self, room_id: str, event: dict[str, Any], sender: str, text: str) -> int:
        now = self.clock.now()
        with self.db.unit_of_work() as session:
            if not self._first(session, event, now):
                return 0
            room = chat.room_by_platform_id(session, "matrix", room_id)
            ctx = commands.Context(
                platform="matrix",
                account=sender,
                incident_id=room.incident_id if room is not None else None,
                see_all=self.see_all,
                base_url=self.base_url,
                now=now,
            )
            answer = commands.run(session, ctx, text)
        try:
            self.client.post(room_id, answer.text or "Done.")
        except ChatError as exc:
            log.warning("Matrix answer not posted: %s", exc)
        return 1

    def _capture(self, room_id: str, event: dict[str, Any], target: str) -> int:
        try:
            found = self.client.event(room_id, target) if target else None
        except ChatError:
            return 0
        if not found:
            return 0
        text = str((found.get("content") or {}).get("body", ""))
        author = str(found.get("sender", "someone"))
        at = datetime.fromtimestamp(int(found.get("origin_server_ts", 0)) / 1000, UTC)
        now = self.clock.now()
        with self.db.unit_of_work() as session:
            if not self._first(session, event, now):
                return 0
            room = chat.room_by_platform_id(session, "matrix", room_id)
            if room is None:
                return 0
            uid = chat.linked_user_id(session, "matrix", author)
            name = chat.user_name(session, uid) if uid is not None else author
            commands.capture(
                session, platform="matrix", incident_id=room.incident_id, author=name, text=text, at=at, now=now
            )
        return 1
