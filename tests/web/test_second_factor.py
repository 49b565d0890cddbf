"""Two-step sign-in (RFC 6238): enrol on the Account page, confirm with a code, then signing in asks for one;
recovery codes work once each; a wrong code is refused and backs off."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Console


def _enrol(console: Console) -> tuple[str, list[str]]:
    page = console.client.post("/account/second-factor/start", data={"csrf": console.csrf("/account")}).text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret, page
    uri = re.search(r'id="totp-uri">([^<]+)<', page)
    assert uri
    assert uri.group(1).startswith("otpauth://totp/Tocsin:alice%40example.com?secret=")
    wrong = console.client.post("/account/second-factor/confirm", data={"csrf": console.csrf(), "code": "000000"})
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret.group(1)).at(console.clock.now())
    page = console.client.post("/account/second-factor/confirm", data={"csrf": console.csrf(), "code": code}).text
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", page)
    assert len(codes) == 10
    console.clock.advance(timedelta(seconds=30))  # the confirming code is used up
    return secret.group(1), codes


def _password_step(console: Console) -> tuple[TestClient, str]:
    browser = TestClient(console.client.app, base_url="http://tocsin.test")
    r = browser.post("/login", data={"email": "alice@example.com", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 200
    assert "tocsin_session" not in r.cookies
    note = re.search(r'name="note" value="([^"]+)"', r.text)
    assert note
    return browser, note.group(1)


def test_signing_in_asks_for_the_code_once_enrolled(console: Console) -> None:
    console.login()
    secret, _ = _enrol(console)
    assert "10 recovery code(s) left" in console.client.get("/account").text

    browser, note = _password_step(console)
    r = browser.post("/login/code", data={"note": note, "code": "123456"}, follow_redirects=False)
    assert r.status_code == 401
    assert browser.get("/incidents", follow_redirects=False).status_code == 303
    code = pyotp.TOTP(secret).at(console.clock.now())
    r = browser.post("/login/code", data={"note": note, "code": code}, follow_redirects=False)
    assert r.status_code == 303
    assert browser.get("/incidents", follow_redirects=False).status_code == 200
    # The same code, seen over a shoulder or replayed, does not open a second session.
    other, note = _password_step(console)
    r = other.post("/login/code", data={"note": note, "code": code}, follow_redirects=False)
    assert r.status_code == 401


def test_a_recovery_code_works_once_and_a_note_expires(console: Console) -> None:
    console.login()
    _, codes = _enrol(console)
    browser, note = _password_step(console)
    r = browser.post("/login/code", data={"note": note, "code": codes[0]}, follow_redirects=False)
    assert r.status_code == 303
    again, note = _password_step(console)
    r = again.post("/login/code", data={"note": note, "code": codes[0]}, follow_redirects=False)
    assert r.status_code == 401
    console.clock.advance(timedelta(minutes=6))
    r = again.post("/login/code", data={"note": note, "code": codes[1]}, follow_redirects=False)
    assert r.status_code == 401
    assert "expired" in r.text
    forged = note.rsplit(".", 1)[0] + ".0123456789abcdef0123456789abcdef"
    r = again.post("/login/code", data={"note": forged, "code": codes[1]}, follow_redirects=False)
    assert r.status_code == 401


def test_wrong_codes_back_off(console: Console) -> None:
    console.login()
    _enrol(console)
    browser, note = _password_step(console)
    statuses = [
        browser.post("/login/code", data={"note": note, "code": f"{n:06d}"}, follow_redirects=False).status_code
        for n in range(7)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429


def test_turning_it_off_needs_a_code(console: Console) -> None:
    console.login()
    secret, _ = _enrol(console)
    r = console.client.post("/account/second-factor/disable", data={"csrf": console.csrf("/account"), "code": "1"})
    assert r.status_code == 422
    code = pyotp.TOTP(secret).at(console.clock.now())
    r = console.client.post("/account/second-factor/disable", data={"csrf": console.csrf("/account"), "code": code})
    assert "Two-step sign-in is off." in r.text
    browser = TestClient(console.client.app, base_url="http://tocsin.test")
    r = browser.post("/login", data={"email": "alice@example.com", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
