"""Forgotten passwords: a signed reset link goes out by email (here the local outbox), works once, expires, and
setting a password from it signs every session of the account out."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Console
from tocsin.mailbox import service as mailbox
from tocsin.mailbox.reading import read

NEW = "olga's new long passphrase 5"


def _mails_to(console: Console, address: str) -> list[str]:
    with console.db.reader() as s:
        rows = mailbox.newest(s, addresses=[address])
        return [r.message.decode() if isinstance(r.message, bytes) else r.message for r in rows]


def _ask(console: Console, email: str) -> str:
    r = console.client.post("/login/forgot", data={"email": email})
    assert r.status_code == 200
    assert "a link to choose a new password is on its way" in r.text
    mails = _mails_to(console, email)
    if not mails:
        return ""
    view = read(mails[0].encode())
    assert "/reset/" not in view.subject
    link = re.search(r"http://tocsin\.test(/reset/[A-Za-z0-9_-]+)", view.text)
    assert link, view.text
    return link.group(1)


def test_a_link_by_email_sets_a_new_password_once_and_ends_sessions(console: Console) -> None:
    browser = TestClient(console.client.app, base_url="http://tocsin.test")
    r = browser.post("/login", data={"email": "olga@example.com", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303

    assert _ask(console, "nobody@example.com") == ""
    path = _ask(console, "olga@example.com")
    assert console.client.get(path).status_code == 200
    weak = console.client.post(path, data={"new_password": "password1234", "confirm_password": "password1234"})
    assert weak.status_code == 422
    assert "commonly used" in weak.text
    done = console.client.post(path, data={"new_password": NEW, "confirm_password": NEW})
    assert done.status_code == 200
    assert "Password set. Sign in." in done.text
    assert browser.get("/incidents", follow_redirects=False).status_code == 303
    r = browser.post("/login", data={"email": "olga@example.com", "password": NEW}, follow_redirects=False)
    assert r.status_code == 303

    again = console.client.post(path, data={"new_password": NEW + "x", "confirm_password": NEW + "x"})
    assert again.status_code == 401
    assert "already used" in again.text
    assert console.client.get(path).status_code == 401


def test_a_link_expires_and_a_forged_one_is_refused(console: Console) -> None:
    path = _ask(console, "olga@example.com")
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert console.client.get(f"/reset/{forged}").status_code == 401
    # A reset token is signed under a key of its own: it is no one-click action link.
    assert console.client.get(f"/a/{token}").status_code in (400, 401, 404)
    console.clock.advance(timedelta(minutes=61))
    r = console.client.post(path, data={"new_password": NEW, "confirm_password": NEW})
    assert r.status_code == 401
    assert "expired" in r.text
