"""Slack war rooms inbound (ADR 0033): the ``/tocsin`` slash command, the Events API (``url_verification``,
``reaction_added`` for timeline capture) and the *Add to incident timeline* message shortcut (a ``message_action``
payload on the interactivity endpoint, which ``replies/slack.py`` checks and hands over).

Both are checked like the interactivity endpoint: ``X-Slack-Signature`` with the signing secret, a timestamp
within 300 s, and never received before (a forged, replayed or stale request changes nothing). Slack wants an
answer within 3 seconds: a command's answer is the HTTP response (ephemeral unless it changed the incident); a
captured message is fetched after the 200 is sent."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tocsin.chat import commands
from tocsin.chat import service as chat
from tocsin.chat.platforms.base import ChatError
from tocsin.chat.platforms.slack import SlackRooms, slack_time
from tocsin.core.errors import BadRequest, Unauthorized
from tocsin.notify import replies
from tocsin.replies._common import bounded_body, form_fields, require, runtime_of
from tocsin.replies.slack import genuine
from tocsin.runtime import Runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)
# The message shortcut's callback id, as declared in the Slack app's manifest.
CAPTURE_CALLBACK = "tocsin_add_to_timeline"


def _rooms(runtime: Runtime) -> SlackRooms | None:
    token = runtime.settings.slack_bot_token
    return SlackRooms(token, base_url=runtime.settings.slack_base_url) if token else None


async def _verified(request: Request, runtime: Runtime) -> tuple[bytes, str]:
    secret = require(runtime.settings.slack_signing_secret, "Slack")
    body = await bounded_body(request)
    signature = request.headers.get("x-slack-signature", "")
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    if not genuine(secret, body, timestamp, signature, now=runtime.clock.now().timestamp()):
        raise Unauthorized("the X-Slack-Signature header does not match this request, or it is too old")
    return body, "slack:" + hashlib.sha256(signature.encode()).hexdigest()[:48]


@router.post("/webhooks/slack/commands")
async def slash_command(request: Request) -> Response:
    runtime = runtime_of(request)
    body, replay_key = await _verified(request, runtime)
    fields = form_fields(body)
    account, channel, text = fields.get("user_id", ""), fields.get("channel_id", ""), fields.get("text", "")
    if not account:
        raise BadRequest("the user_id field is missing")
    rooms = _rooms(runtime)

    def handle() -> commands.Answer:
        now = runtime.clock.now()
        with runtime.db.unit_of_work() as session:
            if not replies.first_use(session, replay_key, now):
                raise Unauthorized("this request was already received")
            room = chat.room_by_platform_id(session, "slack", channel) if channel else None
            ctx = commands.Context(
                platform="slack",
                account=account,
                incident_id=room.incident_id if room is not None else None,
                see_all=runtime.settings.teams_see_all,
                base_url=runtime.settings.base_url,
                now=now,
                email_of=_email_lookup(rooms),
            )
            return commands.run(session, ctx, text)

    answer = await run_in_threadpool(handle)
    if answer.changed:
        runtime.wakeup.notify()
    kind = "in_channel" if answer.public else "ephemeral"
    return JSONResponse({"response_type": kind, "text": answer.text or "Done."})


def _email_lookup(rooms: SlackRooms | None) -> Any:
    if rooms is None:
        return None

    def lookup(account: str) -> str | None:
        try:
            return rooms.email_of(account)
        except ChatError:
            return None

    return lookup


@router.post("/webhooks/slack/events")
async def events(request: Request, background: BackgroundTasks) -> Response:
    runtime = runtime_of(request)
    body, _ = await _verified(request, runtime)
    try:
        payload: dict[str, Any] = json.loads(body)
    except ValueError:
        raise BadRequest("the body must be JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    if payload.get("type") == "url_verification":
        return JSONResponse({"challenge": str(payload.get("challenge", ""))})
    event = payload.get("event") or {}
    if payload.get("type") != "event_callback" or not isinstance(event, dict):
        return Response(status_code=200)
    wanted = runtime.settings.chat_capture_emoji.strip(":")
    item = event.get("item") or {}
    if event.get("type") != "reaction_added" or event.get("reaction") != wanted or not isinstance(item, dict):
        return Response(status_code=200)
    event_id = str(payload.get("event_id", ""))[:100]
    channel, ts = str(item.get("channel", "")), str(item.get("ts", ""))
    rooms = _rooms(runtime)
    if rooms is None or not event_id or not channel or not ts:
        return Response(status_code=200)
    key = "slackev:" + hashlib.sha256(event_id.encode()).hexdigest()[:48]
    background.add_task(run_in_threadpool, _capture, runtime, rooms, key, channel, ts)
    return Response(status_code=200)


def _capture(runtime: Runtime, rooms: SlackRooms, key: str, channel: str, ts: str) -> None:
    with runtime.db.reader() as session:
        room = chat.room_by_platform_id(session, "slack", channel)
        if room is None:
            return
        incident_id = room.incident_id
    try:
        found = rooms.message(channel, ts)
    except ChatError:
        return
    if found is None:
        return
    account, text = found
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        if not replies.first_use(session, key, now):
            return
        uid = chat.linked_user_id(session, "slack", account)
        author = chat.user_name(session, uid) if uid is not None else f"Slack user {account}"
        at = datetime.fromtimestamp(float(ts), UTC) if ts.replace(".", "", 1).isdigit() else now
        commands.capture(session, platform="slack", incident_id=incident_id, author=author, text=text, at=at, now=now)


def email_if_unlinked(runtime: Runtime, account: str) -> str | None:
    """The email on a Slack account's profile when the account is not linked yet (asked of Slack, outside any
    transaction), so that the person can be recognised once by it."""
    if not account:
        return None
    with runtime.db.reader() as session:
        if chat.linked_user_id(session, "slack", account) is not None:
            return None
    lookup = _email_lookup(_rooms(runtime))
    found: str | None = lookup(account) if lookup is not None else None
    return found


def message_action(
    session: Session, runtime: Runtime, payload: dict[str, Any], now: datetime, *, email: str | None = None
) -> tuple[str | None, bool]:
    """The message shortcut: the message it was used on goes on the timeline of the room's incident, with its author
    and time, once per use (``trigger_id``); only from a war room, only for a linked person. (answer, changed)"""
    if payload.get("callback_id") != CAPTURE_CALLBACK:
        return None, False
    channel = _field(payload, "channel", "id")
    account = _field(payload, "user", "id")
    found = payload.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    ts, text = str(message.get("ts", "")), str(message.get("text", ""))
    trigger = str(payload.get("trigger_id") or payload.get("action_ts") or "")
    if not account or not ts or not trigger:
        return None, False
    room = chat.room_by_platform_id(session, "slack", channel) if channel else None
    if room is None:
        return "Only a message in an incident's war room can be added to its timeline.", False
    ctx = commands.Context(
        platform="slack",
        account=account,
        incident_id=room.incident_id,
        see_all=runtime.settings.teams_see_all,
        base_url=runtime.settings.base_url,
        now=now,
        email_of=(lambda _account: email) if email else None,
    )
    user = commands.user_of(session, ctx)
    if user is None:
        return commands.HOW_TO_LINK, False
    if not text.strip():
        return "That message has no text to add.", False
    if not replies.first_use(session, "slackma:" + hashlib.sha256(trigger.encode()).hexdigest()[:48], now):
        return None, False
    author_account = str(message.get("user") or message.get("bot_id") or "")
    uid = chat.linked_user_id(session, "slack", author_account) if author_account else None
    author = chat.user_name(session, uid) if uid is not None else f"Slack user {author_account or 'unknown'}"
    commands.capture(
        session,
        platform="slack",
        incident_id=room.incident_id,
        author=author,
        text=text,
        at=slack_time(ts),
        now=now,
        by=user.name,
    )
    return "Added to the incident's timeline.", True


def _field(payload: dict[str, Any], name: str, key: str) -> str:
    found = payload.get(name)
    return str(found.get(key, "")) if isinstance(found, dict) else ""
