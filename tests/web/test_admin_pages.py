"""The console's archive, deactivate and delete buttons through the real app, on both databases."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Console
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.users import service as users


def _post(console: Console, path: str, page: str, **data: str) -> tuple[int, str]:
    r = console.client.post(path, data={"csrf": console.csrf(page), **data}, follow_redirects=False)
    return r.status_code, r.headers.get("location", "")


def test_a_service_is_archived_only_when_confirmed_and_keeps_its_incidents(console: Console) -> None:
    console.login()
    console.trigger("disk full")
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id

    status, location = _post(console, f"/services/{service_id}/archive", f"/services/{service_id}")
    assert (status, "Tick+the+box" in location) == (303, True)
    status, location = _post(console, f"/services/{service_id}/archive", f"/services/{service_id}", confirm="yes")
    assert status == 303
    assert "open+incidents" in location, "refused while #1 is open"
    assert "#1" in console.client.get(location).text

    console.client.post("/incidents/1", data={"action": "resolve", "csrf": console.csrf("/incidents/1")})
    status, location = _post(console, f"/services/{service_id}/archive", f"/services/{service_id}", confirm="yes")
    assert "notice=Archived" in location
    assert f'/services/{service_id}"' not in console.client.get("/services").text
    assert "disk full" in console.client.get("/incidents/1").text
    page = console.client.get(f"/services/{service_id}").text
    assert "Restore" in page
    assert f'href="/services/{service_id}"' in console.client.get("/archive").text
    body = {
        "routing_key": console.key,
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"},
    }
    assert console.client.post("/v2/enqueue", json=body).status_code == 404

    status, location = _post(console, f"/services/{service_id}/delete", f"/services/{service_id}", confirm="yes")
    assert "archive+it+instead" in location


def test_deactivating_someone_shows_the_gap_and_ends_their_live_session(console: Console, password_hash: str) -> None:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        bob = users.create_user(s, email="bob@example.com", name="Bob", now=now, password_hash=password_hash)
        schedule = oncall.create_schedule(s, name="primary", timezone="UTC", now=now)
        spec = oncall.layer_spec(s, rotation="daily", start=now - timedelta(days=1), users=[bob.id])
        oncall.set_layers(s, schedule, [spec])
        bob_id, schedule_id = bob.id, schedule.id

    browser = TestClient(console.client.app, base_url="http://tocsin.test")
    r = browser.post("/login", data={"email": "bob@example.com", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    assert browser.get("/incidents", follow_redirects=False).status_code == 200

    console.login()
    page = console.client.get(f"/people/{bob_id}/deactivate").text
    assert "primary" in page
    assert "nobody on call" in page
    status, location = _post(console, f"/people/{bob_id}/deactivate", f"/people/{bob_id}/deactivate", confirm="yes")
    assert (status, location) == (
        303,
        f"/people/{bob_id}?notice=Deactivated+bob%40example.com.+1+schedule%28s%29+now+have+gaps.",
    )

    # Bob's open browser is signed out on its next request, and he cannot sign in again.
    assert browser.get("/incidents", follow_redirects=False).headers["location"].startswith("/login")
    assert browser.post("/login", data={"email": "bob@example.com", "password": PASSWORD}).status_code == 401
    assert "Gaps: nobody is on call" in console.client.get(f"/schedules/{schedule_id}").text


def test_the_last_admin_cannot_deactivate_herself_in_the_console(console: Console) -> None:
    console.login()
    with console.db.reader() as s:
        alice_id = users.get_user(s, "alice@example.com").id
    page = console.client.get(f"/people/{alice_id}/deactivate").text
    assert "last active admin" in page
    _status, location = _post(
        console, f"/people/{alice_id}/deactivate", f"/people/{alice_id}/deactivate", confirm="yes"
    )
    assert "last+active+admin" in location
    with console.db.reader() as s:
        assert users.get_user(s, alice_id).deactivated_at is None


def test_observers_get_no_buttons_and_are_refused(console: Console) -> None:
    console.login("olga@example.com")
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
    assert "Archive" not in console.client.get(f"/services/{service_id}").text
    r = console.client.post(
        f"/services/{service_id}/archive", data={"csrf": console.csrf(), "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 403
