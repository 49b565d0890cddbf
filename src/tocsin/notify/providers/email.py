"""Email over SMTP (smtplib), classified into delivered / retry / failed from the server's reply codes."""

from __future__ import annotations

import smtplib
import ssl
from email.errors import HeaderParseError
from email.utils import parseaddr

from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.render.email import render_email


def _by_code(code: int, what: str) -> SendResult:
    if 400 <= code < 500:
        return SendResult("retry", status_code=code, error=what)
    if code >= 500:
        return SendResult("failed", status_code=code, error=what)
    return SendResult("retry", status_code=code, error=what)


def _reply(code: int, msg: bytes | str) -> str:
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return f"SMTP {code}: {text}"[:500]


class SmtpProvider:
    contact_type = "email"

    def __init__(
        self,
        host: str,
        port: int,
        from_addr: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
        domain: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.from_addr = from_addr
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.ssl_context = ssl_context
        sender_domain = parseaddr(from_addr)[1].rpartition("@")[2]
        self.domain = domain or sender_domain or "tocsin.invalid"

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            mail = render_email(message, from_addr=self.from_addr, domain=self.domain)
        except (ValueError, HeaderParseError) as exc:
            return SendResult("failed", error=f"cannot build the email: {exc}")
        ref = str(mail["Message-ID"])
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.username is not None and self.password is not None:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail, from_addr=parseaddr(self.from_addr)[1], to_addrs=[message.address])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
            return _by_code(code, _reply(code, reply))
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused, SMTPDataError, SMTPConnectError, SMTPHeloError, SMTPAuthenticationError.
            return _by_code(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
        except smtplib.SMTPNotSupportedError as exc:
            return SendResult("failed", error=f"SMTP server does not support a required extension: {exc}")
        except smtplib.SMTPServerDisconnected as exc:
            return SendResult("retry", error=f"SMTP server disconnected: {exc}")
        except (TimeoutError, ssl.SSLError, OSError, smtplib.SMTPException) as exc:
            return SendResult("retry", error=f"{type(exc).__name__}: {exc}"[:500])
        return SendResult("delivered", provider_ref=ref)
