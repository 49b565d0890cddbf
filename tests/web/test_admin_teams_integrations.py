"""Deleting a team and archiving an integration from the console, through the real app, on both databases."""

from __future__ import annotations

import pytest

from tests.web.conftest import Console
from tocsin.core.errors import NotFound
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users


def _team(console: Console) -> int:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        team = teams.create_team(s, name="Payments", now=now)
        teams.set_member(s, team, users.get_user(s, "alice@example.com"))
        service = services.get_service(s, "checkout-api")
        service.team_id = team.id
        return team.id


def test_an_admin_deletes_a_team_only_when_confirmed_and_its_service_stays(console: Console) -> None:
    team_id = _team(console)
    console.login()
    page = f"/teams/{team_id}"

    r = console.client.post(f"{page}/delete", data={"csrf": console.csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Tick the box to confirm" in console.client.get(r.headers["location"]).text
    with console.db.reader() as s:
        assert teams.get_team(s, team_id).name == "Payments"

    r = console.client.post(
        f"{page}/delete", data={"csrf": console.csrf(page), "confirm": "yes"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/teams?notice=Deleted+team+Payments.")
    assert "Deleted team Payments." in console.client.get(r.headers["location"]).text
    with console.db.reader() as s:
        with pytest.raises(NotFound):
            teams.get_team(s, team_id)
        assert services.get_service(s, "checkout-api").team_id is None

    r = console.client.post(f"{page}/delete", data={"csrf": console.csrf(), "confirm": "yes"})
    assert r.status_code == 404


def test_deleting_a_team_needs_an_admin_and_the_csrf_token(console: Console) -> None:
    team_id = _team(console)
    console.login()
    r = console.client.post(f"/teams/{team_id}/delete", data={"confirm": "yes"})
    assert r.status_code == 403
    assert "Reload the page" in r.text

    console.login("olga@example.com")
    assert "Delete team" not in console.client.get(f"/teams/{team_id}").text
    r = console.client.post(f"/teams/{team_id}/delete", data={"csrf": console.csrf(), "confirm": "yes"})
    assert r.status_code == 403
    with console.db.reader() as s:
        assert teams.get_team(s, team_id).name == "Payments"


def test_an_admin_archives_and_restores_an_integration(console: Console) -> None:
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
        integration_id = services.list_integrations(s, service_id)[0].id
    console.login()
    page = f"/services/{service_id}"
    base = f"{page}/integrations/{integration_id}"
    assert f'action="{base}/archive"' in console.client.get(page).text

    r = console.client.post(f"{base}/archive", data={"csrf": console.csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert "archived: its key no longer takes events" in console.client.get(r.headers["location"]).text
    event = {
        "routing_key": console.key,
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"},
    }
    assert console.client.post("/v2/enqueue", json=event).status_code == 404
    with console.db.reader() as s:
        assert services.list_integrations(s, service_id) == []
    shown = console.client.get(page).text
    assert f'action="{base}/unarchive"' in shown

    r = console.client.post(f"{base}/unarchive", data={"csrf": console.csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    with console.db.reader() as s:
        assert [i.id for i in services.list_integrations(s, service_id)] == [integration_id]
    assert console.client.post("/v2/enqueue", json=event).status_code == 202


def test_archiving_an_integration_needs_an_admin_and_the_csrf_token(console: Console) -> None:
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
        integration_id = services.list_integrations(s, service_id)[0].id
    base = f"/services/{service_id}/integrations/{integration_id}"
    console.login()
    assert console.client.post(f"{base}/archive", data={}).status_code == 403
    missing = f"/services/{service_id}/integrations/999999/archive"
    assert console.client.post(missing, data={"csrf": console.csrf()}).status_code == 404
    console.login("olga@example.com")
    assert console.client.post(f"{base}/archive", data={"csrf": console.csrf()}).status_code == 403
    with console.db.reader() as s:
        assert len(services.list_integrations(s, service_id)) == 1
