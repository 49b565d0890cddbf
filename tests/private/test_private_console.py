"""Private incidents in the console (ADR 0022), on SQLite and PostgreSQL: declared private from the form, missing
from an outsider's list and counts, its page and its forms not found for them, the "Who sees this" card for those
who take part, and the live stream's change ids filtered per person."""

from __future__ import annotations

import re

from tests.web.conftest import Console
from tocsin.incidents import service as incidents
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web import live
from tocsin.web.auth import WebUser


def _people(console: Console) -> None:
    """Max and Olly are responders of no team (the service has none); Sue is in team sec."""
    with console.db.unit_of_work() as s:
        hashed = users.get_user(s, "alice@example.com").password_hash
        for email in ("max@example.com", "olly@example.com", "sue@example.com"):
            user = users.create_user(
                s, email=email, name=email.split("@")[0], role="responder", now=console.clock.now()
            )
            user.password_hash = hashed
        sec = teams.create_team(s, name="sec", now=console.clock.now())
        teams.set_member(s, sec, users.get_user(s, "sue@example.com"))


def _declare_private(console: Console, title: str) -> int:
    console.login("max@example.com")
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
        sec_id = teams.get_team(s, "sec").id
    r = console.client.post(
        "/incidents/new",
        data={
            "csrf": console.csrf("/incidents/new"),
            "service_id": str(service_id),
            "title": title,
            "severity": "SEV2",
            "private": "on",
            "private_team": str(sec_id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    number = int(r.headers["location"].split("/incidents/")[1].split("?")[0])
    with console.db.reader() as s:
        found = incidents.get(s, f"#{number}")
        assert found.private
        assert found.private_team_id == sec_id
    return number


def test_the_declare_form_has_the_private_checkbox(console: Console) -> None:
    _people(console)
    console.login("max@example.com")
    page = console.client.get("/incidents/new").text
    assert 'name="private"' in page
    assert 'type="checkbox"' in page
    assert 'name="private_team"' in page


def test_an_outsider_neither_lists_nor_opens_it(console: Console) -> None:
    _people(console)
    console.trigger("disk full on db1")
    number = _declare_private(console, "leaked signing key")
    # Max (who declared it) lists it and opens it, with its card.
    listing = console.client.get("/incidents?status=all").text
    assert "leaked signing key" in listing
    assert "Private" in listing
    page = console.client.get(f"/incidents/{number}")
    assert page.status_code == 200
    assert "Who sees this" in page.text
    assert "team <strong>sec</strong>" in page.text
    for email, sees in (("olly@example.com", False), ("sue@example.com", True), ("alice@example.com", True)):
        console.client.cookies.clear()
        console.login(email)
        listing = console.client.get("/incidents?status=all").text
        assert ("leaked signing key" in listing) is sees, email
        assert "disk full on db1" in listing
        rows = console.client.get("/incidents?status=all&partial=rows&q=leaked").text
        assert ("leaked signing key" in rows) is sees
        page = console.client.get(f"/incidents/{number}")
        assert page.status_code == (200 if sees else 404), email
        if not sees:
            assert "leaked signing key" not in page.text
            unknown = console.client.get("/incidents/99999")
            assert re.sub(r"#\d+", "#N", page.text) == re.sub(r"#\d+", "#N", unknown.text)
            for partial in ("timeline", "header"):
                assert console.client.get(f"/incidents/{number}?partial={partial}").status_code == 404
        services_page = console.client.get("/services").text
        assert services_page.count("checkout-api") >= 1


def test_an_outsiders_forms_are_not_found_and_change_nothing(console: Console) -> None:
    _people(console)
    number = _declare_private(console, "leaked signing key")
    console.client.cookies.clear()
    console.login("olly@example.com")
    csrf = console.csrf()
    with console.db.reader() as s:
        before = len(incidents.timeline(s, incidents.get(s, f"#{number}").id))
    r = console.client.post(f"/incidents/{number}", data={"csrf": csrf, "action": "acknowledge"})
    assert r.status_code == 404
    r = console.client.post(
        f"/incidents/{number}/private", data={"csrf": csrf, "action": "participant_add", "user": "3"}
    )
    assert r.status_code == 404
    with console.db.reader() as s:
        found = incidents.get(s, f"#{number}")
        r = console.client.post(
            "/incidents/bulk",
            data={"csrf": csrf, "action": "acknowledge", "incident": str(found.id)},
            follow_redirects=False,
        )
    assert r.status_code == 303
    assert "notice=0+acknowledged" in r.headers["location"], r.headers["location"]
    with console.db.reader() as s:
        after = incidents.get(s, f"#{number}")
        assert after.status == "triggered"
        assert len(incidents.timeline(s, after.id)) == before


def test_the_card_adds_a_participant_and_makes_it_public_with_a_reason(console: Console) -> None:
    _people(console)
    number = _declare_private(console, "leaked signing key")
    with console.db.reader() as s:
        olly = users.get_user(s, "olly@example.com").id
    csrf = console.csrf(f"/incidents/{number}")
    r = console.client.post(
        f"/incidents/{number}/private",
        data={"csrf": csrf, "action": "participant_add", "user": str(olly)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Participant+added" in r.headers["location"]
    # Making it public without a reason is refused, shown on the page, and changes nothing.
    r = console.client.post(
        f"/incidents/{number}/private",
        data={"csrf": csrf, "action": "visibility", "reason": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "error=" in r.headers["location"]
    r = console.client.post(
        f"/incidents/{number}/private",
        data={"csrf": csrf, "action": "visibility", "reason": "nothing secret after all"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Now+public" in r.headers["location"]
    with console.db.reader() as s:
        found = incidents.get(s, f"#{number}")
        assert not found.private
        assert found.private_team_id is None
        kinds = [str(e.kind) for e in incidents.timeline(s, found.id)]
    assert kinds.count("visibility_changed") == 1
    assert "participant_added" in kinds
    console.client.cookies.clear()
    console.login("olly@example.com")
    assert console.client.get(f"/incidents/{number}").status_code == 200


def test_the_live_stream_announces_changes_only_to_those_who_read_them(console: Console) -> None:
    _people(console)
    console.trigger("disk full on db1")
    number = _declare_private(console, "leaked signing key")
    runtime = console.client.app.state.runtime  # type: ignore[attr-defined]
    with console.db.reader() as s:
        private_id = incidents.get(s, f"#{number}").id
        public_id = next(i for i in incidents.changed_since(s, 0) if i != private_id)
        people = {e: users.get_user(s, e) for e in ("olly@example.com", "sue@example.com", "max@example.com")}
    changed = [public_id, private_id]
    for email, expected in (
        ("olly@example.com", [public_id]),
        ("sue@example.com", [public_id, private_id]),
        ("max@example.com", [public_id, private_id]),
    ):
        who = WebUser(user=people[email], token="", csrf="")
        assert live._readable(runtime, who, changed) == sorted(expected), email
