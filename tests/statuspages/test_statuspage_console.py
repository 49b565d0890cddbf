"""Status pages in the console: an admin creates a page, adds a component, publishes an incident and an update
through the forms (with CSRF); an observer reads but cannot change; an internal page is served to someone signed in."""

from __future__ import annotations

import re

from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)


def _page_id(console: Console) -> int:  # noqa: F811
    found = re.search(r'href="/status-pages/(\d+)"', console.client.get("/status-pages").text)
    assert found
    return int(found.group(1))


def test_an_admin_runs_a_status_page_from_the_console(console: Console) -> None:  # noqa: F811
    console.login()
    csrf = console.csrf("/status-pages")
    made = console.client.post(
        "/status-pages/new",
        data={"csrf": csrf, "name": "Inside", "slug": "inside", "visibility": "internal"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page_id = _page_id(console)
    base = f"/status-pages/{page_id}"
    assert console.client.post(f"{base}/components", data={"csrf": csrf, "name": "VPN"}).status_code == 200
    component = re.search(r"\(#(\d+)\)", console.client.get(base).text)
    assert component
    cid = component.group(1)
    published = console.client.post(
        f"{base}/incidents",
        data={"csrf": csrf, "name": "VPN drops", "body": "Reconnect *please*", "status": "identified",
              "impact": "minor", f"component_{cid}": "partial_outage"},
    )  # fmt: skip
    assert "Incident published" in published.text
    assert "VPN drops" in published.text
    incident = re.search(rf'action="{base}/incidents/(\d+)/updates"', published.text)
    assert incident
    updated = console.client.post(
        f"{base}/incidents/{incident.group(1)}/updates",
        data={"csrf": csrf, "status": "resolved", "body": "Fixed", f"component_{cid}": "operational"},
    )
    assert "Update published" in updated.text
    refused = console.client.post(f"{base}/incidents", data={"csrf": csrf, "name": "x", "body": "y", "status": "bad"})
    assert "status must be one of" in refused.text
    forged = console.client.post(f"{base}/components", data={"csrf": "forged", "name": "Nope"})
    assert forged.status_code == 403

    internal = console.client.get("/status/inside")
    assert internal.status_code == 200, "served to someone signed in"
    assert "VPN drops" in internal.text, "the resolved incident is among the past ones"
    assert console.client.get("/status/inside/api/v2/summary.json").json()["page"]["name"] == "Inside"

    console.client.cookies.clear()
    assert console.client.get("/status/inside").status_code == 404
    console.login("olga@example.com")
    assert console.client.get(base).status_code == 200
    observer = console.client.post(f"{base}/components", data={"csrf": console.csrf(base), "name": "Nope"})
    assert observer.status_code == 403


def test_on_an_internal_page_one_subscribes_only_oneself(console: Console) -> None:  # noqa: F811
    from tocsin.statuspages import service as statuspages

    with console.db.unit_of_work() as s:
        statuspages.create_page(s, slug="staff", name="Staff", now=console.clock.now(), visibility="internal")
    assert console.client.post("/status/staff/subscribe", data={"email": "spy@example.com"}).status_code == 404
    console.login()
    assert console.client.post("/status/staff/subscribe", data={"email": "spy@example.com"}).status_code == 200
    with console.db.reader() as s:
        rows = statuspages.list_subscribers(s, statuspages.get_page(s, "staff"))
    assert [r.address for r in rows] == ["alice@example.com"]


def test_the_incident_page_shows_where_the_incident_is_published(console: Console) -> None:  # noqa: F811
    from tocsin.incidents.schemas import Actor
    from tocsin.statuspages import service as statuspages

    console.trigger("Checkout is failing")
    console.login()
    assert "Status pages</h2>" not in console.client.get("/incidents/1").text
    with console.db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="shop", name="Shop status", now=console.clock.now())
        statuspages.create_incident(
            s,
            page,
            name="Checkout degraded",
            body="Investigating.",
            incident_ids=["#1"],
            actor=Actor(label="Alice", source="web"),
            now=console.clock.now(),
        )
    html = console.client.get("/incidents/1").text
    assert "Status pages</h2>" in html
    assert "Shop status" in html
    assert "Checkout degraded" in html
    assert "/status/shop/incidents/" in html
