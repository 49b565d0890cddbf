"""Rendering: the plain text line, the email's headers and parts, and untrusted fields rendered inert."""

from __future__ import annotations

from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.render import render_email, render_text, summary_line

XSS_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)>'


def incident(**kw: Any) -> IncidentView:
    base: dict[str, Any] = {
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
    base.update(kw)
    return IncidentView(**base)


def message(inc: IncidentView | None = None, **kw: Any) -> OutboundMessage:
    base: dict[str, Any] = {
        "notification_id": 5,
        "message_id": "n5",
        "kind": "page",
        "contact_type": "email",
        "address": "alice@example.com",
        "user_name": "Alice",
        "incident": inc or incident(),
        "ack_url": "https://tocsin.example.com/a/TOKEN",
    }
    base.update(kw)
    return OutboundMessage(**base)


class Scan(HTMLParser):
    """Collects what a browser would treat as active content."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name in ("href", "src", "action"):
                self.hrefs.append(value or "")


def scan(html: str) -> Scan:
    s = Scan()
    s.feed(html)
    return s


def parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def test_summary_line() -> None:
    assert summary_line(incident()) == "[Tocsin] #12 TRIGGERED P1 high — checkout-api: CPU high"


def test_render_text_has_links() -> None:
    text = render_text(message())
    lines = text.splitlines()
    assert lines[0] == "[Tocsin] #12 TRIGGERED P1 high — checkout-api: CPU high"
    assert "https://tocsin.example.com/incidents/12" in lines
    assert "Acknowledge: https://tocsin.example.com/a/TOKEN" in lines


def test_render_text_is_one_line_per_field() -> None:
    text = render_text(message(incident(title="a\r\nb\u202ec\x00")))
    assert text.splitlines()[0].endswith("a b c")


def test_email_headers() -> None:
    mail = render_email(message(), from_addr="Tocsin <tocsin@example.com>", domain="example.com")
    assert mail["Subject"] == "[Tocsin] #12 [P1] checkout-api: CPU high — triggered"
    assert mail["Message-ID"] == "<tocsin.n5@example.com>"
    assert mail["In-Reply-To"] == "<incident-12@example.com>"
    assert mail["References"] == "<incident-12@example.com>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["To"] == "Alice <alice@example.com>"
    assert mail.get_content_type() == "multipart/alternative"


def test_each_message_has_its_own_id_but_one_thread() -> None:
    a = render_email(message(), from_addr="t@example.com", domain="example.com")
    b = render_email(
        message(message_id="n6", incident=incident(status="acknowledged")),
        from_addr="t@example.com",
        domain="example.com",
    )
    assert a["Message-ID"] != b["Message-ID"]
    assert a["References"] == b["References"]


def test_email_parts_carry_links() -> None:
    text, html = parts(render_email(message(), from_addr="t@example.com", domain="example.com"))
    assert "https://tocsin.example.com/a/TOKEN" in text
    assert "https://tocsin.example.com/incidents/12" in text
    found = scan(html)
    assert "https://tocsin.example.com/a/TOKEN" in found.hrefs
    assert "https://tocsin.example.com/incidents/12" in found.hrefs


def test_untrusted_fields_render_inert() -> None:
    inc = incident(
        title=XSS_TITLE,
        service='"><svg onload=alert(2)>',
        url="javascript:alert(3)",
        details={
            "runbook": "javascript:alert(4)",
            "img": "data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==",
            "<b onmouseover=alert(6)>key</b>": "<iframe src=//evil>",
            "dashboard": "https://grafana.example.com/d/1",
            "nested": {"a": "<script>x</script>"},
        },
    )
    mail = render_email(
        message(inc, ack_url="javascript:alert(7)", text="<script>t</script>"),
        from_addr="t@example.com",
        domain="example.com",
    )
    text, html = parts(mail)
    found = scan(html)
    assert set(found.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "p",
        "h2",
        "h3",
        "table",
        "tr",
        "td",
        "a",
    }
    assert found.handlers == []
    assert all(h.startswith("https://") for h in found.hrefs), found.hrefs
    assert "https://grafana.example.com/d/1" in found.hrefs
    assert "&lt;script&gt;" in html
    assert "\r" not in mail["Subject"]
    assert "\n" not in mail["Subject"]
    assert XSS_TITLE in text  # the text part is shown as text, so it stays verbatim
    assert "javascript:" not in text.split("Details")[0]


def test_header_injection_is_impossible() -> None:
    inc = incident(title="x\r\nBcc: victim@example.com", service="s\nX-Evil: 1")
    mail = render_email(message(inc), from_addr="t@example.com", domain="example.com")
    assert mail["Bcc"] is None
    assert mail["X-Evil"] is None
    head = mail.as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head
    assert b"\nX-Evil:" not in head
