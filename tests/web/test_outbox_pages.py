"""The outbox pages: who reads which mail, the text part inert with its links clickable, the raw download."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.web.conftest import Console
from tocsin.mailbox import service as mailbox
from tocsin.notify import contacts
from tocsin.users import service as users


def _keep(console: Console, to: str, subject: str, body: str) -> int:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = "tocsin@localhost"
    mail["To"] = to
    mail.set_content(body)
    with console.db.unit_of_work() as s:
        [row] = mailbox.keep(
            s, raw=mail.as_bytes(), sender="tocsin@localhost", recipients=[to], now=console.clock.now(), source="tocsin"
        )
        return row.id


def test_each_person_reads_their_own_mail_and_an_admin_reads_all(console: Console) -> None:
    with console.db.unit_of_work() as s:
        olga = users.get_user(s, "olga@example.com")
        contacts.add_contact_method(
            s, user_id=olga.id, name="pager", type="email", address="Olga.Pager@example.com", now=console.clock.now()
        )
    for_alice = _keep(console, "alice@example.com", "[Tocsin] #1 for Alice", "hello alice")
    for_olga = _keep(console, "olga@example.com", "[Tocsin] #2 for Olga", "hello olga")
    for_pager = _keep(console, "olga.pager@example.com", "[Tocsin] #3 to the pager", "hello pager")

    console.login("olga@example.com")
    listing = console.client.get("/outbox")
    assert listing.status_code == 200
    assert "for Olga" in listing.text
    assert "to the pager" in listing.text
    assert "for Alice" not in listing.text
    assert console.client.get(f"/outbox/{for_olga}").status_code == 200
    assert console.client.get(f"/outbox/{for_pager}").status_code == 200
    # Another person's mail is not found, as if it did not exist.
    assert console.client.get(f"/outbox/{for_alice}").status_code == 404
    assert console.client.get(f"/outbox/{for_alice}/message.eml").status_code == 404
    assert console.client.get("/outbox/999999").status_code == 404

    console.client.post("/logout", data={"csrf": console.csrf()})
    console.login("alice@example.com")
    listing = console.client.get("/outbox")
    assert all(s in listing.text for s in ("for Alice", "for Olga", "to the pager"))
    assert "you see everyone's mail" in listing.text
    assert console.client.get(f"/outbox/{for_olga}").status_code == 200


def test_the_text_part_is_inert_and_its_links_are_clickable(console: Console) -> None:
    body = (
        "[Tocsin] #7 TRIGGERED P1 high — api: <script>alert(1)</script>\n"
        "Acknowledge: http://tocsin.test/a/abc.def_1-2\n"
        'Resolve: http://tocsin.test/a/xyz"onmouseover="x\n'
        "javascript:alert(2)\n"
    )
    mail_id = _keep(console, "alice@example.com", "[Tocsin] #7 api", body)
    console.login()
    page = console.client.get(f"/outbox/{mail_id}")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    text = re.search(r'<pre class="mail-text" id="mail-text">(.*?)</pre>', page.text, re.S)
    assert text is not None
    html = text.group(1)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="http://tocsin.test/a/abc.def_1-2" rel="noopener noreferrer nofollow">' in html
    # A quote ends the link: nothing after it reaches an attribute.
    assert '<a href="http://tocsin.test/a/xyz" rel="noopener noreferrer nofollow">' in html
    assert 'onmouseover="' not in html
    assert 'href="javascript' not in html

    raw = console.client.get(f"/outbox/{mail_id}/message.eml")
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("message/rfc822")
    assert b"Subject: [Tocsin] #7 api" in raw.content


def test_the_outbox_says_why_mail_is_kept_and_needs_a_sign_in(console: Console) -> None:
    r = console.client.get("/outbox", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    console.login()
    page = console.client.get("/outbox")
    assert "No mail server is configured" in page.text
    assert "No mail yet" in page.text
    assert 'href="/outbox" aria-current="page"' in page.text
