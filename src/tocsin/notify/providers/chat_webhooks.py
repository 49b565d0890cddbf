"""Incoming-webhook chat channels: Microsoft Teams (Workflows), Mattermost and other Slack-compatible
webhooks, and Discord. The address is the webhook URL a person pasted, so it passes the SSRF guard and is
connected to at the address the guard checked; redirects are not followed (none of these services redirect).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tocsin.core import tls
from tocsin.notify.providers import transport_logs
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.providers.pinned_post import post_pinned
from tocsin.notify.providers.webhook import classify
from tocsin.notify.render.teams import discord_payload, mattermost_payload, teams_card
from tocsin.notify.ssrf import UrlGuard

# This module sends to URLs that are credentials: keep the HTTP libraries from logging them.
transport_logs.install()

_USER_AGENT = "Tocsin-Chat/1"


def post_json(
    client: httpx.Client,
    guard: UrlGuard,
    url: str,
    payload: dict[str, Any],
    timeout: float,
    *,
    extra_headers: dict[str, str] | None = None,
) -> SendResult:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "user-agent": _USER_AGENT, **(extra_headers or {})}
    response = post_pinned(client, guard, url, body, headers, timeout)
    if isinstance(response, SendResult):
        return response
    if 300 <= response.status_code < 400:
        return SendResult("failed", status_code=response.status_code, error="the webhook answered with a redirect")
    return classify(response.status_code, response.headers, response.content)


class ChatWebhookProvider:
    """One provider per chat flavour; they differ only in the JSON they post."""

    def __init__(
        self,
        contact_type: str,
        render: Callable[[OutboundMessage], dict[str, Any]],
        *,
        guard: UrlGuard,
        client: httpx.Client | None = None,
        timeout: float = 10,
    ) -> None:
        self.contact_type = contact_type
        self._render = render
        self._guard = guard
        self._client = client or httpx.Client(
            headers={"User-Agent": _USER_AGENT}, trust_env=False, verify=tls.client_context(trust_env=False)
        )
        self._timeout = timeout

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            httpx.URL(message.address)
        except (httpx.InvalidURL, ValueError):
            return SendResult("failed", error="not a valid URL")
        return post_json(self._client, self._guard, message.address, self._render(message), self._timeout)

    def close(self) -> None:
        self._client.close()


def teams_provider(guard: UrlGuard, client: httpx.Client | None = None) -> ChatWebhookProvider:
    return ChatWebhookProvider("teams", teams_card, guard=guard, client=client)


def mattermost_provider(guard: UrlGuard, client: httpx.Client | None = None) -> ChatWebhookProvider:
    return ChatWebhookProvider("mattermost", mattermost_payload, guard=guard, client=client)


def discord_provider(guard: UrlGuard, client: httpx.Client | None = None) -> ChatWebhookProvider:
    return ChatWebhookProvider("discord", discord_payload, guard=guard, client=client)
