"""Status pages in the background: scheduled maintenance starts and completes by itself (with its silences), and
each update is sent once to every subscriber (email with one-click unsubscribe, signed webhooks), failures and
bounces recorded on the delivery and the subscriber.

Durable and idempotent: maintenance moves under the row's lock from the status it was found in; a delivery is a
row with a unique key, claimed with a lease, and a claim that outlives its lease is taken again (an email may then
go twice, never an update to another page's subscriber)."""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta

from tocsin.db.session import Database
from tocsin.engine.cadence import Cadence
from tocsin.engine.modules import statuspage_mail
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.service import Outgoing

# (smtp host, port, from, username, password, starttls); None: no SMTP server configured.
SmtpSettings = tuple[str, int, str, str | None, str | None, bool]


class StatusPageModule:
    name = "statuspages"
    # A lane of its own: a slow SMTP server or a fan-out to thousands never holds up escalation timers or pages.
    lane = "statuspages"
    wakes_on: frozenset[str] = frozenset()

    def __init__(
        self,
        db: Database,
        *,
        smtp: SmtpSettings | None,
        poster: WebhookProvider | None,
        unsubscribe_url: Callable[[Outgoing], str],
        lease: timedelta = timedelta(minutes=2),
        batch: int = 200,
        every: timedelta = timedelta(seconds=1),
    ) -> None:
        self.db = db
        self.smtp = smtp
        self.poster = poster
        self.unsubscribe_url = unsubscribe_url
        self.lease = lease
        self.batch = batch
        self.cadence = Cadence(every)
        self._smtp: smtplib.SMTP | None = None

    def run_once(self, now: datetime) -> int:
        if not self.cadence.due(now):
            return 0
        with self.db.unit_of_work() as session:
            handled = statuspages.run_maintenances(session, now=now)
        with self.db.unit_of_work() as session:
            claimed = statuspages.claim_deliveries(session, now=now, lease=self.lease, limit=self.batch)
        outcomes = self._send_all(claimed)
        if outcomes:
            with self.db.unit_of_work() as session:
                statuspages.record_deliveries(session, outcomes, now=now)
        with self.db.reader() as session:
            due = [t for t in (statuspages.next_maintenance_due(session), statuspages.next_delivery_due(session)) if t]
        self.cadence.next = min(due) if due else None
        return handled + len(outcomes)

    def next_due(self) -> datetime | None:
        return self.cadence.next

    def _send_all(self, claimed: list[Outgoing]) -> list[tuple[int, str, str | None]]:
        """Send a claimed batch: webhooks one by one, mail over one SMTP connection for the whole batch (a fan-out
        to thousands of subscribers does not open a connection per mail)."""
        outcomes: list[tuple[int, str, str | None]] = []
        self._smtp = None
        try:
            for d in claimed:
                outcome, error = self._post(d) if d.subscriber_kind == "webhook" else self._mail(d)
                outcomes.append((d.id, outcome, error))
        finally:
            self._hang_up()
        return outcomes

    def _post(self, d: Outgoing) -> tuple[str, str | None]:
        if self.poster is None:
            return "failed", "webhooks are not configured on this server"
        body = json.dumps(d.payload, separators=(",", ":"), ensure_ascii=False).encode()
        answer = self.poster.post_signed(d.address, f"statuspage.{d.key}", d.secret, body)
        return answer.result.outcome, answer.result.error

    def _mail(self, d: Outgoing) -> tuple[str, str | None]:
        if self.smtp is None:
            return "failed", "no SMTP server is configured (TOCSIN_SMTP_HOST)"
        if d.kind != "confirm":
            link = self.unsubscribe_url(d)
            body = f"{d.body}\n\n--\n{d.page_name}\nUnsubscribe: {link}\n"
            envelope, message = statuspage_mail.compose(
                sender=self.smtp[2], to=d.address, subject=d.subject, body=body, unsubscribe=link
            )
        else:
            envelope, message = statuspage_mail.compose(
                sender=self.smtp[2], to=d.address, subject=d.subject, body=d.body, unsubscribe=None
            )
        try:
            self._connection().sendmail(envelope, [d.address], message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
            return ("retry" if 400 <= code < 500 else "failed"), f"SMTP {code}: {reply!r}"[:500]
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in (421, -1):
                self._hang_up()
            outcome = "retry" if 400 <= exc.smtp_code < 500 else "failed"
            return outcome, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500]
        except (OSError, smtplib.SMTPException) as exc:
            self._hang_up()
            return "retry", f"{type(exc).__name__}: {exc}"[:500]
        return "delivered", None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            assert self.smtp is not None
            host, port, _, username, password, starttls = self.smtp
            smtp = smtplib.SMTP(host, port, timeout=10)
            try:
                if starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if username is not None and password is not None:
                    smtp.login(username, password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def _hang_up(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
