"""Editing a schedule's name, time zone and description, and an override's person and times, from the console,
through the real app, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import escape

from tests.web.conftest import Console
from tocsin.oncall import service as oncall
from tocsin.users import service as users


@pytest.fixture
def ids(console: Console) -> dict[str, int]:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        bob = users.create_user(s, email="bob@example.com", name="Bob", now=now, role="responder")
        alice = users.get_user(s, "alice@example.com")
        schedule = oncall.create_schedule(s, name="Primary", timezone="UTC", now=now)
        oncall.create_schedule(s, name="Secondary", timezone="UTC", now=now)
        override = oncall.add_override(
            s, schedule, user_id=bob.id, start=now + timedelta(hours=1), end=now + timedelta(hours=5), now=now
        )
        return {"alice": alice.id, "bob": bob.id, "schedule": schedule.id, "override": override.id}


def _edit(console: Console, ids: dict[str, int], **data: str) -> tuple[int, str]:
    page = f"/schedules/{ids['schedule']}/edit"
    r = console.client.post(page, data={"csrf": console.csrf(page), **data}, follow_redirects=False)
    return r.status_code, r.text


def test_an_admin_renames_a_schedule_and_changes_its_time_zone(console: Console, ids: dict[str, int]) -> None:
    console.login()
    assert f'href="/schedules/{ids["schedule"]}/edit"' in console.client.get(f"/schedules/{ids['schedule']}").text
    form = console.client.get(f"/schedules/{ids['schedule']}/edit").text
    assert 'value="Primary"' in form

    status, _ = _edit(console, ids, name="Platform primary", timezone="Europe/Berlin", description="Nights too")
    assert status == 303
    with console.db.reader() as s:
        schedule = oncall.get_schedule(s, ids["schedule"])
        assert (schedule.name, schedule.timezone, schedule.description) == (
            "Platform primary",
            "Europe/Berlin",
            "Nights too",
        )
    assert "Nights too" in console.client.get(f"/schedules/{ids['schedule']}").text


def test_bad_schedule_fields_are_shown_beside_them_with_what_was_typed(console: Console, ids: dict[str, int]) -> None:
    console.login()
    status, page = _edit(console, ids, name="Primary", timezone="Mars/Olympus", description="kept")
    assert status == 422
    assert 'id="timezone-error"' in page
    assert str(escape("unknown time zone 'Mars/Olympus'")) in page
    assert 'value="Mars/Olympus"' in page
    assert ">kept</textarea>" in page

    status, page = _edit(console, ids, name="Secondary", timezone="UTC")
    assert status == 409
    assert 'id="name-error"' in page
    assert str(escape("a schedule named 'Secondary' already exists")) in page

    status, page = _edit(console, ids, name="", timezone="UTC")
    assert status == 422
    assert 'id="name-error">String should have at least 1 character' in page
    with console.db.reader() as s:
        schedule = oncall.get_schedule(s, ids["schedule"])
        assert (schedule.name, schedule.timezone, schedule.description) == ("Primary", "UTC", "")


def test_editing_a_schedule_needs_an_admin_and_the_csrf_token(console: Console, ids: dict[str, int]) -> None:
    console.login()
    page = f"/schedules/{ids['schedule']}/edit"
    assert console.client.post(page, data={"name": "X", "timezone": "UTC"}).status_code == 403
    console.login("olga@example.com")
    assert console.client.get(page).status_code == 403
    assert console.client.post(page, data={"csrf": console.csrf(), "name": "X", "timezone": "UTC"}).status_code == 403
    with console.db.reader() as s:
        assert oncall.get_schedule(s, ids["schedule"]).name == "Primary"


def _override_page(ids: dict[str, int]) -> str:
    return f"/schedules/{ids['schedule']}/overrides/{ids['override']}/edit"


def _stored_override(console: Console, ids: dict[str, int]) -> tuple[int, datetime, datetime]:
    with console.db.reader() as s:
        found = [o for o in oncall.overrides(s, oncall.get_schedule(s, ids["schedule"])) if o.id == ids["override"]]
        return found[0].user_id, found[0].start.astimezone(UTC), found[0].end.astimezone(UTC)


def test_a_responder_moves_an_override_to_someone_else_and_other_times(console: Console, ids: dict[str, int]) -> None:
    console.login()
    assert f'href="{_override_page(ids)}"' in console.client.get(f"/schedules/{ids['schedule']}").text
    form = console.client.get(_override_page(ids)).text
    assert 'value="2026-11-02T09:00"' in form
    r = console.client.post(
        _override_page(ids),
        data={
            "csrf": console.csrf(_override_page(ids)),
            "user": str(ids["alice"]),
            "start": "2026-11-03T10:00",
            "end": "2026-11-03T18:30",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _stored_override(console, ids) == (
        ids["alice"],
        datetime(2026, 11, 3, 10, tzinfo=UTC),
        datetime(2026, 11, 3, 18, 30, tzinfo=UTC),
    )


def test_bad_override_fields_are_shown_beside_them(console: Console, ids: dict[str, int]) -> None:
    before = _stored_override(console, ids)
    console.login()

    def post(**data: str) -> tuple[int, str]:
        r = console.client.post(_override_page(ids), data={"csrf": console.csrf(_override_page(ids)), **data})
        return r.status_code, r.text

    status, page = post(user=str(ids["bob"]), start="2026-11-03T10:00", end="2026-11-03T09:00")
    assert status == 422
    assert 'id="end-error">an override must end after it starts' in page
    assert 'value="2026-11-03T09:00"' in page

    status, page = post(user=str(ids["bob"]), start="tomorrow", end="2026-11-03T09:00")
    assert status == 422
    assert 'id="start-error">Input should be a valid datetime' in page

    status, page = post(user="424242", start="2026-11-03T10:00", end="2026-11-03T11:00")
    assert status == 404
    assert 'id="user-error"' in page
    assert "424242" in page
    assert _stored_override(console, ids) == before


def test_editing_an_override_needs_a_responder_and_the_csrf_token(console: Console, ids: dict[str, int]) -> None:
    before = _stored_override(console, ids)
    data = {"user": str(ids["alice"]), "start": "2026-11-03T10:00", "end": "2026-11-03T11:00"}
    console.login()
    assert console.client.post(_override_page(ids), data=data).status_code == 403
    missing = f"/schedules/{ids['schedule']}/overrides/999999/edit"
    assert console.client.get(missing).status_code == 404
    console.login("olga@example.com")
    assert console.client.post(_override_page(ids), data={"csrf": console.csrf(), **data}).status_code == 403
    assert _stored_override(console, ids) == before
