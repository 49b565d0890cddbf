"""Inbound email as alerts: one parsed message becomes one trigger (or is ignored), with no I/O here.

- The subject is the summary (without leading ``Re:``/``Fwd:``), the text body the details (the HTML part,
  stripped of its markup, when there is no text part), the sender the source, the ``Date`` the timestamp.
- The dedup key is derived from the normalised subject (``email:`` + a hash), so repeated mails about one problem
  land on one open alert. The ``Message-ID`` is the delivery id: a relay's retry of the same message is
  acknowledged and not applied twice.
- Ignored: mail with ``Auto-Submitted`` other than ``no`` (RFC 3834: automatic replies, out-of-office answers and
  other machine mail that must never start a loop) and Tocsin's own notifications (``X-Tocsin-Incident``, or sent
  from Tocsin's own address).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import nh3

from tocsin.alerts.schemas import NormalizedEvent
from tocsin.core.errors import BadRequest

MAX_SUMMARY = 1024
MAX_BODY = 20_000
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class InboundMail:
    event: NormalizedEvent | None
    delivery_id: str | None
    ignored_because: str | None = None


def parse(raw: bytes, *, own_address: str | None = None) -> InboundMail:
    try:
        message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    except Exception as exc:  # the email package raises a wide range of errors on broken input
        raise BadRequest(f"the message could not be read: {type(exc).__name__}") from None
    if not isinstance(message, EmailMessage):
        raise BadRequest("the message could not be read")
    delivery_id = _header(message, "Message-ID").strip().strip("<>")[:255] or None
    reason = _ignore_reason(message, own_address)
    if reason is not None:
        return InboundMail(event=None, delivery_id=delivery_id, ignored_because=reason)

    body = _text_body(message)
    subject = _SPACES.sub(" ", _header(message, "Subject")).strip()
    summary = _REPLY_PREFIX.sub("", subject).strip() or _first_line(body) or "(no subject)"
    sender = parseaddr(_header(message, "From"))[1]
    details: dict[str, Any] = {
        "from": _header(message, "From"),
        "to": _header(message, "To"),
        "subject": subject,
        "message_id": delivery_id,
        "body": body[:MAX_BODY],
    }
    if len(body) > MAX_BODY:
        details["body_truncated_from"] = len(body)
    event = NormalizedEvent(
        action="trigger",
        dedup_key=dedup_key_for(summary),
        summary=summary[:MAX_SUMMARY],
        source=sender[:255],
        timestamp=_date(message),
        details=details,
        client="email",
    )
    return InboundMail(event=event, delivery_id=delivery_id)


def dedup_key_for(summary: str) -> str:
    normal = _SPACES.sub(" ", _REPLY_PREFIX.sub("", summary)).strip().lower()
    return "email:" + hashlib.sha256(normal.encode()).hexdigest()[:32]


def _ignore_reason(message: EmailMessage, own_address: str | None) -> str | None:
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto.split(';')[0].strip()}"
    if _header(message, "X-Tocsin-Incident"):
        return "a notification sent by Tocsin"
    sender = parseaddr(_header(message, "From"))[1].lower()
    if own_address and sender and sender == parseaddr(own_address)[1].lower():
        return "sent from Tocsin's own address"
    return None


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header must not lose the whole message
        return ""
    return str(value) if value is not None else ""


def _text_body(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except (LookupError, ValueError, AttributeError, KeyError):
        return ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html.unescape(nh3.clean(content, tags=set()))
    return content.strip()


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("Date")
    try:
        when = getattr(header, "datetime", None)
    except Exception:
        return None
    if isinstance(when, datetime) and when.tzinfo is not None:
        return when.astimezone(UTC)
    return None
