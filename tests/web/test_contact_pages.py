"""Contact methods and notification rules from a person's page and /me, through the real app, on both databases:
the person themself and admins change them, others are refused, phone numbers are confirmed with a code."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from tests.web.conftest import Console
from tocsin.db.encrypted import keyring_of
from tocsin.notify import contacts
from tocsin.notify.models import ContactMethod, Notification
from tocsin.users import service as users

HOOK = "https://hooks.example.com/services/T000/B000/secretsecret1234"


@pytest.fixture
def ids(console: Console, password_hash: str) -> dict[str, int]:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        bob = users.create_user(
            s, email="bob@example.com", name="Bob", now=now, role="responder", password_hash=password_hash
        )
        mail = contacts.add_contact_method(
            s, user_id=bob.id, name="work mail", type="email", address="bob@x.io", now=now
        )
        hook = contacts.add_contact_method(s, user_id=bob.id, name="team hook", type="webhook", address=HOOK, now=now)
        rule = contacts.add_rule(s, user_id=bob.id, urgency="high", contact_method_id=mail.id, delay_seconds=0)
        return {"bob": bob.id, "mail": mail.id, "hook": hook.id, "rule": rule.id}


def _methods(console: Console, user_id: int) -> dict[str, tuple[str, str, bool, bool]]:
    with console.db.reader() as s:
        return {m.name: (m.type, m.address, m.verified, m.disabled) for m in contacts.contact_methods(s, user_id)}


def _rules(console: Console, user_id: int) -> list[tuple[str, int, int]]:
    with console.db.reader() as s:
        return sorted((r.urgency, r.contact_method_id, r.delay_seconds) for r in contacts.rules(s, user_id))


def _post(console: Console, path: str, **data: str) -> tuple[int, str, str]:
    r = console.client.post(path, data={"csrf": console.csrf(), **data}, follow_redirects=False)
    return r.status_code, r.headers.get("location", ""), r.text


def test_someone_adds_edits_and_deletes_their_own_contact_method_from_me(console: Console, ids: dict[str, int]) -> None:
    console.login("bob@example.com")
    me = console.client.get("/me").text
    assert f'href="/people/{ids["bob"]}/contact-methods/new"' in me
    assert HOOK in me, "the owner sees the whole webhook URL"

    status, location, _ = _post(
        console, f"/people/{ids['bob']}/contact-methods/new", name="pager mail", type="email", address="pager@x.io"
    )
    assert (status, location) == (303, "/me?notice=Contact+method+pager+mail+added")
    assert _methods(console, ids["bob"])["pager mail"] == ("email", "pager@x.io", True, False)
    status, _, _ = _post(
        console,
        f"/people/{ids['bob']}/contact-methods/new",
        name="signed hook",
        type="webhook",
        address="https://hooks.example.com/in",
        secret="whsec_c2VjcmV0",
    )
    assert status == 303
    with console.db.reader() as s:
        [signed] = [m for m in contacts.contact_methods(s, ids["bob"]) if m.name == "signed hook"]
        assert signed.secret == "whsec_c2VjcmV0"

    new_id = next(m.id for m in _all(console, ids["bob"]) if m.name == "pager mail")
    status, location, _ = _post(
        console,
        f"/people/{ids['bob']}/contact-methods/{new_id}",
        name="night mail",
        address="night@x.io",
        disabled="on",
    )
    assert status == 303
    assert _methods(console, ids["bob"])["night mail"] == ("email", "night@x.io", True, True)

    page = f"/people/{ids['bob']}/contact-methods/{new_id}"
    r = console.client.post(
        f"{page}/delete", data={"csrf": console.csrf(page), "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "night mail" not in _methods(console, ids["bob"])


def _all(console: Console, user_id: int) -> list[ContactMethod]:
    with console.db.reader() as s:
        return list(contacts.contact_methods(s, user_id))


def test_bad_contact_method_fields_are_shown_beside_them(console: Console, ids: dict[str, int]) -> None:
    console.login("bob@example.com")
    new = f"/people/{ids['bob']}/contact-methods/new"
    status, _, page = _post(console, new, name="typo", type="email", address="not-an-address", secret="whsec_c2VjcmV0")
    assert status == 422
    assert 'id="address-error">' + str(escape("not an email address: 'not-an-address'")) in page
    assert 'value="not-an-address"' in page

    assert "c2VjcmV0" not in page, "the secret is not written back"

    status, _, page = _post(console, new, name="x", type="email", address="")
    assert status == 422
    assert 'id="address-error">String should have at least 1 character' in page

    status, _, page = _post(console, new, name="x", type="pigeon", address="roof")
    assert status == 422
    assert 'id="type-error">contact method type must be one of' in page

    edit = f"/people/{ids['bob']}/contact-methods/{ids['hook']}"
    status, _, page = _post(console, edit, name="team hook", address="ftp://nope")
    assert status == 422
    assert 'id="address-error">a webhook contact method needs an http(s) URL' in page
    assert _methods(console, ids["bob"])["team hook"] == ("webhook", HOOK, True, False)
    assert set(_methods(console, ids["bob"])) == {"work mail", "team hook"}


def test_others_are_refused_and_see_capability_urls_masked(console: Console, ids: dict[str, int]) -> None:
    console.login("olga@example.com")
    page = console.client.get(f"/people/{ids['bob']}").text
    assert HOOK not in page
    assert "***1234" in page
    assert "bob@x.io" in page
    assert f'/contact-methods/{ids["mail"]}"' not in page
    for path, data in (
        (f"/people/{ids['bob']}/contact-methods/new", {"type": "email", "address": "olga@x.io"}),
        (f"/people/{ids['bob']}/contact-methods/{ids['mail']}", {"name": "mine", "address": "olga@x.io"}),
        (f"/people/{ids['bob']}/contact-methods/{ids['mail']}/delete", {"confirm": "yes"}),
        (f"/people/{ids['bob']}/notification-rules/new", {"urgency": "low", "contact_method_id": str(ids["mail"])}),
        (f"/people/{ids['bob']}/notification-rules/{ids['rule']}/delete", {}),
    ):
        r = console.client.post(path, data={"csrf": console.csrf(), **data})
        assert r.status_code == 403, path
    assert console.client.get(f"/people/{ids['bob']}/contact-methods/{ids['mail']}").status_code == 403
    assert set(_methods(console, ids["bob"])) == {"work mail", "team hook"}
    assert _rules(console, ids["bob"]) == [("high", ids["mail"], 0)]

    console.login()
    page = console.client.get(f"/people/{ids['bob']}").text
    assert HOOK in page, "admins see the whole URL"
    status, _, _ = _post(
        console, f"/people/{ids['bob']}/contact-methods/{ids['mail']}", name="work mail", address="bob@y.io"
    )
    assert status == 303
    assert _methods(console, ids["bob"])["work mail"][1] == "bob@y.io"


def test_contact_method_forms_need_the_csrf_token(console: Console, ids: dict[str, int]) -> None:
    console.login("bob@example.com")
    base = f"/people/{ids['bob']}"
    for path in (f"{base}/contact-methods/new", f"{base}/contact-methods/{ids['mail']}/delete"):
        r = console.client.post(path, data={"type": "email", "address": "x@y.z", "confirm": "yes"})
        assert r.status_code == 403
        assert "Reload the page" in r.text
    assert set(_methods(console, ids["bob"])) == {"work mail", "team hook"}


def test_a_paged_contact_method_is_not_deleted_and_can_be_disabled(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        contacts.send_test(s, ids["mail"], now=console.clock.now())
    console.login("bob@example.com")
    page = f"/people/{ids['bob']}/contact-methods/{ids['mail']}"
    status, _, text = _post(console, f"{page}/delete", confirm="yes")
    assert status == 409
    assert str(escape("contact method 'work mail' was paged 1 time(s)")) in text
    assert f'action="{page}/disable"' in text
    assert _methods(console, ids["bob"])["work mail"][3] is False

    status, location, _ = _post(console, f"{page}/disable")
    assert (status, location.split("?")[0]) == (303, "/me")
    assert _methods(console, ids["bob"])["work mail"] == ("email", "bob@x.io", True, True)


def _code_sent(console: Console, method_id: int) -> str:
    with console.db.reader() as s:
        sent = [n for n in s.query(Notification).filter_by(contact_method_id=method_id, kind="verify")]
        # The text with the code is kept encrypted until it is sent (ADR 0017).
        text = keyring_of(s).open(str(sent[-1].payload["text"]))
    match = re.search(r"code is (\d{6})", text)
    assert match
    return match.group(1)


def test_a_self_set_phone_number_is_confirmed_with_the_code(console: Console, ids: dict[str, int]) -> None:
    console.login("bob@example.com")
    status, location, _ = _post(
        console, f"/people/{ids['bob']}/contact-methods/new", name="mobile", type="sms", address="+15551234567"
    )
    assert status == 303
    assert _methods(console, ids["bob"])["mobile"] == ("sms", "+15551234567", False, False)
    page = location.split("?")[0]
    form = console.client.get(location).text
    assert f'action="{page}/verify"' in form
    assert f'action="{page}/verify/confirm"' in form

    status, _, _ = _post(console, f"{page}/verify")
    assert status == 303
    code = _code_sent(console, int(page.rsplit("/", 1)[1]))
    wrong = "000000" if code != "000000" else "111111"
    status, _, text = _post(console, f"{page}/verify/confirm", code=wrong)
    assert status == 422
    assert 'id="code-error">wrong code (4 tries left)' in text
    status, _, text = _post(console, f"{page}/verify/confirm", code="12")
    assert status == 422
    assert 'id="code-error">String should have at least 4 characters' in text
    assert _methods(console, ids["bob"])["mobile"][2] is False

    status, location, _ = _post(console, f"{page}/verify/confirm", code=code)
    assert (status, location.split("?")[0]) == (303, "/me")
    assert _methods(console, ids["bob"])["mobile"][2] is True


def test_an_admin_set_phone_number_is_verified_at_once(console: Console, ids: dict[str, int]) -> None:
    console.login()
    status, location, _ = _post(
        console, f"/people/{ids['bob']}/contact-methods/new", name="mobile", type="voice", address="+15557654321"
    )
    assert (status, location.split("?")[0]) == (303, f"/people/{ids['bob']}")
    assert _methods(console, ids["bob"])["mobile"] == ("voice", "+15557654321", True, False)


def test_notification_rules_are_added_edited_and_deleted(console: Console, ids: dict[str, int]) -> None:
    console.login("bob@example.com")
    base = f"/people/{ids['bob']}/notification-rules"
    status, _, _ = _post(console, f"{base}/new", urgency="low", contact_method_id=str(ids["hook"]), delay="5m")
    assert status == 303
    assert _rules(console, ids["bob"]) == [("high", ids["mail"], 0), ("low", ids["hook"], 300)]

    assert 'value="0"' in console.client.get(f"{base}/{ids['rule']}").text
    status, _, _ = _post(
        console, f"{base}/{ids['rule']}", urgency="high", contact_method_id=str(ids["hook"]), delay="90"
    )
    assert status == 303
    assert ("high", ids["hook"], 90) in _rules(console, ids["bob"])

    status, _, _ = _post(console, f"{base}/{ids['rule']}/delete")
    assert status == 303
    assert _rules(console, ids["bob"]) == [("low", ids["hook"], 300)]


def test_bad_rule_fields_are_shown_beside_them(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        alice = users.get_user(s, "alice@example.com")
        theirs = contacts.add_contact_method(
            s, user_id=alice.id, type="email", name="a", address="a@x.io", now=console.clock.now()
        )
        theirs_id = theirs.id
    console.login("bob@example.com")
    base = f"/people/{ids['bob']}/notification-rules"
    status, _, page = _post(console, f"{base}/new", urgency="high", contact_method_id=str(ids["mail"]), delay="soon")
    assert status == 422
    assert 'id="delay-error">not a duration' in page
    assert 'value="soon"' in page

    status, _, page = _post(console, f"{base}/new", urgency="urgent", contact_method_id=str(ids["mail"]), delay="0")
    assert status == 422
    assert 'id="urgency-error">Input should be &#39;high&#39; or &#39;low&#39;' in page

    status, _, page = _post(
        console, f"{base}/{ids['rule']}", urgency="high", contact_method_id=str(theirs_id), delay="0"
    )
    assert status == 422
    assert f'id="contact_method_id-error">contact method {theirs_id} does not belong to user {ids["bob"]}' in page
    assert _rules(console, ids["bob"]) == [("high", ids["mail"], 0)]


def test_a_phone_number_changed_by_its_owner_is_confirmed_again(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        phone = contacts.add_contact_method(
            s, user_id=ids["bob"], name="mobile", type="sms", address="+15551234567", now=console.clock.now()
        )
        page = f"/people/{ids['bob']}/contact-methods/{phone.id}"
    console.login()
    status, _, _ = _post(console, page, name="mobile", address="+15550000001")
    assert status == 303
    assert _methods(console, ids["bob"])["mobile"] == ("sms", "+15550000001", True, False), "an admin's is proven"

    console.login("bob@example.com")
    status, location, _ = _post(console, page, name="mobile", address="+15550000002")
    assert (status, location.split("?")[0]) == (303, page)
    assert _methods(console, ids["bob"])["mobile"] == ("sms", "+15550000002", False, False)
    assert f'action="{page}/verify"' in console.client.get(location).text
