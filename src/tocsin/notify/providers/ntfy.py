"""Push notifications through ntfy (ntfy.sh or a self-hosted server).

The contact method's address is the topic URL (``https://ntfy.sh/my-topic``); its secret, when set, is an
access token sent as ``Authorization: Bearer``. The message is published as JSON to the server's root with
view actions that open the signed acknowledge / resolve pages, so a phone's notification has the buttons. High
urgency pages go out at ntfy's top priority, which bypasses do-not-disturb on the ntfy apps.
"""

from __future__ import annotations

from typing import Any

import httpx

from tocsin.core import tls
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.providers.chat_webhooks import post_json
from tocsin.notify.render.text import clean_line, safe_link, summary_line
from tocsin.notify.ssrf import UrlGuard

_PRIORITY = {("triggered", "high"): 5, ("triggered", "low"): 3}
_TAGS = {"triggered": ["rotating_light"], "acknowledged": ["eyes"], "resolved": ["white_check_mark"]}


def split_topic_url(address: str) -> tuple[str, str] | None:
    """``https://ntfy.sh/alerts`` → (``https://ntfy.sh/``, ``alerts``); None when there is no topic."""
    try:
        url = httpx.URL(address)
    except (httpx.InvalidURL, ValueError):
        return None
    path = url.path.rstrip("/")
    base, _, topic = path.rpartition("/")
    if not topic or url.scheme not in ("http", "https"):
        return None
    return str(url.copy_with(path=base + "/", query=None, fragment=None)), topic


def ntfy_payload(message: OutboundMessage, topic: str) -> dict[str, Any]:
    incident = message.incident
    body: dict[str, Any] = {"topic": topic}
    if incident is None:
        body.update(title="Tocsin", message=clean_line(message.text or "Tocsin notification", 4000), priority=3)
        return body
    lines = [clean_line(f"{incident.service}: {incident.title}", 1000)]
    if message.text:
        lines.append(clean_line(message.text, 500))
    body.update(
        title=summary_line(incident)[:250],
        message="\n".join(lines),
        priority=_PRIORITY.get((incident.status, incident.urgency), 2),
        tags=_TAGS.get(incident.status, []),
    )
    click = safe_link(incident.url)
    if click:
        body["click"] = click
    actions = [
        {"action": "view", "label": label, "url": url, "clear": True}
        for label, url in (("Acknowledge", safe_link(message.ack_url)), ("Resolve", safe_link(message.resolve_url)))
        if url and incident.status != "resolved"
    ]
    if actions:
        body["actions"] = actions
    return body


class NtfyProvider:
    contact_type = "ntfy"

    def __init__(self, *, guard: UrlGuard, client: httpx.Client | None = None, timeout: float = 10) -> None:
        self._guard = guard
        self._client = client or httpx.Client(
            headers={"User-Agent": "Tocsin-ntfy/1"}, trust_env=False, verify=tls.client_context(trust_env=False)
        )
        self._timeout = timeout

    def send(self, message: OutboundMessage) -> SendResult:
        parts = split_topic_url(message.address)
        if parts is None:
            return SendResult("failed", error="not an ntfy topic URL (https://server/topic)")
        base, topic = parts
        headers = {"authorization": f"Bearer {message.secret}"} if message.secret else {}
        return post_json(
            self._client, self._guard, base, ntfy_payload(message, topic), self._timeout, extra_headers=headers
        )

    def close(self) -> None:
        self._client.close()
