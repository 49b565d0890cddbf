"""The console's Account page: change the password (other sessions end, this one stays) and end sessions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Console

NEW = "a fresh passphrase for alice 7"


def _second_browser(console: Console) -> TestClient:
    other = TestClient(console.client.app, base_url="http://tocsin.test")
    r = other.post("/login", data={"email": "alice@example.com", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    return other


def _change(console: Console, current: str, new: str, confirm: str | None = None) -> tuple[int, str]:
    form = {"csrf": console.csrf("/account"), "current_password": current, "new_password": new}
    form["confirm_password"] = new if confirm is None else confirm
    r = console.client.post("/account/password", data=form, follow_redirects=True)
    return r.status_code, r.text


def test_changing_the_password_keeps_this_browser_and_signs_the_others_out(console: Console) -> None:
    console.login()
    other = _second_browser(console)
    assert other.get("/account", follow_redirects=False).status_code == 200
    page = console.client.get("/account").text
    assert page.count('action="/account/sessions/') == 2  # the other browser's revoke, and "sign out all others"

    status, text = _change(console, "wrong", NEW)
    assert status == 422
    assert "current password is not right" in text
    status, text = _change(console, PASSWORD, NEW, confirm="something else")
    assert status == 422
    assert "differ" in text
    status, text = _change(console, PASSWORD, "tiny")
    assert status == 422
    assert "at least 12 characters" in text

    status, text = _change(console, PASSWORD, NEW)
    assert status == 200
    assert "Password changed. 1 other session(s) signed out." in text
    assert console.client.get("/account", follow_redirects=False).status_code == 200
    assert other.get("/account", follow_redirects=False).status_code == 303
    r = other.post("/login", data={"email": "alice@example.com", "password": NEW}, follow_redirects=False)
    assert r.status_code == 303


def test_a_session_is_signed_out_from_the_account_page(console: Console) -> None:
    console.login()
    other = _second_browser(console)
    page = console.client.get("/account").text
    import re

    (revoke,) = re.findall(r'action="(/account/sessions/\d+/revoke)"', page)
    r = console.client.post(revoke, data={"csrf": console.csrf("/account")}, follow_redirects=True)
    assert "Session signed out." in r.text
    assert other.get("/incidents", follow_redirects=False).status_code == 303
    assert console.client.get("/incidents", follow_redirects=False).status_code == 200
    # Without the CSRF token nothing happens.
    third = _second_browser(console)
    (revoke,) = re.findall(r'action="(/account/sessions/\d+/revoke)"', console.client.get("/account").text)
    assert console.client.post(revoke, data={}).status_code == 403
    assert third.get("/incidents", follow_redirects=False).status_code == 200


def test_an_admin_resets_a_password_from_the_person_page(console: Console) -> None:
    import re

    observer = TestClient(console.client.app, base_url="http://tocsin.test")
    r = observer.post("/login", data={"email": "olga@example.com", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    # An observer may not reset anyone.
    csrf = re.search(r'name="csrf" value="([^"]+)"', observer.get("/account").text)
    assert csrf
    r = observer.post("/people/1/reset-password", data={"csrf": csrf.group(1), "confirm": "yes"})
    assert r.status_code == 403

    console.login()
    with console.db.reader() as s:
        from tocsin.users import service as users

        olga_id = users.get_user(s, "olga@example.com").id
    page = console.client.get(f"/people/{olga_id}").text
    assert f'action="/people/{olga_id}/reset-password"' in page
    r = console.client.post(f"/people/{olga_id}/reset-password", data={"csrf": console.csrf(), "confirm": "yes"})
    assert r.status_code == 200
    temporary = re.search(r'id="temporary-password">([^<]+)<', r.text)
    assert temporary
    assert "1 session(s) of Olga were signed out" in r.text
    assert observer.get("/incidents", follow_redirects=False).status_code == 303
    r = observer.post(
        "/login", data={"email": "olga@example.com", "password": temporary.group(1)}, follow_redirects=False
    )
    assert r.status_code == 303
