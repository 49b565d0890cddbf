"""The service desk in the console: the report form, the requests list and page with their actions, the incident
page's desk card and the service page's desk settings and public link (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from tests.web.conftest import Console
from tocsin.desk import service as desk
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.services import service as services


def _service_id(console: Console) -> int:
    with console.db.reader() as s:
        return services.get_service(s, "checkout-api").id


def _report(console: Console, **fields: str) -> object:
    body = {
        "csrf": console.csrf("/report"),
        "service_id": str(_service_id(console)),
        "summary": "Need VPN access",
        "kind": "need",
        "impact": "low",
        "urgency": "low",
        **fields,
    }
    return console.client.post("/report", data=body, follow_redirects=False)


def test_an_observer_reports_and_a_responder_works_and_converts_the_request(console: Console) -> None:
    console.login("olga@example.com")
    form = console.client.get("/report")
    assert form.status_code == 200
    assert "checkout-api" in form.text
    sent = _report(console, symptoms="I start today")
    assert sent.status_code == 303, sent.text  # type: ignore[attr-defined]
    landed = console.client.get(sent.headers["location"])  # type: ignore[attr-defined]
    assert "your request is REQ-1" in landed.text
    assert "REQ-1" in console.client.get("/requests").text, "the requester sees their own request"
    page = console.client.get("/requests/1")
    assert page.status_code == 200
    assert "Convert into an incident" not in page.text, "an observer cannot act"
    refused = console.client.post("/requests/1", data={"csrf": console.csrf("/requests/1"), "action": "convert"})
    assert refused.status_code == 403
    bad = console.client.post("/report", data={"csrf": console.csrf("/report"), "service_id": "", "summary": ""})
    assert bad.status_code == 422
    assert "choose a service" in bad.text

    console.client.cookies.clear()
    console.login()
    csrf = console.csrf("/requests/1")
    moved = console.client.post(
        "/requests/1", data={"csrf": csrf, "action": "move", "status": "in_progress"}, follow_redirects=False
    )
    assert moved.status_code == 303
    wrong = console.client.post(
        "/requests/1", data={"csrf": csrf, "action": "move", "status": "new_world"}, follow_redirects=False
    )
    assert "error=" in wrong.headers["location"]
    listed = console.client.get("/requests?status=in_progress").text
    assert "REQ-1" in listed
    assert "REQ-1" not in console.client.get("/requests?status=fulfilled").text
    converted = console.client.post("/requests/1", data={"csrf": csrf, "action": "convert"}, follow_redirects=False)
    assert converted.status_code == 303
    match = re.match(r"/incidents/(\d+)\?", converted.headers["location"])
    assert match is not None
    incident_page = console.client.get(f"/incidents/{match.group(1)}").text
    assert 'href="/requests/1"' in incident_page
    assert "Converted from service request" in incident_page
    request_page = console.client.get("/requests/1").text
    assert f'href="/incidents/{match.group(1)}"' in request_page
    assert "converted" in request_page


def test_an_incident_in_triage_is_handled_as_a_request_from_its_page(console: Console) -> None:
    with console.db.unit_of_work() as s:
        incident = incidents.declare(
            s,
            service_id=_service_id(console),
            title="Order a badge",
            actor=Actor("Alice", "web", 1),
            now=console.clock.now(),
        )
        number = incident.number
    console.login()
    page = console.client.get(f"/incidents/{number}").text
    assert "Handle as a service request" in page
    csrf = console.csrf(f"/incidents/{number}")
    sent = console.client.post(
        f"/incidents/{number}/desk", data={"csrf": csrf, "message": "routine"}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/requests/1?")
    after = console.client.get(f"/incidents/{number}").text
    assert "Converted into service request" in after
    assert "Handle as a service request" not in after
    again = console.client.post(f"/incidents/{number}/desk", data={"csrf": csrf}, follow_redirects=False)
    assert "error=" in again.headers["location"]
    forged = console.client.post(f"/incidents/{number}/desk", data={"csrf": "x"})
    assert forged.status_code == 403


def test_the_service_page_sets_the_desk_mode_and_makes_and_revokes_the_public_link(console: Console) -> None:
    service_id = _service_id(console)
    console.login("olga@example.com")
    csrf = console.csrf(f"/services/{service_id}")
    assert (
        console.client.post(f"/services/{service_id}/desk", data={"csrf": csrf, "action": "rotate"}).status_code == 403
    )
    console.client.cookies.clear()
    console.login()
    page = console.client.get(f"/services/{service_id}").text
    assert "Make a public link" in page
    csrf = console.csrf(f"/services/{service_id}")
    mode = console.client.post(
        f"/services/{service_id}/desk",
        data={"csrf": csrf, "action": "mode", "desk_mode": "incident"},
        follow_redirects=False,
    )
    assert mode.status_code == 303
    with console.db.reader() as s:
        assert desk.settings_of(s, service_id).desk_mode == "incident"
    made = console.client.post(f"/services/{service_id}/desk", data={"csrf": csrf, "action": "rotate"})
    assert made.status_code == 200
    link = re.search(r'value="http://tocsin.test(/report/s/[^"]+)"', made.text)
    assert link is not None
    console.client.cookies.clear()
    public = console.client.get(link.group(1))
    assert public.status_code == 200
    assert "Your email" in public.text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', public.text)
    assert token is not None
    body = {"csrf": token.group(1), "name": "Pat", "email": "pat@example.org", "summary": "Checkout shows 500"}
    sent = console.client.post(link.group(1), data=body, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    assert "incident #1" in console.client.get(sent.headers["location"]).text, (
        "the service makes every report an incident"
    )
    bad_email = console.client.post(link.group(1), data={**body, "email": "not-an-address"})
    assert bad_email.status_code == 422
    assert "not an email address" in bad_email.text
    console.login()
    csrf = console.csrf(f"/services/{service_id}")
    revoked = console.client.post(
        f"/services/{service_id}/desk", data={"csrf": csrf, "action": "revoke"}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert console.client.get(link.group(1)).status_code == 404
