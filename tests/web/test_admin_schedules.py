"""Schedules and their layers administered from the console, through the real app and database."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.web.conftest import Console
from tocsin.oncall import service as oncall
from tocsin.users import service as users


@pytest.fixture
def ids(console: Console) -> dict[str, int]:
    with console.db.unit_of_work() as s:
        bob = users.create_user(s, email="bob@example.com", name="Bob", now=console.clock.now())
        return {"alice": users.get_user(s, "alice@example.com").id, "bob": bob.id}


def _layers(console: Console, name: str) -> list[tuple[str, str, datetime, list[int], int | None, list[dict]]]:
    with console.db.reader() as s:
        schedule = oncall.get_schedule(s, name)
        return [
            (x.name, x.rotation, x.start.astimezone(UTC), x.user_ids, x.shift_length_seconds, x.restrictions)
            for x in oncall.layers(s, schedule)
        ]


def test_admin_creates_a_schedule_with_a_layer_in_its_time_zone(console: Console, ids: dict[str, int]) -> None:
    console.login()
    assert 'href="/schedules/new"' in console.client.get("/oncall").text
    r = console.client.post(
        "/schedules/new",
        data={
            "csrf": console.csrf("/schedules/new"),
            "name": "Primary",
            "timezone": "Europe/Berlin",
            "layers.0.name": "business hours",
            "layers.0.rotation": "weekly",
            "layers.0.start": "2026-11-30T09:00",
            "layers.0.users": "bob@example.com\nalice@example.com",
            "layers.0.restrictions.0.start": "09:00",
            "layers.0.restrictions.0.end": "17:00",
            "layers.0.restrictions.0.days": ["0", "1", "2", "3", "4"],
            "layers.0.restrictions.1.start": "",
            "layers.0.restrictions.1.end": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        schedule = oncall.get_schedule(s, "Primary")
    assert schedule.timezone == "Europe/Berlin"
    assert r.headers["location"].startswith(f"/schedules/{schedule.id}?")
    assert _layers(console, "Primary") == [
        (
            "business hours",
            "weekly",
            datetime(2026, 11, 30, 8, 0, tzinfo=UTC),  # 09:00 in Berlin
            [ids["bob"], ids["alice"]],
            None,
            [{"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}],
        )
    ]


def test_a_schedule_without_layers_and_bad_input_in_the_apis_words(console: Console, ids: dict[str, int]) -> None:
    console.login()
    csrf = console.csrf("/schedules/new")
    r = console.client.post(
        "/schedules/new",
        data={
            "csrf": csrf,
            "name": "Primary",
            "layers.0.rotation": "monthly",
            "layers.0.start": "tomorrow",
            "layers.0.users": "bob@example.com",
        },
    )
    assert r.status_code == 422
    assert (
        "layers.0.rotation: Input should be &#39;daily&#39;, &#39;weekly&#39;, &#39;hourly&#39; or &#39;custom&#39;"
        in r.text
    )
    assert re.search(r'id="layers-0-start-error">Input should be a valid datetime', r.text)
    assert 'value="tomorrow"' in r.text
    assert ">bob@example.com</textarea>" in r.text
    r = console.client.post(
        "/schedules/new",
        data={
            "csrf": csrf,
            "name": "Primary",
            "layers.0.rotation": "daily",
            "layers.0.start": "2026-11-30T09:00",
            "layers.0.users": "nobody@example.com",
        },
    )
    assert r.status_code == 422
    assert re.search(r'id="layers-0-users-error">user nobody@example.com not found', r.text)
    r = console.client.post("/schedules/new", data={"csrf": csrf, "name": "Primary", "timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert "unknown time zone &#39;Mars/Olympus&#39;" in r.text
    with console.db.reader() as s:
        assert oncall.list_schedules(s) == []
    r = console.client.post(
        "/schedules/new", data={"csrf": csrf, "name": "Empty", "timezone": "UTC"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert _layers(console, "Empty") == []


def test_layers_are_edited_added_and_removed(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        schedule = oncall.create_schedule(s, name="Primary", timezone="Europe/Berlin", now=console.clock.now())
        oncall.set_layers(
            s,
            schedule,
            [
                {
                    "name": "daily",
                    "rotation": "daily",
                    "start": datetime(2026, 11, 1, 8, tzinfo=UTC),
                    "users": [ids["alice"]],
                }
            ],
        )
        schedule_id = schedule.id
    console.login()
    path = f"/schedules/{schedule_id}/layers"
    page = console.client.get(path).text
    assert 'value="2026-11-01T09:00"' in page  # shown in the schedule's zone
    assert ">alice@example.com</textarea>" in page
    csrf = console.csrf(path)
    first = {
        "layers.0.name": "daily",
        "layers.0.rotation": "hourly",
        "layers.0.start": "2026-11-01T09:00",
        "layers.0.users": "alice@example.com",
    }
    r = console.client.post(path, data={"csrf": csrf, **first})
    assert r.status_code == 422
    assert "layer 1: a hourly rotation needs a shift length" in r.text
    spare = {
        "layers.1.name": "nights",
        "layers.1.rotation": "custom",
        "layers.1.shift_length": "12h",
        "layers.1.start": "2026-11-01T21:00",
        "layers.1.users": "bob@example.com, alice@example.com",
    }
    r = console.client.post(
        path, data={"csrf": csrf, **first, "layers.0.shift_length": "8h", **spare}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    layers = _layers(console, "Primary")
    assert [(x[0], x[1], x[3], x[4]) for x in layers] == [
        ("daily", "hourly", [ids["alice"]], 8 * 3600),
        ("nights", "custom", [ids["bob"], ids["alice"]], 12 * 3600),
    ]
    assert 'form="delete-layer-2">Remove layer 2 (nights)' in console.client.get(path).text
    r = console.client.post(f"{path}/1/delete", data={"csrf": csrf, "name": "daily"})
    assert "Layer daily removed" in r.text
    assert [x[0] for x in _layers(console, "Primary")] == ["nights"]
    # The same button on a page from before: layer 1 is now another one, and it stays.
    stale = console.client.post(f"{path}/1/delete", data={"csrf": csrf, "name": "daily"})
    assert stale.status_code == 409
    assert "layer 1 is now &#39;nights&#39;, not &#39;daily&#39;" in stale.text
    assert console.client.post(f"{path}/2/delete", data={"csrf": csrf, "name": "nights"}).status_code == 404
    assert [x[0] for x in _layers(console, "Primary")] == ["nights"]


def test_observers_and_responders_get_403_and_csrf_is_checked(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        users.update_user(s, users.get_user(s, ids["bob"]), role="responder")
        users.get_user(s, ids["bob"]).password_hash = users.get_user(s, "alice@example.com").password_hash
        schedule = oncall.create_schedule(s, name="Primary", timezone="UTC", now=console.clock.now())
        oncall.set_layers(
            s, schedule, [{"rotation": "daily", "start": datetime(2026, 11, 1, tzinfo=UTC), "users": [ids["alice"]]}]
        )
        schedule_id = schedule.id
    posts = [
        ("/schedules/new", {"name": "Sneaky"}),
        (f"/schedules/{schedule_id}/layers", {}),
        (f"/schedules/{schedule_id}/layers/1/delete", {"name": "layer 1"}),
    ]
    for email in ("olga@example.com", "bob@example.com"):
        console.client.cookies.clear()
        console.login(email)
        csrf = console.csrf()
        assert console.client.get("/schedules/new").status_code == 403
        assert console.client.get(f"/schedules/{schedule_id}/layers").status_code == 403
        for path, data in posts:
            r = console.client.post(path, data={"csrf": csrf, **data})
            assert r.status_code == 403, (email, path)
            assert "Only admins can change schedules" in r.text
    console.client.cookies.clear()
    console.login()
    for path, data in posts:
        assert console.client.post(path, data=data).status_code == 403, path
    with console.db.reader() as s:
        assert [x.name for x in oncall.list_schedules(s)] == ["Primary"]
        assert len(oncall.layers(s, oncall.get_schedule(s, schedule_id))) == 1
