"""The hand-written status page mail reads back as the mail it means: headers (RFC 2047 when not ASCII, never a
line break smuggled into one), one-click unsubscribe only on updates, the UTF-8 body intact after quoted-printable."""

from __future__ import annotations

from email import message_from_bytes, policy

from tocsin.engine.modules.statuspage_mail import compose


def test_an_update_mail_parses_back() -> None:
    link = "http://tocsin.test/status/acme/unsubscribe/" + "x" * 120
    body = "Café down — on répare.\n\n" + "long line " * 30 + "\n=equals= and trailing space \nUnsubscribe: " + link
    envelope, raw = compose(
        sender="Statut Café <status@example.com>",
        to="reader@example.com",
        subject="[Café] Paiements:\r\nBcc: victim@example.com investigating",
        body=body,
        unsubscribe=link,
    )
    assert envelope == "status@example.com"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == "[Café] Paiements: Bcc: victim@example.com investigating"
    assert mail["Bcc"] is None, "no header injected through a line break"
    assert mail["From"].addresses[0].display_name == "Statut Café"
    assert mail["To"] == "reader@example.com"
    assert mail["List-Unsubscribe"] == f"<{link}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"].endswith("@example.com>")
    # On the wire every line ends in CRLF, as SMTP wants; a reader sees the text as written.
    assert mail.get_content().replace("\r\n", "\n") == body + "\n"


def test_a_confirmation_offers_no_unsubscribe() -> None:
    _, raw = compose(
        sender="status@example.com", to="a@example.com", subject="Confirm", body="Confirm: x", unsubscribe=None
    )
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["List-Unsubscribe"] is None
    assert mail["From"] == "status@example.com"
    assert mail.get_content().replace("\r\n", "\n") == "Confirm: x\n"
