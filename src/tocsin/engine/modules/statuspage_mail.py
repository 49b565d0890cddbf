"""A status page mail as the bytes SMTP sends, written directly rather than through ``EmailMessage``: its header
policy parses and refolds every header and costs about ten times as much per mail, which is most of a fan-out to
thousands of subscribers. What is written stays within RFC 5322: headers folded and, when not ASCII, encoded
(RFC 2047); the body quoted-printable in UTF-8; no header can carry a line break."""

from __future__ import annotations

import functools
from email import quoprimime
from email.header import Header
from email.utils import formatdate, make_msgid, parseaddr

_CRLF = "\r\n"


def _one_line(value: str) -> str:
    return " ".join(value.split()) if ("\n" in value or "\r" in value) else value


@functools.lru_cache(maxsize=256)
def _header(name: str, value: str) -> str:
    """``Name: value``, folded, and RFC 2047-encoded when not ASCII (the same subjects repeat within a fan-out)."""
    text = _one_line(value)
    charset = "us-ascii" if text.isascii() else "utf-8"
    return f"{name}: {Header(text, charset, header_name=name).encode(linesep=_CRLF)}"


@functools.lru_cache(maxsize=16)
def _from(sender: str) -> tuple[str, str]:
    """The From header and the envelope sender's address."""
    name, address = parseaddr(_one_line(sender))
    if not name:
        return f"From: {address}", address
    label = Header(name, "us-ascii" if name.isascii() else "utf-8").encode(linesep=_CRLF)
    if name.isascii() and any(c in name for c in '()<>@,;:\\".[]'):
        label = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"From: {label} <{address}>", address


def compose(*, sender: str, to: str, subject: str, body: str, unsubscribe: str | None) -> tuple[str, bytes]:
    """The envelope sender and the message. ``unsubscribe``: the one-click link (RFC 8058), or None (a
    confirmation request, which must not offer one)."""
    from_header, address = _from(sender)
    domain = address.rpartition("@")[2] or "tocsin.invalid"
    lines = [
        from_header,
        f"To: {_one_line(to)}",
        _header("Subject", subject),
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {make_msgid(domain=domain)}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
    ]
    if unsubscribe is not None:
        lines.append(f"List-Unsubscribe: <{_one_line(unsubscribe)}>")
        lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    text = body if body.endswith("\n") else body + "\n"
    # body_encode works on one character a byte: the UTF-8 bytes seen as Latin-1, as email.charset does it.
    encoded = quoprimime.body_encode(text.replace("\r\n", "\n").encode().decode("latin-1"), eol=_CRLF)
    return address, (_CRLF.join(lines) + _CRLF + _CRLF + encoded).encode("ascii")
