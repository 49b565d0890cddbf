"""The SMTP listener for inbound email: ``<integration key>@<TOCSIN_EMAIL_DOMAIN>`` becomes an alert.

Recipients are checked at RCPT time, so a sender learns at once (550) that an address is wrong instead of
getting a bounce later. The message is committed through the ingest writer before the 250 answer to DATA: a
250 means stored, and anything that could not be stored is answered 451 so that the sending server retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tocsin.alerts.schemas import Submission
from tocsin.core.errors import BadRequest, TocsinError
from tocsin.integrations import email_message
from tocsin.integrations.ratelimit import KeyedRateLimiter, retry_after_header
from tocsin.runtime import Runtime
from tocsin.services import service as services

log = logging.getLogger(__name__)

EMAIL_TYPE = "email"
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
MAX_RECIPIENTS = 20


class InboundMailHandler:
    def __init__(self, runtime: Runtime, domain: str) -> None:
        self.runtime = runtime
        self.domain = domain.lower()
        # The same per-key budget as the HTTP endpoints, taken at RCPT: before the message is read or looked up.
        self.limiter = KeyedRateLimiter(runtime.settings.ingest_rate_per_key, runtime.settings.ingest_burst_per_key)

    def key_of(self, address: str) -> str | None:
        local, at, domain = address.strip().strip("<>").rpartition("@")
        if not at or domain.lower() != self.domain or not local:
            return None
        # A sub-address (key+anything@) reaches the same integration, as mail users expect.
        return local.split("+", 1)[0]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        key = self.key_of(address)
        if key is None:
            return f"550 5.1.1 <{address}>: not an address of {self.domain}"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        wait = self.limiter.acquire(key)
        if wait > 0:
            # 4xx: the sending server keeps the message and retries later, as it would after an HTTP 429.
            return f"452 4.7.1 <{address}> receives too many messages; retry in {retry_after_header(wait)} seconds"
        try:
            kind = await asyncio.get_running_loop().run_in_executor(None, self._type_of, key)
        except Exception:
            log.exception("inbound email: recipient lookup failed")
            return "451 4.3.0 Temporary failure; try again later"
        if kind != EMAIL_TYPE:
            return f"550 5.1.1 <{address}>: no email integration has this key"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            mail = email_message.parse(raw, own_address=self.runtime.settings.smtp_from)
        except BadRequest as exc:
            return f"550 5.6.0 {exc.detail}"
        if mail.event is None:
            log.info("inbound email ignored: %s", mail.ignored_because)
            self.runtime.metrics.events.labels(EMAIL_TYPE, "ignored").inc()
            return f"250 2.6.0 Accepted and ignored ({mail.ignored_because})"
        try:
            for address in envelope.rcpt_tos:
                key = self.key_of(address)
                if key is None:
                    continue
                event = dataclasses.replace(mail.event, details=dict(mail.event.details))
                result = await self.runtime.committer.submit(
                    Submission(
                        integration_key=key, events=[event], delivery_id=mail.delivery_id, integration_type=EMAIL_TYPE
                    )
                )
                for outcome in result.outcomes:
                    self.runtime.metrics.events.labels(EMAIL_TYPE, outcome).inc()
        except TocsinError as exc:
            return f"451 4.3.0 {exc.detail}"
        self.runtime.wakeup.notify()
        return "250 2.0.0 Stored"

    def _type_of(self, key: str) -> str | None:
        with self.runtime.db.reader() as session:
            return services.integration_type_of(session, key)


class SmtpListener:
    """An aiosmtpd Controller (its own thread and event loop) serving ``InboundMailHandler``."""

    def __init__(self, runtime: Runtime, host: str, port: int, domain: str, **options: Any) -> None:
        self.handler = InboundMailHandler(runtime, domain)
        self.controller = Controller(
            self.handler,
            hostname=host,
            port=port,
            data_size_limit=MAX_MESSAGE_BYTES,
            server_hostname=domain,
            ready_timeout=10.0,
            **options,
        )

    def start(self) -> None:
        self.controller.start()
        log.info("inbound email listening on %s:%s", self.controller.hostname, self.controller.port)

    def stop(self) -> None:
        self.controller.stop()


def listener_from_settings(runtime: Runtime) -> SmtpListener | None:
    address = runtime.settings.smtp_listen_address
    if address is None or not runtime.settings.email_domain:
        return None
    return SmtpListener(runtime, address[0], address[1], runtime.settings.email_domain)
