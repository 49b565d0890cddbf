"""Declaring an incident from the console: it opens, pages, and bad input is shown beside its field."""

from __future__ import annotations

import re

from tests.web.conftest import Console
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter


def test_a_responder_declares_an_incident_from_the_console(console: Console) -> None:
    console.login()
    page = console.client.get("/incidents").text
    assert 'href="/incidents/new"' in page
    form = console.client.get("/incidents/new").text
    service_id = re.search(r'<option value="(\d+)">checkout-api</option>', form)
    assert service_id
    csrf = console.csrf("/incidents/new")
    r = console.client.post(
        "/incidents/new",
        data={
            "csrf": csrf,
            "service_id": service_id.group(1),
            "title": "Payments failing in EU",
            "description": "card auth errors",
            "severity": "SEV1",
            "urgency": "",
            "priority": "",
            "phase_model": "nist",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/incidents/1?")
    with console.db.reader() as s:
        declared = incidents.get(s, "#1")
        assert (declared.title, declared.severity, declared.priority) == ("Payments failing in EU", "SEV1", "P1")
        assert declared.phase_model == "nist"
        assert declared.reported_at is not None
        assert declared.status == "triggered"
    assert "Detection &amp; Analysis" in console.client.get("/incidents/1").text


def test_bad_declarations_keep_what_was_typed(console: Console) -> None:
    console.login()
    csrf = console.csrf("/incidents/new")
    r = console.client.post(
        "/incidents/new", data={"csrf": csrf, "service_id": "", "title": "Typed title", "severity": "SEV9"}
    )
    assert r.status_code == 422
    assert 'value="Typed title"' in r.text
    assert 'id="service_id-error"' in r.text
    with console.db.reader() as s:
        assert incidents.list_incidents(s, IncidentFilter())[0] == []


def test_observers_cannot_declare(console: Console) -> None:
    console.login("olga@example.com")
    assert 'href="/incidents/new"' not in console.client.get("/incidents").text
    assert console.client.get("/incidents/new").status_code == 403
