"""Chat cards: Microsoft Teams (Adaptive Card 1.2 through a Workflows webhook), Mattermost and other
Slack-compatible incoming webhooks (``text`` + ``attachments``), and Discord (``content`` + ``embeds``).

None of these webhooks can call us back with a button press, so their actions are the signed one-click
acknowledge / resolve links.
"""

from __future__ import annotations

from typing import Any

from tocsin.notify.providers.base import OutboundMessage
from tocsin.notify.render.text import clean_line, safe_link, summary_line

_COLOUR = {"triggered": "#d93025", "acknowledged": "#f9ab00", "resolved": "#188038"}
_ADAPTIVE_COLOUR = {"triggered": "Attention", "acknowledged": "Warning", "resolved": "Good"}


def _facts(message: OutboundMessage) -> list[tuple[str, str]]:
    incident = message.incident
    if incident is None:
        return []
    return [
        ("Status", clean_line(incident.status, 20)),
        ("Priority", clean_line(incident.priority, 8)),
        ("Urgency", clean_line(incident.urgency, 8)),
        ("Service", clean_line(incident.service, 100)),
    ]


def _links(message: OutboundMessage) -> list[tuple[str, str]]:
    links = []
    for label, url in (
        ("Acknowledge", message.ack_url),
        ("Resolve", message.resolve_url),
        ("Accept", message.accept_url),
        ("Decline", message.decline_url),
        ("Open incident", message.incident.url if message.incident else None),
    ):
        safe = safe_link(url)
        if safe:
            links.append((label, safe))
    return links


def _headline(message: OutboundMessage) -> str:
    if message.incident is None:
        return clean_line(message.text or "Tocsin notification", 300)
    return summary_line(message.incident)


def teams_card(message: OutboundMessage) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _headline(message),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": _ADAPTIVE_COLOUR.get(message.incident.status, "Default") if message.incident else "Default",
        }
    ]
    facts = _facts(message)
    if facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]})
    if message.text and message.incident is not None:
        body.append({"type": "TextBlock", "text": clean_line(message.text, 1000), "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": body,
    }
    actions = [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in _links(message)]
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def _no_mentions(text: str) -> str:
    # A zero-width space after "@" keeps "@channel" or "@everyone" in alert text from pinging anyone.
    return text.replace("@", "@\u200b")


def mattermost_payload(message: OutboundMessage) -> dict[str, Any]:
    headline = _no_mentions(_headline(message))
    links = " · ".join(f"[{label}]({url})" for label, url in _links(message))
    attachment: dict[str, Any] = {
        "fallback": headline,
        "color": _COLOUR.get(message.incident.status, "#5f6368") if message.incident else "#5f6368",
        "title": headline,
        "fields": [{"title": k, "value": _no_mentions(v), "short": True} for k, v in _facts(message)],
    }
    if message.incident is not None and safe_link(message.incident.url):
        attachment["title_link"] = message.incident.url
    text_parts = [clean_line(message.text, 1000)] if message.text and message.incident else []
    if links:
        text_parts.append(links)
    if text_parts:
        attachment["text"] = _no_mentions("\n".join(text_parts))
    return {"text": headline, "attachments": [attachment]}


def discord_payload(message: OutboundMessage) -> dict[str, Any]:
    headline = _headline(message)
    embed: dict[str, Any] = {
        "title": headline[:256],
        "color": int(_COLOUR.get(message.incident.status, "#5f6368")[1:], 16) if message.incident else 0x5F6368,
        "fields": [{"name": k, "value": v or "-", "inline": True} for k, v in _facts(message)],
    }
    if message.incident is not None and safe_link(message.incident.url):
        embed["url"] = message.incident.url
    lines = [clean_line(message.text, 1000)] if message.text and message.incident else []
    lines += [f"[{label}]({url})" for label, url in _links(message)]
    if lines:
        embed["description"] = "\n".join(lines)[:4000]
    # Discord would otherwise turn "@everyone" in alert text into a ping of the whole server.
    return {"content": headline[:2000], "embeds": [embed], "allowed_mentions": {"parse": []}}
