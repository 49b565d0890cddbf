"""The incident page's Status pages card acts: publish the incident on a page (first update from a template with
incident fields, impact, component statuses), post follow-up updates, publish or discard proposals, under the one
voice rule (the Communications Lead or Incident Commander, an admin, or anyone when the page allows it)."""

from __future__ import annotations

import re

from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.response import roles
from tocsin.statuspages import service as statuspages
from tocsin.users import service as users

ADMIN = Actor(label="Alice", source="web", user_id=1)


def _people(console: Console, password_hash: str) -> None:  # noqa: F811
    with console.db.unit_of_work() as s:
        for email in ("comms@example.com", "other@example.com"):
            users.create_user(
                s, email=email, name=email.split("@")[0].title(), role="responder", now=console.clock.now(),
                password_hash=password_hash,
            )  # fmt: skip


def _shop(console: Console) -> tuple[int, int]:  # noqa: F811
    with console.db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="shop", name="Shop status", now=console.clock.now())
        component = statuspages.add_component(s, page, name="Checkout", now=console.clock.now())
        return page.id, component.id


def test_the_comms_lead_publishes_and_updates_from_the_incident(console: Console, password_hash: str) -> None:  # noqa: F811
    _people(console, password_hash)
    console.trigger("Checkout is failing")
    page_id, component_id = _shop(console)
    console.login("other@example.com")
    html = console.client.get("/incidents/1").text
    assert "Publish on Shop status" not in html, "not offered to someone who may not speak"
    csrf = console.csrf("/incidents/1")
    publish = {
        "csrf": csrf,
        "page_id": str(page_id),
        "name": "Checkout trouble",
        "impact": "major",
        "status": "identified",
        "body": "We are looking at {{ incident.title }}.",
        "as_template": "1",
        f"component_{component_id}": "partial_outage",
    }
    refused = console.client.post("/incidents/1/status-pages/publish", data=publish)
    assert refused.status_code == 403
    assert "Communications Lead" in refused.text

    with console.db.unit_of_work() as s:
        incident = incidents.get(s, "#1")
        roles.assign(s, incident.id, "Communications Lead", "comms@example.com", actor=ADMIN, now=console.clock.now())
    console.login("comms@example.com")
    csrf = console.csrf("/incidents/1")
    assert "Publish on Shop status" in console.client.get("/incidents/1").text
    done = console.client.post("/incidents/1/status-pages/publish", data={**publish, "csrf": csrf})
    assert done.status_code == 200
    assert "Published on the status page" in done.text
    with console.db.reader() as s:
        page = statuspages.get_page(s, page_id)
        (row,) = statuspages.list_incidents(s, page)
        (first,) = statuspages.updates_of(s, [row.id])[row.id]
        (component,) = statuspages.components(s, page)
    assert (row.name, row.impact, row.status) == ("Checkout trouble", "major", "identified")
    assert first.body == "We are looking at Checkout is failing.", "the template is filled with incident fields"
    assert component.status == "partial_outage"
    again = console.client.post("/incidents/1/status-pages/publish", data={**publish, "csrf": csrf})
    assert "already published" in again.text, "one open story per page"
    bad = console.client.post(
        "/incidents/1/status-pages/publish", data={**publish, "csrf": csrf, "body": "{{ secrets.key }}"}
    )
    assert "secrets" in bad.text

    url = f"/incidents/1/status-pages/{page_id}/incidents/{row.id}/updates"
    form = re.search(r'action="(/incidents/1/status-pages/\d+/incidents/\d+/updates)"', done.text)
    assert form, "the card offers the follow-up form"
    assert form.group(1) == url
    update = {"csrf": csrf, "status": "resolved", "body": "Fixed.", f"component_{component_id}": "operational"}
    assert "Status page update posted" in console.client.post(url, data=update).text
    with console.db.reader() as s:
        page = statuspages.get_page(s, page_id)
        (row,) = statuspages.list_incidents(s, page)
        (component,) = statuspages.components(s, page)
    assert (row.status, component.status) == ("resolved", "operational")
    assert "status must be one of" in console.client.post(url, data={**update, "status": "fixed"}).text
    assert "no component" in console.client.post(url, data={**update, "component_999999": "operational"}).text

    console.login("other@example.com")
    other = console.client.post(url, data={**update, "csrf": console.csrf("/incidents/1")})
    assert other.status_code == 403
    with console.db.unit_of_work() as s:
        statuspages.update_page(
            s, statuspages.get_page(s, page_id), {"anyone_may_publish": True}, now=console.clock.now()
        )
    allowed = console.client.post(url, data={**update, "csrf": console.csrf("/incidents/1"), "body": "Still fine."})
    assert "Status page update posted" in allowed.text, "the page lets others publish"
    console.login("olga@example.com")
    assert console.client.post(url, data={**update, "csrf": console.csrf("/incidents/1")}).status_code == 403


def test_an_update_only_reaches_a_status_incident_of_this_incident(console: Console) -> None:  # noqa: F811
    console.trigger("Checkout is failing")
    console.trigger("Search is slow", dedup_key="other")
    page_id, _ = _shop(console)
    with console.db.unit_of_work() as s:
        page = statuspages.get_page(s, page_id)
        row, _ = statuspages.create_incident(
            s, page, name="Search", body="Slow", incident_ids=["#2"], actor=ADMIN, now=console.clock.now()
        )
        other_id = row.id
    console.login()
    csrf = console.csrf("/incidents/1")
    answer = console.client.post(
        f"/incidents/1/status-pages/{page_id}/incidents/{other_id}/updates",
        data={"csrf": csrf, "status": "resolved", "body": "Hijack"},
    )
    assert "is not linked to incident #1" in answer.text
    assert console.client.post("/incidents/99/status-pages/publish", data={"csrf": csrf}).status_code == 404


def test_proposals_are_decided_on_the_incident(console: Console) -> None:  # noqa: F811
    console.trigger("Checkout is failing")
    with console.db.unit_of_work() as s:
        page = statuspages.create_page(
            s, slug="shop", name="Shop status", now=console.clock.now(), automation="propose"
        )
        statuspages.add_component(s, page, name="Checkout", services=["checkout-api"], now=console.clock.now())
        incident = incidents.get(s, "#1")
        assert statuspages.propose(s, incident, "open", now=console.clock.now()) == 1
        (proposal,) = statuspages.list_proposals(s, page)
        page_id, proposal_id = page.id, proposal.id
    console.login()
    html = console.client.get("/incidents/1").text
    assert "an update is proposed" in html
    csrf = console.csrf("/incidents/1")
    base = f"/incidents/1/status-pages/{page_id}/proposals/{proposal_id}"
    assert console.client.post(f"{base}/ignore", data={"csrf": csrf}).status_code == 404
    published = console.client.post(f"{base}/publish", data={"csrf": csrf, "body": "Checkout is down; we are on it."})
    assert "Proposal published" in published.text
    with console.db.reader() as s:
        page = statuspages.get_page(s, page_id)
        (row,) = statuspages.list_incidents(s, page)
        (first,) = statuspages.updates_of(s, [row.id])[row.id]
        (component,) = statuspages.components(s, page)
    assert first.body == "Checkout is down; we are on it."
    assert component.status == "major_outage"
    assert "is published" in console.client.post(f"{base}/discard", data={"csrf": csrf}).text
