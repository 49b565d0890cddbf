"""Learning from incidents in the background (ADR 0029): the owners of overdue action items are reminded through
their own contact methods (once per due date: the notice key holds it), and review meeting invitations are mailed
with their iCalendar part (each row claimed once, pending → sending, so an address is invited at most once)."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence
from tocsin.learning import actions, meetings
from tocsin.learning.meetings import OutgoingInvite

# (smtp host, port, from, username, password, starttls); None: no SMTP server configured.
SmtpSettings = tuple[str, int, str, str | None, str | None, bool]


class LearningModule:
    name = "learning"
    wakes_on: frozenset[str] = frozenset()

    def __init__(
        self,
        db: Database,
        *,
        smtp: SmtpSettings | None,
        base_url: str = "",
        batch: int = 100,
        every: timedelta = timedelta(seconds=5),
    ) -> None:
        self.db = db
        self.smtp = smtp
        self.base_url = base_url
        self.batch = batch
        self.cadence = Cadence(every)
        self._next_item: datetime | None = None

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now) and not (self._next_item is not None and self._next_item <= now):
            return 0
        with self.db.unit_of_work() as session:
            reminded = actions.remind_overdue(session, now=now)
            self._next_item = actions.next_reminder(session, now)
        organizer = parseaddr(self.smtp[2])[1] if self.smtp else "tocsin@localhost"
        with self.db.unit_of_work() as session:
            claimed = meetings.claim_invites(
                session, limit=self.batch, organizer=organizer, base_url=self.base_url, now=now
            )
        outcomes = self._send_all(claimed)
        if outcomes:
            with self.db.unit_of_work() as session:
                for invite_id, error in outcomes:
                    meetings.record_invite(session, invite_id, error=error, now=now)
        with self.db.reader() as session:
            more = meetings.pending_invites(session) > 0
        self.cadence.next = now if more else None
        return reminded + len(outcomes)

    def next_due(self) -> datetime | None:
        dues = [d for d in (self.cadence.next, self._next_item) if d is not None]
        return min(dues) if dues else None

    def _send_all(self, claimed: list[OutgoingInvite]) -> list[tuple[int, str | None]]:
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
    def _mail(smtp: smtplib.SMTP, sender: str, d: OutgoingInvite) -> str | None:
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = d.address
        mail["Subject"] = d.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "tocsin.invalid")
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(d.body)
        # Calendar clients read the text/calendar part with METHOD:REQUEST as an invitation to accept or decline.
        mail.add_alternative(d.ics, maintype="text", subtype="calendar", params={"method": "REQUEST"})
        mail.add_attachment(d.ics, maintype="application", subtype="ics", filename="invite.ics")
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
