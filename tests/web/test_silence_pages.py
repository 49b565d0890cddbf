"""Silences and maintenance windows managed from the console, through the real app and database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from markupsafe import escape

from tests.web.conftest import Console
from tocsin.alerts import silence_service as silences
from tocsin.users import service as users

MATCHERS = '[{"field": "labels.env", "op": "=", "value": "staging"}]'


def _token(console: Console) -> str:
    with console.db.unit_of_work() as s:
        _, token = users.create_token(s, users.get_user(s, "alice@example.com"), name="t", now=console.clock.now())
    return token


def _add_responder(console: Console) -> None:
    with console.db.unit_of_work() as s:
        users.create_user(s, email="rita@example.com", name="Rita", role="responder", now=console.clock.now())
        users.get_user(s, "rita@example.com").password_hash = users.get_user(s, "alice@example.com").password_hash


def test_a_responder_creates_edits_and_ends_a_silence(console: Console) -> None:
    _add_responder(console)
    console.login("rita@example.com")
    csrf = console.csrf("/silences/new")
    r = console.client.post(
        "/silences/new",
        data={
            "csrf": csrf,
            "name": "db-upgrade",
            "comment": "Upgrading the database",
            "matchers": MATCHERS,
            "service": "checkout-api",
            "ends_at": "2026-11-02T10:00",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        (row,) = silences.list_silences(s, now=console.clock.now())
    assert (row.name, row.comment, row.author) == ("db-upgrade", "Upgrading the database", "rita@example.com")
    assert row.matchers == [{"field": "labels.env", "op": "=", "value": "staging"}]
    assert (row.starts_at, row.ends_at.isoformat()) == (console.clock.now(), "2026-11-02T10:00:00+00:00")

    edit = f"/silences/{row.id}/edit"
    page = console.client.get(edit).text
    assert "Upgrading the database</textarea>" in page
    assert 'value="2026-11-02T10:00:00"' in page
    r = console.client.post(
        edit,
        data={
            "csrf": csrf,
            "comment": "Longer upgrade",
            "matchers": MATCHERS,
            "service": "checkout-api",
            "ends_at": "2026-11-02T12:30",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        service_id = row.service_id
        row = silences.get_silence(s, row.id)
        assert (row.name, row.comment, row.service_id) == ("db-upgrade", "Longer upgrade", service_id)
        assert row.ends_at == datetime(2026, 11, 2, 12, 30, tzinfo=UTC)

    listing = console.client.get("/silences").text
    active = listing.split('id="silences-active"')[1].split('id="silences-upcoming"')[0]
    assert "db-upgrade" in active
    r = console.client.post(f"/silences/{row.id}/end", data={"csrf": csrf})
    assert f"Silence {row.id} ended" in r.text
    with console.db.reader() as s:
        assert silences.get_silence(s, row.id).ends_at == console.clock.now()
        assert silences.list_silences(s, now=console.clock.now()) == []
    ended = console.client.get("/silences").text.split('id="silences-ended"')[1]
    assert "db-upgrade" in ended
    r = console.client.post(f"/silences/{row.id}/end", data={"csrf": csrf})
    assert r.status_code == 422
    assert f"silence {row.id} has already ended" in r.text


def test_a_maintenance_window_is_listed_as_upcoming_between_occurrences(console: Console) -> None:
    console.login()
    r = console.client.post(
        "/silences/new",
        data={
            "csrf": console.csrf("/silences/new"),
            "comment": "Sunday patching",
            "service": "checkout-api",
            "starts_at": "2026-11-01T02:00",
            "recurrence": "FREQ=WEEKLY;BYDAY=SU",
            "duration_seconds": "3600",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    upcoming = console.client.get("/silences").text.split('id="silences-upcoming"')[1].split('id="silences-ended"')[0]
    assert "Sunday patching" in upcoming
    assert "FREQ=WEEKLY;BYDAY=SU" in upcoming


def test_bad_silence_input_gets_the_apis_message_beside_the_field(console: Console) -> None:
    console.login()
    csrf = console.csrf("/silences/new")
    bad = {"comment": "", "matchers": MATCHERS, "ends_at": "2026-11-02T10:00", "duration_seconds": "-5"}
    r = console.client.post("/silences/new", data={"csrf": csrf, **bad})
    assert r.status_code == 422
    api = console.client.post(
        "/api/v1/silences",
        json={
            "comment": "",
            "matchers": [{"field": "labels.env", "value": "staging"}],
            "ends_at": "2026-11-02T10:00",
            "duration_seconds": -5,
        },
        headers={"Authorization": f"Bearer {_token(console)}"},
    )
    assert api.status_code == 422
    assert str(escape(api.json()["detail"])) in r.text
    assert re.search(r'id="comment-error">String should have at least 1 character<', r.text)
    assert re.search(r'id="duration_seconds-error">Input should be greater than 0<', r.text)
    assert 'value="2026-11-02T10:00"' in r.text  # what was typed is kept

    r = console.client.post(
        "/silences/new", data={"csrf": csrf, "comment": "why", "matchers": "[{oops", "ends_at": "2026-11-02T10:00"}
    )
    assert r.status_code == 422
    assert re.search(r'id="matchers-error">not valid JSON', r.text)
    assert "[{oops</textarea>" in r.text
    r = console.client.post(
        "/silences/new",
        data={"csrf": csrf, "comment": "why", "matchers": '[{"field": "nope", "value": "x"}]', "ends_at": "2026-11-03"},
    )
    assert r.status_code == 422
    assert re.search(r'id="matchers-error">silence: unknown field &#39;nope&#39;', r.text)
    r = console.client.post(
        "/silences/new", data={"csrf": csrf, "comment": "why", "matchers": MATCHERS, "ends_at": "2026-11-01T00:00"}
    )
    assert r.status_code == 422
    assert re.search(
        r'id="ends_at-error">the silence would end at 2026-11-01T00:00:00\+00:00, which has passed<', r.text
    )
    with console.db.reader() as s:
        assert silences.list_silences(s, now=console.clock.now(), include_expired=True) == []
    assert console.client.get("/silences/999/edit").status_code == 404


def test_the_banner_names_a_silence_only_while_it_is_active(console: Console) -> None:
    with console.db.unit_of_work() as s:
        silences.create_silence(
            s,
            matchers=[{"field": "labels.env", "op": "=", "value": "staging"}],
            starts_at=console.clock.now() + timedelta(hours=1),
            ends_at=console.clock.now() + timedelta(hours=2),
            author="alice@example.com",
            comment="<b>night</b> work",
            now=console.clock.now(),
        )
    console.login()
    assert "silence-banner" not in console.client.get("/incidents").text
    console.clock.advance(timedelta(hours=1, minutes=5))
    page = console.client.get("/incidents").text
    banner = page.split('class="silence-banner"')[1].split("</aside>")[0]
    assert "&lt;b&gt;night&lt;/b&gt; work" in banner  # untrusted text stays inert
    assert "until 2026-11-02 10:00:00 UTC" in banner
    assert "silence-banner" in console.client.get("/services").text
    console.clock.advance(timedelta(hours=1))
    assert "silence-banner" not in console.client.get("/incidents").text


def test_observers_get_403_and_csrf_is_checked(console: Console) -> None:
    with console.db.unit_of_work() as s:
        row = silences.create_silence(
            s,
            matchers=[{"field": "labels.env", "op": "=", "value": "staging"}],
            starts_at=console.clock.now(),
            ends_at=console.clock.now() + timedelta(hours=2),
            author="alice@example.com",
            comment="kept",
            now=console.clock.now(),
        )
        silence_id = row.id
    posts = [
        ("/silences/new", {"comment": "sneaky", "matchers": MATCHERS, "ends_at": "2026-11-02T10:00"}),
        (f"/silences/{silence_id}/edit", {"comment": "sneaky", "matchers": MATCHERS, "ends_at": "2026-11-02T10:00"}),
        (f"/silences/{silence_id}/end", {}),
    ]
    console.login("olga@example.com")
    csrf = console.csrf()
    assert console.client.get("/silences").status_code == 200
    assert console.client.get("/silences/new").status_code == 403
    for path, data in posts:
        assert console.client.post(path, data={"csrf": csrf, **data}).status_code == 403, path
    console.client.cookies.clear()
    console.login()
    for path, data in posts:
        r = console.client.post(path, data=data)
        assert r.status_code == 403, path
        assert "expired or came from another site" in r.text
    with console.db.reader() as s:
        row = silences.get_silence(s, silence_id)
        assert (row.comment, row.ends_at) == ("kept", console.clock.now() + timedelta(hours=2))
