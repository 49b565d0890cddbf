"""The incident page's Roles and Responders cards, a person's skills and /experts, through the console's forms."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Console
from tocsin.incidents import service as incidents
from tocsin.response import responders, roles
from tocsin.users import service as users
from tocsin.users.passwords import hash_password


def post(console: Console, path: str, page: str, **fields: str) -> str:
    csrf = console.csrf(page)
    r = console.client.post(path, data={"csrf": csrf, **fields}, follow_redirects=True)
    assert r.status_code == 200, r.text
    return r.text


def add_user(console: Console, email: str, name: str, role: str = "responder") -> int:
    with console.db.unit_of_work() as s:
        user = users.create_user(
            s, email=email, name=name, role=role, now=console.clock.now(), password_hash=hash_password(PASSWORD)
        )
        return user.id


def test_roles_are_assigned_handed_over_and_released_from_the_incident_page(console: Console) -> None:
    dana = add_user(console, "dana@example.com", "Dana")
    console.login()
    console.trigger("Checkout latency")
    page = console.client.get("/incidents/1").text
    assert 'id="roles"' in page
    assert "Incident Commander" in page
    page = post(console, "/incidents/1/roles", "/incidents/1", action="assign", role="Incident Commander", user="1")
    assert "Incident Commander given to Alice" in page
    page = post(
        console, "/incidents/1/roles", "/incidents/1", action="assign", role="Incident Commander", user=str(dana)
    )
    assert "Incident Commander given to Dana" in page
    assert "Incident Commander: Alice" in page
    assert "Incident Commander: Dana" in page
    page = post(console, "/incidents/1/roles", "/incidents/1", action="assign", role="Wizard", user=str(dana))
    assert "no incident role &#39;Wizard&#39;" in page
    page = post(console, "/incidents/1/roles", "/incidents/1", action="release", role="Incident Commander")
    assert "Incident Commander released" in page
    with console.db.reader() as s:
        incident = incidents.get(s, "#1")
        assert [h.user_id for h in roles.history(s, incident.id)] == [1, dana]
        assert roles.current_holders(roles.history(s, incident.id)) == {}


def test_responders_are_asked_answered_and_shown_as_engaged(console: Console) -> None:
    dana = add_user(console, "dana@example.com", "Dana")
    console.login()
    console.trigger("Checkout latency")
    page = post(
        console, "/incidents/1/responders", "/incidents/1", action="add", target=f"user:{dana}", message="need you"
    )
    assert "Asked Dana" in page
    assert "“need you”" in page
    page = post(console, "/incidents/1/responders", "/incidents/1", action="add", target="skill:", skill="cobol")
    assert "nobody has skill &#39;cobol&#39;" in page
    with console.db.reader() as s:
        (row,) = responders.requests_on(s, incidents.get(s, "#1").id)
    # Dana answers from her own console.
    console.client.post("/logout", data={"csrf": console.csrf("/incidents/1")})
    console.login("dana@example.com")
    page = post(console, "/incidents/1/responders", "/incidents/1", action="accept", request=str(row.id))
    assert "Request accepted" in page
    assert 'Dana <span class="muted">(responder)</span>' in page
    with console.db.reader() as s:
        (row,) = responders.requests_on(s, incidents.get(s, "#1").id)
    assert (row.status, row.answered_via) == ("accepted", "web")


def test_observers_see_the_cards_without_forms(console: Console) -> None:
    console.trigger("Checkout latency")
    console.login("olga@example.com")
    page = console.client.get("/incidents/1").text
    assert 'id="roles"' in page
    assert 'id="responders"' in page
    assert 'action="/incidents/1/roles"' not in page
    assert 'action="/incidents/1/responders"' not in page
    csrf = console.csrf("/incidents/1")
    r = console.client.post("/incidents/1/responders", data={"csrf": csrf, "action": "add", "target": "user:1"})
    assert r.status_code == 403


def test_skills_on_the_person_page_and_find_an_expert(console: Console) -> None:
    dana = add_user(console, "dana@example.com", "Dana")
    console.login()
    page = post(console, f"/people/{dana}/skills", f"/people/{dana}", skills="postgres, networking")
    assert "Skills saved: networking, postgres" in page
    page = post(console, f"/people/{dana}/skills", f"/people/{dana}", skills="Bad!")
    assert "not a lowercase slug" in page
    page = console.client.get("/experts?skill=postgres").text
    assert "Dana" in page
    assert "<td>no</td><td>0</td>" in page
    assert "Nobody has skill cobol" in console.client.get("/experts?skill=cobol").text
    # Someone else's skills are theirs and the admins' to set.
    console.client.post("/logout", data={"csrf": console.csrf("/incidents")})
    console.login("olga@example.com")
    r = console.client.post(f"/people/{dana}/skills", data={"csrf": console.csrf("/me"), "skills": "x"})
    assert r.status_code == 403
