"""Users and teams administered from the console, through the real app and database."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from tests.web.conftest import PASSWORD, Console
from tocsin.teams import service as teams
from tocsin.users import service as users


@pytest.fixture
def rita(console: Console) -> int:
    """A responder who can sign in with the common password."""
    with console.db.unit_of_work() as s:
        known = users.get_user(s, "alice@example.com").password_hash
        return users.create_user(
            s, email="rita@example.com", name="Rita", role="responder", now=console.clock.now(), password_hash=known
        ).id


def test_admin_creates_a_user_who_can_then_sign_in(console: Console) -> None:
    console.login()
    assert 'href="/people/new"' in console.client.get("/people").text
    r = console.client.post(
        "/people/new",
        data={
            "csrf": console.csrf("/people/new"),
            "email": "Nina@Example.com",
            "name": "Nina",
            "role": "observer",
            "timezone": "Europe/Paris",
            "password": "a long enough secret",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        nina = users.get_user(s, "nina@example.com")
    assert (nina.name, nina.role, nina.timezone) == ("Nina", "observer", "Europe/Paris")
    assert r.headers["location"].startswith(f"/people/{nina.id}?")
    console.client.cookies.clear()
    console.login("nina@example.com", "a long enough secret")


def test_bad_user_input_is_refused_in_the_apis_words(console: Console) -> None:
    console.login()
    csrf = console.csrf("/people/new")
    r = console.client.post(
        "/people/new", data={"csrf": csrf, "email": "x", "name": "Typed Name", "role": "god", "password": "secret"}
    )
    assert r.status_code == 422
    with console.db.unit_of_work() as s:
        _, token = users.create_token(s, users.get_user(s, "alice@example.com"), name="t", now=console.clock.now())
    api = console.client.post(
        "/api/v1/users",
        json={"email": "x", "name": "Typed Name", "role": "god"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert str(escape(api.json()["detail"])) in r.text  # word for word what the API answers
    assert "email: String should have at least 3 characters" in r.text
    assert re.search(
        r'id="role-error">Input should be &#39;admin&#39;, &#39;responder&#39; or &#39;observer&#39;', r.text
    )
    assert 'value="Typed Name"' in r.text
    assert 'value="secret"' not in r.text  # a password is never sent back
    r = console.client.post("/people/new", data={"csrf": csrf, "email": "c@example.com", "timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert "unknown time zone &#39;Mars/Olympus&#39;" in r.text
    r = console.client.post("/people/new", data={"csrf": csrf, "email": "c@example.com", "password": "short"})
    assert r.status_code == 422
    assert re.search(r'id="password-error">at least 12 characters', r.text)
    r = console.client.post("/people/new", data={"csrf": csrf, "email": "ALICE@example.com"})
    assert r.status_code == 409
    assert "a user with email alice@example.com already exists" in r.text
    with console.db.reader() as s:
        assert len(users.list_users(s)) == 2


def test_admin_edits_name_email_role_and_time_zone(console: Console, rita: int) -> None:
    console.login()
    path = f"/people/{rita}/edit"
    assert 'value="rita@example.com"' in console.client.get(path).text
    form = {"csrf": console.csrf(path), "name": "Rita M", "email": "rita.m@example.com", "role": "admin"}
    r = console.client.post(path, data={**form, "timezone": "Asia/Tokyo"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        user = users.get_user(s, rita)
    assert (user.name, user.email, user.role, user.timezone) == ("Rita M", "rita.m@example.com", "admin", "Asia/Tokyo")
    r = console.client.post(path, data={**form, "timezone": "Nowhere/Else"})
    assert r.status_code == 422
    assert "unknown time zone &#39;Nowhere/Else&#39;" in r.text
    assert 'value="Nowhere/Else"' in r.text
    r = console.client.post(path, data={**form, "timezone": "UTC", "email": "olga@example.com"})
    assert r.status_code == 409
    assert "a user with email olga@example.com already exists" in r.text


def test_the_last_admin_cannot_be_demoted_from_the_console(console: Console) -> None:
    console.login()
    with console.db.reader() as s:
        alice = users.get_user(s, "alice@example.com").id
    path = f"/people/{alice}/edit"
    r = console.client.post(
        path,
        data={
            "csrf": console.csrf(path),
            "name": "Alice",
            "email": "alice@example.com",
            "role": "observer",
            "timezone": "UTC",
        },
    )
    assert r.status_code == 409
    assert "this is the last active admin" in r.text
    with console.db.reader() as s:
        assert users.get_user(s, alice).role == "admin"


def test_teams_are_created_edited_and_staffed(console: Console, rita: int) -> None:
    console.login()
    csrf = console.csrf("/teams/new")
    r = console.client.post(
        "/teams/new", data={"csrf": csrf, "name": "Payments", "description": "money"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        team = teams.get_team(s, "Payments")
    path = f"/teams/{team.id}"
    assert r.headers["location"].startswith(path + "?")
    assert "Payments" in console.client.get("/teams").text
    r = console.client.post(
        path, data={"csrf": csrf, "name": "Billing", "description": "invoices"}, follow_redirects=False
    )
    assert r.status_code == 303
    r = console.client.post(f"{path}/members", data={"csrf": csrf, "user": str(rita), "role": "manager"})
    assert "Rita is a manager of the team" in r.text
    r = console.client.post(f"{path}/members", data={"csrf": csrf, "user": "olga@example.com"})
    assert r.status_code == 200
    with console.db.reader() as s:
        team = teams.get_team(s, team.id)
        assert (team.name, team.description) == ("Billing", "invoices")
        assert [(u.email, role) for u, role in teams.members(s, team)] == [
            ("olga@example.com", "member"),
            ("rita@example.com", "manager"),
        ] or sorted((u.email, role) for u, role in teams.members(s, team)) == [
            ("olga@example.com", "member"),
            ("rita@example.com", "manager"),
        ]
    r = console.client.post(f"{path}/members/{rita}/remove", data={"csrf": csrf})
    assert "Rita left the team" in r.text
    with console.db.reader() as s:
        assert [u.email for u, _ in teams.members(s, teams.get_team(s, team.id))] == ["olga@example.com"]


def test_bad_team_input_is_refused_in_the_apis_words(console: Console, rita: int) -> None:
    console.login()
    csrf = console.csrf("/teams/new")
    r = console.client.post("/teams/new", data={"csrf": csrf, "name": "", "description": "kept"})
    assert r.status_code == 422
    assert re.search(r'id="name-error">String should have at least 1 character', r.text)
    assert ">kept</textarea>" in r.text
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        team_id = teams.create_team(s, name="Payments", now=now).id
        teams.create_team(s, name="Search", now=now)
    path = f"/teams/{team_id}"
    r = console.client.post(path, data={"csrf": csrf, "name": "Search"})
    assert r.status_code == 409
    assert "a team named &#39;Search&#39; already exists" in r.text
    assert 'value="Search"' in r.text
    r = console.client.post(f"{path}/members", data={"csrf": csrf, "user": str(rita), "role": "boss"})
    assert r.status_code == 422
    assert "role: Input should be &#39;manager&#39; or &#39;member&#39;" in r.text
    r = console.client.post(f"{path}/members", data={"csrf": csrf, "user": "999"})
    assert r.status_code == 422
    assert "user 999 not found" in r.text
    assert console.client.get("/teams/999").status_code == 404
    with console.db.reader() as s:
        assert teams.members(s, teams.get_team(s, team_id)) == []


def test_observers_and_responders_get_403_and_csrf_is_checked(console: Console, rita: int) -> None:
    with console.db.unit_of_work() as s:
        team_id = teams.create_team(s, name="Payments", now=console.clock.now()).id
    posts = [
        ("/people/new", {"email": "x@example.com"}),
        (f"/people/{rita}/edit", {"role": "admin", "name": "R", "email": "rita@example.com", "timezone": "UTC"}),
        ("/teams/new", {"name": "Sneaky"}),
        (f"/teams/{team_id}", {"name": "Sneaky"}),
        (f"/teams/{team_id}/members", {"user": str(rita)}),
        (f"/teams/{team_id}/members/{rita}/remove", {}),
    ]
    for email in ("olga@example.com", "rita@example.com"):
        console.client.cookies.clear()
        console.login(email, PASSWORD)
        csrf = console.csrf()
        for get in ("/people/new", f"/people/{rita}/edit", "/teams/new"):
            assert console.client.get(get).status_code == 403, get
        for path, data in posts:
            r = console.client.post(path, data={"csrf": csrf, **data})
            assert r.status_code == 403, (email, path)
            assert "Only admins can change" in r.text
    console.client.cookies.clear()
    console.login()
    for path, data in posts:
        r = console.client.post(path, data=data)
        assert r.status_code == 403, path
        assert "expired or came from another site" in r.text
    with console.db.reader() as s:
        assert users.get_user(s, rita).role == "responder"
        assert [t.name for t in teams.list_teams(s)] == ["Payments"]
        assert teams.members(s, teams.get_team(s, team_id)) == []
