"""Stakeholder updates in the console: an admin keeps groups on /admin/stakeholder-groups; the incident page's card
sends an update (free text or a template, with CSRF), shows bad input beside the form and says when the next update
is due and when it is overdue; an observer reads but cannot change."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)
from tocsin.incidents.models import Incident
from tocsin.response import types as incident_types
from tocsin.stakeholders.models import StakeholderUpdate


def test_groups_and_an_update_from_the_console(console: Console) -> None:  # noqa: F811
    console.login()
    csrf = console.csrf("/admin/stakeholder-groups")
    made = console.client.post(
        "/admin/stakeholder-groups",
        data={"csrf": csrf, "name": "Execs", "emails": "ceo@example.com, cfo@example.com", "services": "checkout-api"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    listing = console.client.get("/admin/stakeholder-groups").text
    assert "Execs" in listing
    assert "ceo@example.com, cfo@example.com" in listing
    refused = console.client.post("/admin/stakeholder-groups", data={"csrf": csrf, "name": "Bad", "services": "nope"})
    assert refused.status_code == 422
    assert "unknown service" in refused.text
    assert 'value="Bad"' in refused.text, "what was typed is kept"
    assert console.client.post("/admin/stakeholder-groups", data={"csrf": "forged", "name": "x"}).status_code == 403

    console.trigger("Checkout is down")
    page = console.client.get("/incidents/1").text
    assert 'id="stakeholders"' in page
    assert "No stakeholder update yet." in page
    assert "(Execs)" in page, "the matching groups are named"
    sent = console.client.post(
        "/incidents/1/stakeholder-updates",
        data={"csrf": csrf, "body": "{{incident.title}}: we are on it", "as_template": "1"},
    )
    assert "Stakeholder update sent to Execs" in sent.text
    assert "Checkout is down: we are on it" in sent.text
    bad = console.client.post(
        "/incidents/1/stakeholder-updates", data={"csrf": csrf, "body": "{{incident.nope}}", "as_template": "1"}
    )
    assert "unknown field" in bad.text
    with console.db.reader() as s:
        assert len(list(s.scalars(select(StakeholderUpdate)))) == 1

    console.client.cookies.clear()
    console.login("olga@example.com")
    observer_page = console.client.get("/incidents/1").text
    assert "Checkout is down: we are on it" in observer_page
    assert 'action="/incidents/1/stakeholder-updates"' not in observer_page
    observer_csrf = console.csrf("/incidents/1")
    refused_observer = console.client.post(
        "/incidents/1/stakeholder-updates", data={"csrf": observer_csrf, "body": "x"}
    )
    assert refused_observer.status_code == 403
    assert (
        console.client.post("/admin/stakeholder-groups", data={"csrf": observer_csrf, "name": "Mine"}).status_code
        == 403
    )


def test_the_card_says_when_the_next_update_is_due(console: Console) -> None:  # noqa: F811
    console.login()
    console.trigger("Search is slow")
    with console.db.unit_of_work() as s:
        big = incident_types.get_type(s, "Big bang")  # an update every 30 minutes
        s.scalars(select(Incident).where(Incident.number == 1)).one().type_id = big.id
    page = console.client.get("/incidents/1").text
    due = re.search(r"data-stakeholder-due>\s*([^<]*)<", page)
    assert due
    assert due.group(1).strip().startswith("Next update due")
    console.clock.advance(timedelta(minutes=31))
    page = console.client.get("/incidents/1").text
    due = re.search(r"data-stakeholder-due>\s*([^<]*)<", page)
    assert due
    assert due.group(1).strip().startswith("An update is overdue")
