"""Slack Block Kit for a page: the incident, and Acknowledge / Resolve / Escalate buttons.

Each button's ``action_id`` names the action and the incident (``tocsin.acknowledge.42``) and its ``value``
carries the incident id, so the interactivity endpoint needs nothing else from the message. Untrusted text is
escaped for mrkdwn (``&``, ``<``, ``>``), which also neutralises ``<!channel>`` and link injection.
"""

from __future__ import annotations

from typing import Any

from tocsin.core.numbers import is_ascii_digits
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.render.text import clean_line, drill_mark, safe_link, summary_line

ACTION_PREFIX = "tocsin."
_BUTTONS = (("acknowledge", "Acknowledge", "primary"), ("resolve", "Resolve", None), ("escalate", "Escalate", "danger"))
_STATUS_ICON = {"triggered": ":red_circle:", "acknowledged": ":large_yellow_circle:", "resolved": ":white_check_mark:"}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_action_id(action_id: str) -> tuple[str, int] | None:
    """``tocsin.acknowledge.42`` → ("acknowledge", 42); None for anything else."""
    if not action_id.startswith(ACTION_PREFIX):
        return None
    action, _, number = action_id.removeprefix(ACTION_PREFIX).partition(".")
    if action not in ("acknowledge", "resolve", "escalate", "accept", "decline") or not is_ascii_digits(number):
        return None
    return action, int(number)


def _answer_buttons(incident: IncidentView) -> list[dict[str, Any]]:
    """A request to join the incident: Accept / Decline (the incident id in the action, as for a page)."""
    return [
        {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{action}.{incident.id}",
            "text": {"type": "plain_text", "text": label},
            "value": str(incident.id),
            **({"style": "primary"} if action == "accept" else {}),
        }
        for action, label in (("accept", "Accept"), ("decline", "Decline"))
    ]


def _buttons(incident: IncidentView) -> list[dict[str, Any]]:
    wanted = {
        "triggered": ("acknowledge", "resolve", "escalate"),
        "acknowledged": ("resolve", "escalate"),
    }.get(incident.status, ())
    buttons = []
    for action, label, style in _BUTTONS:
        if action not in wanted:
            continue
        button: dict[str, Any] = {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{action}.{incident.id}",
            "text": {"type": "plain_text", "text": label},
            "value": str(incident.id),
        }
        if style:
            button["style"] = style
        buttons.append(button)
    return buttons


def slack_blocks(message: OutboundMessage) -> tuple[str, list[dict[str, Any]]]:
    """The notification text (shown in notifications and as the fallback) and the blocks."""
    incident = message.incident
    if incident is None:
        text = escape(clean_line(message.text or "Tocsin notification", 3000))
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    # The notification text is parsed for mentions and links too, so it is escaped like the blocks.
    fallback = escape(summary_line(incident))
    icon = _STATUS_ICON.get(incident.status, "")
    link = safe_link(incident.url)
    title = escape(clean_line(incident.title, 300))
    heading = f"<{link}|#{incident.number} {title}>" if link else f"#{incident.number} {title}"
    heading = f"{drill_mark(incident)}{heading}"
    facts = "   ".join(
        f"*{label}:* {escape(clean_line(value, limit))}"
        for label, value, limit in (
            ("Status", incident.status, 20),
            ("Priority", incident.priority, 8),
            ("Urgency", incident.urgency, 8),
            ("Service", incident.service, 100),
        )
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{heading}*\n{facts}"}},
    ]
    if message.text:
        note = escape(clean_line(message.text, 500))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    buttons = _answer_buttons(incident) if message.kind == "responder" else _buttons(incident)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"tocsin-incident-{incident.id}", "elements": buttons})
    return fallback, blocks
