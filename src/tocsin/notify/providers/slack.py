"""Slack direct messages with buttons, through the Web API (``chat.postMessage``, then ``chat.update``).

The contact method's address is the person's Slack user id (``U…``) or their Slack email, looked up with
``users.lookupByEmail``. A page's provider reference is ``<channel>:<ts>``: when the incident changes, the
outbox sends a "status" message carrying that reference, and the original message is edited in place.

Slack reports most errors as HTTP 200 ``{"ok": false, "error": …}``: ``ratelimited`` and Slack's own transient
errors are retried, every other error (``channel_not_found``, ``invalid_auth`` …) fails at once.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from tocsin.notify.providers import transport_logs
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.render.slack import slack_blocks
from tocsin.notify.retry import classify

# This module sends to URLs that are credentials: keep the HTTP libraries from logging them.
transport_logs.install()

TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def classify_slack_error(exc: SlackApiError) -> SendResult:
    status = int(exc.response.status_code)
    data = exc.response.data
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
    detail = f"HTTP {status}" + (f": {error}" if error else "")
    if status == 200:
        outcome = "retry" if error in TRANSIENT_ERRORS else "failed"
    else:
        outcome = classify(status)
        outcome = "failed" if outcome == "delivered" else outcome
    return SendResult(outcome, status_code=status, retry_after=retry_after, error=detail)  # type: ignore[arg-type]


class SlackProvider:
    contact_type = "slack"

    def __init__(self, token: str, *, base_url: str = "https://slack.com/api/", timeout: int = 10) -> None:
        # No client-side retries: the outbox retries, with backoff, and records every attempt.
        self._client = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])
        self._timeout = timeout

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def send(self, message: OutboundMessage) -> SendResult:
        text, blocks = slack_blocks(message)
        try:
            if message.kind == "status":
                return self._update(message.update_ref or "", text, blocks)
            channel = message.address.strip()
            if "@" in channel:
                found = self._client.users_lookupByEmail(email=channel)
                channel = str(found["user"]["id"])
            sent = self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
            return SendResult("delivered", provider_ref=f"{sent['channel']}:{sent['ts']}", status_code=200)
        except SlackApiError as exc:
            return classify_slack_error(exc)
        except TimeoutError as exc:
            return SendResult("retry", error=f"timed out: {type(exc).__name__}")
        except (URLError, OSError) as exc:
            return SendResult("retry", error=f"{type(exc).__name__}: {str(exc)[:200]}")
        except (SlackClientError, ValueError, KeyError) as exc:
            return SendResult("failed", error=f"unexpected Slack answer: {type(exc).__name__}: {str(exc)[:200]}")

    def _update(self, ref: str, text: str, blocks: list[dict[str, Any]]) -> SendResult:
        channel, _, ts = ref.partition(":")
        if not channel or not ts:
            return SendResult("failed", error="no reference to the message to update")
        self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        return SendResult("delivered", provider_ref=ref, status_code=200)

    def email_of(self, slack_user_id: str) -> str | None:
        """The email on a Slack profile (to match a person who has not linked their Slack id), or None."""
        try:
            info = self._client.users_info(user=slack_user_id)
        except (SlackClientError, OSError):
            return None
        data: Any = info.data
        user = data.get("user") if isinstance(data, dict) else None
        profile = user.get("profile") if isinstance(user, dict) else None
        email = profile.get("email") if isinstance(profile, dict) else None
        return str(email) if email else None

    def respond(self, response_url: str, text: str) -> bool:
        """An ephemeral answer to the person who pressed a button (only they see it)."""
        try:
            answer = WebhookClient(response_url, timeout=self._timeout).send_dict(
                {"response_type": "ephemeral", "replace_original": False, "text": text}
            )
        except (SlackClientError, OSError, json.JSONDecodeError):
            return False
        return bool(200 <= answer.status_code < 300)
