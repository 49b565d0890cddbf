"""The SMTP provider against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.email import SmtpProvider


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class Sink:
    """Stores every accepted mail; some recipients get scripted refusals."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse = {
            "nobody@example.com": "550 5.1.1 unknown user",
            "busy@example.com": "451 4.3.0 try later",
        }

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), mail))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def page(address: str = "alice@example.com", **inc: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "id": 40,
        "number": 12,
        "title": "CPU high",
        "status": "triggered",
        "urgency": "high",
        "severity": "SEV2",
        "priority": "P1",
        "service": "checkout-api",
        "created_at": "2026-11-02T08:00:00Z",
        "url": "https://tocsin.example.com/incidents/12",
    }
    fields.update(inc)
    return OutboundMessage(
        notification_id=5,
        message_id=f"n5-{address}-{inc.get('status', 'triggered')}",
        kind="page",
        contact_type="email",
        address=address,
        user_name="Alice",
        incident=IncidentView(**fields),
        ack_url="https://tocsin.example.com/a/TOKEN",
    )


def test_delivers_a_threaded_email(smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    provider = SmtpProvider("127.0.0.1", port, "Tocsin <tocsin@example.com>", timeout=5)
    first = provider.send(page())
    second = provider.send(page(status="acknowledged"))
    assert first.outcome == "delivered"
    assert first.provider_ref == "<tocsin.n5-alice-example.com-triggered@example.com>"
    assert second.outcome == "delivered"
    assert len(sink.mails) == 2
    # Both mails of incident #12 refer to the same root, so clients thread them together.
    assert sink.mails[1][2]["References"] == sink.mails[0][2]["References"]
    assert sink.mails[1][2]["Subject"].endswith("acknowledged")
    mail_from, rcpts, mail = sink.mails[0]
    assert mail_from == "tocsin@example.com"
    assert rcpts == ["alice@example.com"]
    assert mail["Message-ID"] == first.provider_ref
    assert mail["In-Reply-To"] == "<incident-12@example.com>"
    assert mail["References"] == "<incident-12@example.com>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["Subject"] == "[Tocsin] #12 [P1] checkout-api: CPU high — triggered"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "https://tocsin.example.com/a/TOKEN" in text.get_content()
    assert 'href="https://tocsin.example.com/a/TOKEN"' in html.get_content()


def test_script_payloads_arrive_escaped(smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    provider = SmtpProvider("127.0.0.1", port, "tocsin@example.com", timeout=5)
    result = provider.send(
        page(
            title="<script>alert(1)</script>",
            service="<img src=x onerror=alert(2)>",
            url="javascript:alert(3)",
        )
    )
    assert result.outcome == "delivered"
    html = sink.mails[0][2].get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img" not in body
    assert "javascript:" not in body


def test_permanent_refusal_fails(smtp: tuple[Sink, int]) -> None:
    _, port = smtp
    result = SmtpProvider("127.0.0.1", port, "tocsin@example.com", timeout=5).send(page("nobody@example.com"))
    assert result.outcome == "failed"
    assert result.status_code == 550
    assert result.error is not None
    assert "unknown user" in result.error


def test_temporary_refusal_retries(smtp: tuple[Sink, int]) -> None:
    _, port = smtp
    result = SmtpProvider("127.0.0.1", port, "tocsin@example.com", timeout=5).send(page("busy@example.com"))
    assert result.outcome == "retry"
    assert result.status_code == 451


def test_connection_refused_retries() -> None:
    result = SmtpProvider("127.0.0.1", free_port(), "tocsin@example.com", timeout=2).send(page())
    assert result.outcome == "retry"
    assert result.error is not None


def test_silent_server_times_out_and_retries() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)  # never sends the 220 greeting
        stop.wait(5)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        result = SmtpProvider("127.0.0.1", port, "tocsin@example.com", timeout=0.5).send(page())
    finally:
        stop.set()
        thread.join()
        for c in accepted:
            c.close()
        listener.close()
    assert result.outcome == "retry"
    assert "Timeout" in (result.error or "") or "timed out" in (result.error or "")


def test_bad_address_fails_without_connecting() -> None:
    result = SmtpProvider("127.0.0.1", free_port(), "tocsin@example.com").send(page("not-an-address"))
    assert result.outcome == "failed"
