"""The incident page's type card and the admin page of types, categories and severities (ADR 0021)."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.web.conftest import Console
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.response import types
from tocsin.services import service as services


def act(console: Console, number: int, **fields: str) -> str:
    csrf = console.csrf(f"/incidents/{number}")
    r = console.client.post(f"/incidents/{number}/types", data={"csrf": csrf, **fields}, follow_redirects=True)
    assert r.status_code == 200, r.text
    return r.text


def test_the_type_card_changes_type_category_bridge_major_and_services(console: Console) -> None:
    console.login()
    with console.db.unit_of_work() as s:
        services.create_service(s, name="payments", now=console.clock.now())
    console.trigger("Checkout down")
    page = console.client.get("/incidents/1").text
    assert 'id="type-card"' in page
    assert "Standard (none set)" in page
    # Severities say what they mean where they are chosen.
    assert "SEV1 — Critical" in page

    page = act(console, 1, action="type", type="Big bang")
    assert "Type changed" in page
    assert 'data-needs-holder="Incident Commander"' in page
    page = act(console, 1, action="category", category="network")
    assert "<dd>network</dd>" in page
    page = act(console, 1, action="bridge", conference_url="javascript:alert(1)")
    assert "conference bridge must be an http(s) URL" in page
    page = act(console, 1, action="bridge", conference_url="https://meet.example.com/x")
    assert 'href="https://meet.example.com/x"' in page
    page = act(console, 1, action="major", major="true", reason="")
    assert "say why" in page
    page = act(console, 1, action="major", major="true", reason="all regions")
    assert 'class="badge major"' in page
    with console.db.reader() as s:
        payments = services.get_service(s, "payments").id
    page = act(console, 1, action="affect", service=str(payments))
    assert 'href="/services/' in page and "payments" in page  # noqa: PT018
    listed = console.client.get(f"/incidents?service={payments}&status=all").text
    assert 'href="/incidents/1"' in listed
    assert "data-major>major</span>" in listed
    act(console, 1, action="unaffect", service=str(payments))
    with console.db.reader() as s:
        incident = incidents.get(s, "#1")
        assert incidents.affected_services(s, incident.id) == []
        assert (incident.category, incident.major, incident.conference_url) == (
            "network",
            True,
            "https://meet.example.com/x",
        )
        assert incidents.type_of(s, incident).name == "Big bang"  # type: ignore[union-attr]


def test_an_observer_cannot_use_the_card(console: Console) -> None:
    console.trigger("Checkout down")
    console.login("olga@example.com")
    csrf = console.csrf("/incidents/1")
    r = console.client.post(
        "/incidents/1/types", data={"csrf": csrf, "action": "major", "major": "true", "reason": "x"}
    )
    assert r.status_code == 403
    with console.db.reader() as s:
        assert incidents.get(s, "#1").major is False


def test_declaring_with_a_type_from_the_console(console: Console) -> None:
    console.login()
    csrf = console.csrf("/incidents/new")
    with console.db.reader() as s:
        service = services.get_service(s, "checkout-api").id
    form = {"csrf": csrf, "service_id": str(service), "title": "Laptop broken", "type": "Desktop sprint"}
    r = console.client.post("/incidents/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        incident = s.scalars(select(Incident)).one()
        assert (incident.severity, incident.major) == ("SEV5", False)
    r = console.client.post("/incidents/new", data={**form, "type": "Nope"})
    assert r.status_code == 422
    assert "unknown incident type" in r.text
    with console.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1


def test_the_admin_page_configures_types_categories_and_severities(console: Console) -> None:
    console.login()
    page = console.client.get("/admin/incident-types").text
    assert "Big bang" in page and "Security (CyberSec)" in page  # noqa: PT018
    csrf = console.csrf("/admin/incident-types")
    base = {"csrf": csrf}
    r = console.client.post(
        "/admin/incident-types",
        data={
            **base,
            "action": "type",
            "name": "Vendor",
            "severity": "SEV4",
            "required_roles": "Scribe",
            "pages": "on",
        },
    )
    assert r.status_code == 200, r.text
    assert "Type Vendor saved" in r.text
    r = console.client.post("/admin/incident-types", data={**base, "action": "type", "name": "Odd", "severity": "SEV9"})
    assert r.status_code == 422
    assert "severity must be one of" in r.text
    r = console.client.post("/admin/incident-types", data={**base, "action": "category", "name": "facilities"})
    assert "Category facilities saved" in r.text
    r = console.client.post(
        "/admin/incident-types", data={**base, "action": "severity", "name": "SEV0", "position": "0"}
    )
    assert "Severity SEV0 saved" in r.text
    with console.db.reader() as s:
        vendor = types.get_type(s, "Vendor")
        assert (vendor.severity, vendor.required_roles, vendor.pages) == ("SEV4", ["Scribe"], True)
        assert "Odd" not in [t.name for t in types.list_types(s)]
    console.login("olga@example.com")
    assert console.client.get("/admin/incident-types").status_code == 403
