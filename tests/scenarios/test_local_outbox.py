"""With no SMTP server, pages by email are kept in the local outbox: the real engine, the real database."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.scenarios.harness import World
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.mailbox import service as mailbox
from tocsin.mailbox.reading import read
from tocsin.mailbox.smtp_port import OutboxSmtpPort
from tocsin.notify import service as notify
from tocsin.notify.providers.local_outbox import LocalOutboxProvider
from tocsin.notify.setup import providers_from_settings
from tocsin.settings import ConfigError, load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _links(incident_id: int, user_id: int, action: str) -> str:
    return f"http://tocsin.test/a/{action}-{incident_id}-{user_id}"


def test_a_page_by_email_lands_in_the_outbox_as_the_full_message(world: World, db: Database, clock: FakeClock) -> None:
    world.add_providers(LocalOutboxProvider(db, clock, "Tocsin <tocsin@localhost>"))
    world.use_links(_links)
    world.user("alice")
    policy = world.policy("p", [([{"kind": "user", "ref": str(world.users["alice"].id)}], 300)])
    world.service("api", policy)
    incident = world.trigger("api", "disk", "Disk 95% full on db1")
    world.run()

    with db.reader() as s:
        [kept] = mailbox.newest(s, addresses=["ALICE@example.com"])
        assert mailbox.newest(s, addresses=["bob@example.com"]) == []
        [page] = notify.notifications_of(s, incident.id)
    assert page.status == "sent"
    assert page.provider_ref is not None
    assert page.provider_ref.startswith("local outbox <tocsin.msg_")
    assert kept.notification_id == page.id
    assert kept.recipient == "alice@example.com"
    assert kept.source == "tocsin"
    assert "Disk 95% full on db1" in kept.subject
    view = read(kept.message)
    assert view.sender == "Tocsin <tocsin@localhost>"
    assert "alice@example.com" in view.to
    assert f"Acknowledge: http://tocsin.test/a/acknowledge-{incident.id}-" in view.text
    assert f"Resolve: http://tocsin.test/a/resolve-{incident.id}-" in view.text
    assert ("notified", "engine", "Notified email to Alice") in world.timeline_entries(incident)


def test_the_one_resend_of_an_interrupted_page_keeps_no_second_copy(
    world: World, db: Database, clock: FakeClock
) -> None:
    provider = LocalOutboxProvider(db, clock, "tocsin@localhost")
    world.add_providers(provider)
    world.user("alice")
    policy = world.policy("p", [([{"kind": "user", "ref": str(world.users["alice"].id)}], 300)])
    world.service("api", policy)
    world.trigger("api", "disk")
    world.run()
    with db.reader() as s:
        [kept] = mailbox.newest(s, addresses=None)
        message = read(kept.message)
    assert kept.notification_id is not None
    # The same notification again, as after a crash mid-send: the copy is recognised.
    from tocsin.notify.providers.base import OutboundMessage

    again = OutboundMessage(
        notification_id=kept.notification_id,
        message_id=f"msg_{kept.notification_id}",
        kind="page",
        contact_type="email",
        address="alice@example.com",
        user_name="Alice",
        incident=None,
    )
    assert provider.send(again).outcome == "delivered"
    with db.reader() as s:
        assert [m.id for m in mailbox.newest(s, addresses=None)] == [kept.id]
    assert message.message_id == f"<tocsin.msg_{kept.notification_id}@localhost>"


def test_an_unusable_address_fails_without_keeping_anything(db: Database, clock: FakeClock) -> None:
    from tocsin.notify.providers.base import OutboundMessage

    provider = LocalOutboxProvider(db, clock, "tocsin@localhost")
    bad = OutboundMessage(1, "msg_1", "test", "email", "not-an-address", "Alice", None)
    result = provider.send(bad)
    assert result.outcome == "failed"
    assert result.error is not None
    assert "not an email address" in result.error
    with db.reader() as s:
        assert mailbox.newest(s, addresses=None) == []


def test_email_goes_to_the_outbox_only_when_no_smtp_server_is_configured(db: Database, clock: FakeClock) -> None:
    plain = load_settings(database_url=db.url)
    assert isinstance(providers_from_settings(plain, clock, db).get("email"), LocalOutboxProvider)
    with_smtp = load_settings(database_url=db.url, smtp_host="mail.example.com")
    assert not isinstance(providers_from_settings(with_smtp, clock, db).get("email"), LocalOutboxProvider)
    # Turned off, email has no provider: pages fail and fall back as before.
    off = load_settings(database_url=db.url, local_outbox=False)
    assert providers_from_settings(off, clock, db).get("email") is None


@pytest.fixture
def smtp_port(db: Database, clock: FakeClock) -> Iterator[OutboxSmtpPort]:
    port = OutboxSmtpPort(db, clock, "127.0.0.1", _free_port())
    port.start()
    try:
        yield port
    finally:
        port.stop()


def test_mail_handed_to_the_local_smtp_port_is_kept_once_per_recipient(smtp_port: OutboxSmtpPort, db: Database) -> None:
    mail = EmailMessage()
    mail["Subject"] = "Backup failed on db2"
    mail["From"] = "cron@example.com"
    mail["To"] = "ana@tocsin.local, ben@tocsin.local"
    mail.set_content("the nightly backup exited with status 2\n")
    with smtplib.SMTP(*smtp_port.address, timeout=10) as smtp:
        refused = smtp.send_message(mail)
    assert refused == {}
    with db.reader() as s:
        kept = mailbox.newest(s, addresses=None)
        ana = mailbox.newest(s, addresses=["ana@tocsin.local"])
    assert sorted(m.recipient for m in kept) == ["ana@tocsin.local", "ben@tocsin.local"]
    assert {m.source for m in kept} == {"smtp"}
    assert {m.sender for m in kept} == {"cron@example.com"}
    assert [m.subject for m in ana] == ["Backup failed on db2"]
    assert read(ana[0].message).text == "the nightly backup exited with status 2\n"
    assert ana[0].notification_id is None


def test_the_local_smtp_port_listens_on_loopback_only() -> None:
    assert load_settings(outbox_smtp_listen="127.0.0.1:1025").outbox_smtp_address == ("127.0.0.1", 1025)
    assert load_settings(outbox_smtp_listen="[::1]:1025").outbox_smtp_address == ("::1", 1025)
    with pytest.raises(ConfigError, match=r"TOCSIN_OUTBOX_SMTP_LISTEN: .*loopback"):
        load_settings(outbox_smtp_listen="0.0.0.0:1025")
    with pytest.raises(ConfigError, match=r"TOCSIN_OUTBOX_SMTP_LISTEN: .*host:port"):
        load_settings(outbox_smtp_listen="1025")
