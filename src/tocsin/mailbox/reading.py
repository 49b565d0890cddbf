"""What a kept message says, read from its raw RFC 5322 bytes (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.errors import MessageError
from email.message import EmailMessage
from email.parser import BytesParser

_PARSER = BytesParser(policy=policy.default)
MAX_TEXT = 100_000


@dataclass(frozen=True, slots=True)
class MailView:
    subject: str
    sender: str
    to: str
    date: str
    message_id: str
    text: str


def _header(mail: EmailMessage, name: str) -> str:
    try:
        return str(mail.get(name, "") or "")
    except (MessageError, ValueError):
        return ""


def subject_of(raw: bytes) -> str:
    return _header(_PARSER.parsebytes(raw, headersonly=True), "Subject")[:500]


def read(raw: bytes) -> MailView:
    """Headers and the text part; a message without one shows a note instead of its HTML (never rendered)."""
    mail = _PARSER.parsebytes(raw)
    assert isinstance(mail, EmailMessage)  # policy.default makes EmailMessage objects
    body = mail.get_body(preferencelist=("plain",))
    text = "(this message has no plain-text part)"
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, ValueError, MessageError):
            content = body.get_payload(decode=True)
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        text = str(content).replace("\r\n", "\n")
    return MailView(
        subject=_header(mail, "Subject"),
        sender=_header(mail, "From"),
        to=_header(mail, "To"),
        date=_header(mail, "Date"),
        message_id=_header(mail, "Message-ID"),
        text=text[:MAX_TEXT],
    )
