"""Short plain text of a message, usable on any channel (SMS, chat fallbacks, the email text part)."""

from __future__ import annotations

import re
import unicodedata

from tocsin.notify.providers.base import IncidentView, OutboundMessage

_SPACE = re.compile(r"\s+")


def clean_line(value: object, limit: int = 500) -> str:
    """One line of untrusted text: control and format characters removed (no CR/LF, no bidi overrides)."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in str(value))
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


DRILL = "DRILL"


def drill_mark(incident: IncidentView | None, sep: str = " ") -> str:
    """What every rendered message of a drill's incident starts with (ADR 0025); nothing for a real one."""
    return f"{DRILL}{sep}" if incident is not None and incident.drill else ""


def summary_line(incident: IncidentView) -> str:
    """``[Tocsin] #12 TRIGGERED P1 high — checkout-api: CPU high`` (``DRILL [Tocsin] …`` for a drill)"""
    status = clean_line(incident.status, 20).upper()
    priority = clean_line(incident.priority, 8)
    urgency = clean_line(incident.urgency, 8)
    service = clean_line(incident.service, 100)
    title = clean_line(incident.title, 300)
    return f"{drill_mark(incident)}[Tocsin] #{incident.number} {status} {priority} {urgency} — {service}: {title}"


def safe_link(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without whitespace or control characters, else None."""
    if not url:
        return None
    if any(unicodedata.category(ch)[0] in "CZ" for ch in url):
        return None
    lower = url.lower()
    if not (lower.startswith("https://") or lower.startswith("http://")) or len(url) > 4096:
        return None
    return url


def render_text(message: OutboundMessage) -> str:
    """The summary line, the incident link and the one-click links, one per line."""
    lines: list[str] = []
    if message.incident is not None:
        lines.append(summary_line(message.incident))
        link = safe_link(message.incident.url)
        if link:
            lines.append(link)
        for name, target in message.incident.links:
            safe_extra = safe_link(target)
            if safe_extra:
                lines.append(f"{clean_line(name, 40)}: {safe_extra}")
    if message.text:
        lines.append(clean_line(message.text, 1000))
    ack = safe_link(message.ack_url)
    if ack:
        lines.append(f"Acknowledge: {ack}")
    resolve = safe_link(message.resolve_url)
    if resolve:
        lines.append(f"Resolve: {resolve}")
    for label, url in (("Accept", message.accept_url), ("Decline", message.decline_url)):
        safe = safe_link(url)
        if safe:
            lines.append(f"{label}: {safe}")
    return "\n".join(lines) if lines else "[Tocsin] notification"
