"""The local SMTP port of the outbox: any mail handed to it is kept in the outbox, nothing is relayed.

It lets a demo or a development setup point other senders (or Tocsin itself, with ``TOCSIN_SMTP_HOST``) at a
mail server that needs no configuration. It accepts every recipient, so it listens on loopback only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tocsin.core.clock import Clock
from tocsin.db.session import Database
from tocsin.mailbox import service as mailbox

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
MAX_RECIPIENTS = 20


class OutboxMailHandler:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        sender = envelope.mail_from or ""
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._keep, raw, sender, list(envelope.rcpt_tos))
        except Exception:
            log.exception("local outbox: could not keep a mail received over SMTP")
            return "451 4.3.0 Temporary failure; try again later"
        return "250 2.0.0 Kept in the local outbox"

    def _keep(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        with self.db.unit_of_work() as session:
            mailbox.keep(session, raw=raw, sender=sender, recipients=recipients, now=self.clock.now(), source="smtp")


class OutboxSmtpPort:
    """An aiosmtpd Controller (its own thread and event loop) serving ``OutboxMailHandler``."""

    def __init__(self, db: Database, clock: Clock, host: str, port: int, **options: Any) -> None:
        self.handler = OutboxMailHandler(db, clock)
        self.controller = Controller(
            self.handler,
            hostname=host,
            port=port,
            data_size_limit=MAX_MESSAGE_BYTES,
            server_hostname="tocsin-outbox.localhost",
            ready_timeout=10.0,
            **options,
        )

    @property
    def address(self) -> tuple[str, int]:
        return str(self.controller.hostname), int(self.controller.port)

    def start(self) -> None:
        try:
            self.controller.start()
        except OSError:
            # The controller leaves the event loop it made open when it cannot bind.
            self.controller.loop.close()
            raise
        log.info("local outbox: SMTP on %s:%s keeps every mail it receives", *self.address)

    def stop(self) -> None:
        self.controller.stop()
