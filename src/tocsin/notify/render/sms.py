"""SMS text: short enough for two segments, with the incident, its service and the reply codes."""

from __future__ import annotations

from tocsin.notify.providers.base import OutboundMessage
from tocsin.notify.render.text import clean_line, drill_mark
from tocsin.notify.reply_codes import answer_hint, sms_hint

MAX_LENGTH = 320


def render_sms(message: OutboundMessage) -> str:
    incident = message.incident
    if incident is None:
        return clean_line(message.text or "Tocsin notification", MAX_LENGTH)
    if message.kind == "responder":
        tail = " " + answer_hint(incident.number)
        return clean_line(f"Tocsin: {message.text}", MAX_LENGTH - len(tail)) + tail
    status = clean_line(incident.status, 20).upper()
    service = clean_line(incident.service, 40)
    head = f"{drill_mark(incident)}Tocsin #{incident.number} {status} {clean_line(incident.priority, 8)}"
    extra = f" {clean_line(message.text, 80)}" if message.text else ""
    tail = " " + sms_hint(incident.number) if incident.status == "triggered" else ""
    room = MAX_LENGTH - len(head) - len(extra) - len(tail) - len(service) - 6
    title = clean_line(incident.title, max(room, 20))
    return f"{head}: {title} [{service}].{extra}{tail}"[:MAX_LENGTH]
