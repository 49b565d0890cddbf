"""Stakeholder updates in the background (ADR 0028): whoever speaks for an incident is reminded when an update is
due (once per due time: the reminder's notice key holds it), and each update is emailed once to each plain address
of the groups it went to.

Durable and idempotent: reminders are notices with a unique key, so a second pass or a second worker adds nothing;
a delivery row is claimed (pending → sending) under its lock before the mail goes, so an address is mailed at
most once; one that fails is recorded failed with the SMTP answer."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence
from tocsin.stakeholders import service as stakeholders
from tocsin.stakeholders.service import Outgoing

# (smtp host, port, from, username, password, starttls); None: no SMTP server configured.
SmtpSettings = tuple[str, int, str, str | None, str | None, bool]


class StakeholderModule:
    name = "stakeholders"
    wakes_on: frozenset[str] = frozenset()

    def __init__(
        self,
        db: Database,
        *,
        smtp: SmtpSettings | None,
        per_severity: Mapping[str, int],
        batch: int = 100,
        every: timedelta = timedelta(seconds=5),
    ) -> None:
        self.db = db
        self.smtp = smtp
        self.per_severity = dict(per_severity)
        self.batch = batch
        self.cadence = Cadence(every)

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            reminded, ahead = stakeholders.remind_due(session, now=now, per_severity=self.per_severity)
        with self.db.unit_of_work() as session:
            claimed = stakeholders.claim_deliveries(session, limit=self.batch)
        outcomes = self._send_all(claimed)
        if outcomes:
            with self.db.unit_of_work() as session:
                for delivery_id, error in outcomes:
                    stakeholders.record_delivery(session, delivery_id, error=error, now=now)
        with self.db.reader() as session:
            more = stakeholders.pending_deliveries(session) > 0
        self.cadence.next = now if more else ahead
        return reminded + len(outcomes)

    def next_due(self) -> datetime | None:
        return self.cadence.next

    def _send_all(self, claimed: list[Outgoing]) -> list[tuple[int, str | None]]:
        if not claimed:
            return []
        if self.smtp is None:
            return [(d.id, "no SMTP server is configured (TOCSIN_SMTP_HOST)") for d in claimed]
        host, port, sender, username, password, starttls = self.smtp
        outcomes: list[tuple[int, str | None]] = []
        try:
            smtp = smtplib.SMTP(host, port, timeout=10)
        except (OSError, smtplib.SMTPException) as exc:
            return [(d.id, f"{type(exc).__name__}: {exc}"[:500]) for d in claimed]
        try:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username is not None and password is not None:
                smtp.login(username, password)
            for d in claimed:
                outcomes.append((d.id, self._mail(smtp, sender, d)))
        except (OSError, smtplib.SMTPException) as exc:
            done = {i for i, _ in outcomes}
            outcomes += [(d.id, f"{type(exc).__name__}: {exc}"[:500]) for d in claimed if d.id not in done]
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return outcomes

    @staticmethod
    def _mail(smtp: smtplib.SMTP, sender: str, d: Outgoing) -> str | None:
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = d.address
        mail["Subject"] = d.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "tocsin.invalid")
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(d.body)
        try:
            smtp.send_message(mail, from_addr=parseaddr(sender)[1], to_addrs=[d.address])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
            return f"SMTP {code}: {reply!r}"[:500]
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in (421, -1):
                raise
            return f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500]
        return None
