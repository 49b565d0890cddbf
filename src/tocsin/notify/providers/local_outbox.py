"""Email kept in the local outbox (the ``mail_outbox`` table) instead of sent, when no SMTP server is configured.

The message is built exactly as the SMTP provider builds it, so what the console shows is what a mail server
would have been handed. "Delivered" here means kept: the console's outbox page says where the mail is.
"""

from __future__ import annotations

import logging
from email.errors import HeaderParseError
from email.utils import parseaddr

from sqlalchemy.exc import SQLAlchemyError

from tocsin.core.clock import Clock
from tocsin.db.session import Database
from tocsin.mailbox import service as mailbox
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.render.email import render_email

log = logging.getLogger(__name__)


class LocalOutboxProvider:
    contact_type = "email"

    def __init__(self, db: Database, clock: Clock, from_addr: str, *, domain: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.from_addr = from_addr
        self.domain = domain or parseaddr(from_addr)[1].rpartition("@")[2] or "tocsin.invalid"

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            mail = render_email(message, from_addr=self.from_addr, domain=self.domain)
        except (ValueError, HeaderParseError) as exc:
            return SendResult("failed", error=f"cannot build the email: {exc}")
        ref = str(mail["Message-ID"])
        try:
            # Its own short transaction: provider calls run outside the send cycle's transactions.
            with self.db.unit_of_work() as session:
                mailbox.keep(
                    session,
                    raw=mail.as_bytes(),
                    sender=parseaddr(self.from_addr)[1],
                    recipients=[message.address],
                    now=self.clock.now(),
                    source="tocsin",
                    # 0: a message outside any notification (a password reset).
                    notification_id=message.notification_id or None,
                )
        except SQLAlchemyError as exc:
            log.warning("local outbox: could not keep notification %d: %s", message.notification_id, exc)
            return SendResult("retry", error=f"local outbox unavailable: {type(exc).__name__}")
        return SendResult("delivered", provider_ref=f"local outbox {ref}")
