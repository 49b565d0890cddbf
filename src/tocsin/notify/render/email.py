"""The email of a message: subject, text and HTML parts, one-click links, headers that thread an incident.

Every incident field is untrusted (it comes from alert payloads). The HTML part is built by jinja2 with
autoescaping on, links are emitted only for absolute http(s) URLs, and nothing untrusted lands in an attribute
other than a checked href; header values are reduced to one clean line.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formatdate
from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape

from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.render.text import clean_line, drill_mark, render_text, safe_link

_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]")

_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:640px">
{% if incident %}
{% if incident.drill %}<p style="font-weight:bold;color:#8a4b00;margin:0 0 8px 0">DRILL — this is an exercise, \
not a real incident.</p>{% endif %}
<p style="font-size:12px;color:#555;margin:0">{{ incident.service }}</p>
<h2 style="margin:4px 0 12px 0">#{{ incident.number }} {{ incident.title }}</h2>
<table role="presentation" style="border-collapse:collapse;font-size:14px">
<tr><td style="padding:2px 12px 2px 0;color:#555">Status</td><td>{{ incident.status }}</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#555">Priority</td><td>{{ incident.priority }}</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#555">Severity</td><td>{{ incident.severity }}</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#555">Urgency</td><td>{{ incident.urgency }}</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#555">Opened</td><td>{{ incident.created_at }}</td></tr>
</table>
{% endif %}
{% if text %}<p style="white-space:pre-wrap">{{ text }}</p>{% endif %}
{% if ack_url or resolve_url %}
<p style="margin:20px 0">
{% if ack_url %}<a href="{{ ack_url }}" style="background:#c0392b;color:#fff;padding:10px 16px;\
text-decoration:none;border-radius:4px;margin-right:8px">Acknowledge</a>{% endif %}
{% if resolve_url %}<a href="{{ resolve_url }}" style="background:#27ae60;color:#fff;padding:10px 16px;\
text-decoration:none;border-radius:4px">Resolve</a>{% endif %}
</p>
{% endif %}
{% if accept_url or decline_url %}
<p style="margin:20px 0">
{% if accept_url %}<a href="{{ accept_url }}" style="background:#27ae60;color:#fff;padding:10px 16px;\
text-decoration:none;border-radius:4px;margin-right:8px">Accept</a>{% endif %}
{% if decline_url %}<a href="{{ decline_url }}" style="background:#555;color:#fff;padding:10px 16px;\
text-decoration:none;border-radius:4px">Decline</a>{% endif %}
</p>
{% endif %}
{% if incident_url %}
<p><a href="{{ incident_url }}">Open incident #{{ incident.number }} in Tocsin</a></p>
{% endif %}
{% if details %}
<h3 style="font-size:14px;margin-top:24px">Details</h3>
<table style="border-collapse:collapse;font-size:13px">
{% for key, value, link in details %}
<tr><td style="padding:2px 12px 2px 0;color:#555;vertical-align:top">{{ key }}</td>
<td style="white-space:pre-wrap">
{%- if link %}<a href="{{ link }}">{{ value }}</a>{% else %}{{ value }}{% endif -%}
</td></tr>
{% endfor %}
</table>
{% endif %}
<p style="font-size:12px;color:#777;margin-top:24px">Sent by Tocsin to {{ user_name }}.</p>
</body>
</html>
"""

_env = Environment(
    loader=DictLoader({"email.html": _HTML}),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def message_id_header(message: OutboundMessage, domain: str) -> str:
    """``<tocsin.{message_id}@{domain}>``: one per notification, the same on a retry of it."""
    return f"<tocsin.{_ID_CHARS.sub('-', message.message_id)[:100]}@{_domain(domain)}>"


def thread_root_id(incident: IncidentView, domain: str) -> str:
    """The id every mail of one incident refers to, so that mail clients show them as one thread."""
    return f"<incident-{incident.number}@{_domain(domain)}>"


def _domain(domain: str) -> str:
    return _ID_CHARS.sub("-", domain.strip().lower()) or "tocsin.invalid"


def subject_of(message: OutboundMessage) -> str:
    inc = message.incident
    if inc is None:
        return clean_line(f"[Tocsin] {message.text or message.kind}", 200)
    if message.kind == "responder":
        return clean_line(f"[Tocsin] #{inc.number} you are asked to join: {clean_line(inc.title, 150)}", 250)
    return clean_line(
        f"{drill_mark(inc)}[Tocsin] #{inc.number} [{inc.priority}] {clean_line(inc.service, 80)}: "
        f"{clean_line(inc.title, 150)} — {inc.status}",
        250,
    )


def _details(details: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    rows: list[tuple[str, str, str | None]] = []
    for key, value in list(details.items())[:50]:
        text = (value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False))[:2000]
        link = safe_link(text.strip()) if isinstance(value, str) else None
        rows.append((clean_line(key, 100), text, link))
    return rows


def _text_part(message: OutboundMessage) -> str:
    body = render_text(message)
    if message.incident and message.incident.details:
        extra = [f"{k}: {clean_line(v, 500)}" for k, v, _ in _details(message.incident.details)]
        body += "\n\nDetails\n" + "\n".join(extra)
    return body + "\n"


def render_email(
    message: OutboundMessage, *, from_addr: str, domain: str, date: datetime | None = None
) -> EmailMessage:
    """A multipart/alternative email for ``message``; ValueError if the recipient address is unusable."""
    if any(c in message.address for c in "\r\n") or "@" not in message.address:
        raise ValueError(f"not an email address: {message.address!r}")
    mail = EmailMessage()
    subject = subject_of(message)
    mail["Subject"] = subject
    mail["From"] = from_addr
    local, _, host = message.address.strip().rpartition("@")
    mail["To"] = Address(display_name=clean_line(message.user_name, 100), username=local, domain=host)
    mail["Date"] = format_datetime(date) if date else formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id_header(message, domain)
    if message.incident is not None:
        root = thread_root_id(message.incident, domain)
        mail["In-Reply-To"] = root
        mail["References"] = root
        mail["X-Tocsin-Incident"] = str(message.incident.number)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["Precedence"] = "bulk"
    mail.set_content(_text_part(message))

    inc = message.incident
    html = _env.get_template("email.html").render(
        subject=subject,
        incident=inc,
        text=message.text,
        ack_url=safe_link(message.ack_url),
        resolve_url=safe_link(message.resolve_url),
        accept_url=safe_link(message.accept_url),
        decline_url=safe_link(message.decline_url),
        incident_url=safe_link(inc.url) if inc else None,
        details=_details(inc.details) if inc else [],
        user_name=message.user_name,
    )
    mail.add_alternative(html, subtype="html")
    return mail
