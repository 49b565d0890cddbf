"""Inbound email through the real SMTP listener, spoken to with smtplib: 250 only after the commit."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored
from tocsin.alerts.models import Alert
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.integrations.smtp_listener import SmtpListener

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "email"
DOMAIN = "alerts.example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def smtp_port(api: ApiHarness) -> Iterator[int]:
    port = free_port()
    listener = SmtpListener(api.runtime, "127.0.0.1", port, DOMAIN)
    listener.start()
    try:
        yield port
    finally:
        listener.stop()


def mail(name: str, key: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes().replace(b"KEY@", key.encode() + b"@")


def send(port: int, to: list[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        return smtp.sendmail("nagios@monitor.example.com", to, raw)


def test_a_mail_is_stored_before_the_250_and_retries_are_not_applied_twice(api: ApiHarness, smtp_port: int) -> None:
    key = integration_key(api, "email")

    refused = send(smtp_port, [f"{key}@{DOMAIN}"], mail("plain_alert", key))

    assert refused == {}
    # No waiting: the 250 to DATA came after the commit.
    now = stored(api)
    assert now.alerts == [(now.alerts[0][0], "triggered", "** PROBLEM Service Alert: db-2/Disk /var is CRITICAL **")]
    assert now.incidents == ["triggered"]
    send(smtp_port, [f"{key}@{DOMAIN}"], mail("plain_alert", key))  # a relay's retry: same Message-ID
    assert stored(api).events == 1
    send(smtp_port, [f"{key}+db@{DOMAIN}"], mail("forwarded", key))  # same subject: the same open alert
    with api.runtime.db.reader() as s:
        [alert] = s.execute(select(Alert)).scalars()
    assert alert.event_count == 2
    assert alert.details["body"].startswith("***** Nagios *****")


def test_recipients_are_checked_at_rcpt_time(api: ApiHarness, smtp_port: int) -> None:
    key = integration_key(api, "email")
    generic = integration_key(api, "generic", name="web")

    for wrong in (f"nobody-{key}@{DOMAIN}", f"{generic}@{DOMAIN}", f"{key}@elsewhere.example.com"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            send(smtp_port, [wrong], mail("plain_alert", key))
        code, reply = caught.value.recipients[wrong]
        assert code == 550, reply
    partly = send(smtp_port, [f"{key}@{DOMAIN}", f"{generic}@{DOMAIN}"], mail("plain_alert", key))
    assert list(partly) == [f"{generic}@{DOMAIN}"]
    assert stored(api).events == 1


def test_loops_are_accepted_and_ignored(api: ApiHarness, smtp_port: int) -> None:
    key = integration_key(api, "email")

    for name in ("auto_reply", "own_notification"):
        assert send(smtp_port, [f"{key}@{DOMAIN}"], mail(name, key)) == {}

    assert stored(api).events == 0


def test_an_event_that_cannot_be_stored_is_a_temporary_failure(api: ApiHarness, smtp_port: int) -> None:
    key = integration_key(api, "email")
    api.runtime.committer.stop()

    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(smtp_port, [f"{key}@{DOMAIN}"], mail("plain_alert", key))

    assert caught.value.smtp_code == 451
    assert stored(api).events == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_tocsin_serve_starts_the_listener_when_configured(db: Database, tmp_path: Path) -> None:
    from tests.factories import make_service
    from tocsin.core.clock import SystemClock

    with db.unit_of_work() as s:
        _, integration = make_service(s, SystemClock().now(), name="mailbox", type="email")
        key = integration.key
    migrate.upgrade(db.url)
    smtp_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": db.url,
        "TOCSIN_PORT": str(http_port),
        "TOCSIN_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
        "TOCSIN_EMAIL_DOMAIN": DOMAIN,
        "TOCSIN_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "tocsin", "serve", "--no-worker"], env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # Mail before the web app has started its writer gets 451, which a sender retries.
                assert send(smtp_port, [f"{key}@{DOMAIN}"], mail("plain_alert", key)) == {}
                break
            except (OSError, smtplib.SMTPException):
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "no SMTP listener within 60 s"
                time.sleep(0.1)
        with db.reader() as s:
            assert [a.summary for a in s.execute(select(Alert)).scalars()] == [
                "** PROBLEM Service Alert: db-2/Disk /var is CRITICAL **"
            ]
    finally:
        server.terminate()
        server.wait(timeout=30)
