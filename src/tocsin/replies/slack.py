"""Slack interactivity: a press on a page's Acknowledge / Resolve / Escalate button, and the war rooms' message
shortcut (``message_action``, handled by ``replies/slack_chat.py``).

The request is checked with ``X-Slack-Signature`` (v0, HMAC-SHA256 with the signing secret, timestamps more
than 300 s away refused) and must not have been received before. The person is matched by Slack user id
(on their user or a Slack contact method) or by the email on their Slack profile. The message itself is
edited by the outbox (``chat.update``) once the status change commits; the HTTP answer is an empty 200
within Slack's 3 seconds. Anything to tell the person only (unknown account, nothing to do) goes back as an
ephemeral message through the request's ``response_url``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from tocsin.core.errors import BadRequest, Unauthorized
from tocsin.notify import replies
from tocsin.notify.providers.slack import SlackProvider
from tocsin.notify.render.slack import parse_action_id
from tocsin.replies._common import bounded_body, form_fields, require, runtime_of
from tocsin.response import responders
from tocsin.runtime import Runtime

router = APIRouter(include_in_schema=False)
TRUSTED_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})


def genuine(secret: str, body: bytes, timestamp: str, signature: str, *, now: float) -> bool:
    """The v0 signature matches and the timestamp is within 300 s of ``now``; malformed headers are refused
    (slack_sdk's verifier raises on a timestamp that is not a number)."""
    if not timestamp.isascii() or not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    return SignatureVerifier(secret, clock=_Seconds(now)).is_valid(body, timestamp, signature)  # type: ignore[arg-type]


class _Seconds:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def _slack_provider(runtime: Runtime) -> SlackProvider | None:
    provider = runtime.providers.get("slack")
    return provider if isinstance(provider, SlackProvider) else None


def _trusted_response_url(url: str, runtime: Runtime) -> bool:
    """Only Slack's own hosts (or the configured Slack API host) get our answer, whatever a payload says."""
    parts = urlsplit(url)
    api_host = urlsplit(runtime.settings.slack_base_url).hostname
    if parts.hostname in TRUSTED_RESPONSE_HOSTS and parts.scheme == "https":
        return True
    return parts.hostname is not None and parts.hostname == api_host


@router.post("/webhooks/slack/interactivity")
async def interactivity(request: Request, background: BackgroundTasks) -> Response:
    runtime = runtime_of(request)
    secret = require(runtime.settings.slack_signing_secret, "Slack")
    body = await bounded_body(request)
    signature = request.headers.get("x-slack-signature", "")
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    if not genuine(secret, body, timestamp, signature, now=runtime.clock.now().timestamp()):
        raise Unauthorized("the X-Slack-Signature header does not match this request, or it is too old")
    try:
        payload: dict[str, Any] = json.loads(form_fields(body).get("payload", ""))
    except ValueError:
        raise BadRequest("the payload field must be JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("the payload field must be a JSON object")
    actions = payload.get("actions") or []
    slack_user = payload.get("user") or {}
    slack_id = str(slack_user.get("id", "")) if isinstance(slack_user, dict) else ""
    response_url = str(payload.get("response_url", ""))
    parsed = parse_action_id(str(actions[0].get("action_id", ""))) if actions and isinstance(actions[0], dict) else None
    provider = _slack_provider(runtime)
    replay_key = "slack:" + hashlib.sha256(signature.encode()).hexdigest()[:48]

    def handle() -> tuple[str | None, bool]:
        # Imported here: the war rooms' inbound module uses this one's signature check.
        from tocsin.replies import slack_chat

        shortcut = payload.get("type") == "message_action"
        # An unknown account's email is asked of Slack before the transaction, never inside it.
        email = slack_chat.email_if_unlinked(runtime, slack_id) if shortcut else None
        now = runtime.clock.now()
        with runtime.db.unit_of_work() as session:
            if not replies.first_use(session, replay_key, now):
                raise Unauthorized("this request was already received")
            if shortcut:
                return slack_chat.message_action(session, runtime, payload, now, email=email)
            if payload.get("type") != "block_actions" or parsed is None:
                return None, False
            user = replies.user_by_slack(session, slack_id)
            if user is None and provider is not None and slack_id:
                email = provider.email_of(slack_id)
                user = replies.user_by_slack(session, "", email) if email else None
            if user is None:
                return (
                    "Your Slack account is not linked to a Tocsin user, so Tocsin cannot act for you. "
                    "Add your Slack member ID to your Tocsin profile, or use the same email address in both.",
                    False,
                )
            action, incident_id = parsed
            if action in ("accept", "decline"):
                result = responders.answer_on(session, user, incident_id, action, via="slack", now=now)
                return (None if result.changed else result.text), result.changed
            outcome = replies.act_on_incident(session, user, incident_id, action, source="slack", now=now)  # type: ignore[arg-type]
            return (None if outcome.changed else outcome.text), bool(outcome.changed)

    answer, changed = await run_in_threadpool(handle)
    if changed:
        runtime.wakeup.notify()
    if answer and provider is not None and response_url and _trusted_response_url(response_url, runtime):
        background.add_task(provider.respond, response_url, answer)
    return Response(status_code=200)
