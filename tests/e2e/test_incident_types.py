"""Declaring a Big bang incident from the console: the major badge, the commander it asks for as a task, and the
conference bridge filled from the type's template (ADR 0021)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.e2e.conftest import LiveServer, Tab
from tocsin.response import types


def test_declaring_a_big_bang_from_the_console(tab: Tab, live_server: LiveServer) -> None:
    with live_server.db.unit_of_work() as s:
        big = types.get_type(s, "Big bang")
        spec = types.TypeSpec(
            **{
                **types.as_dict(big),
                "required_roles": tuple(big.required_roles),
                "checklists": tuple(big.checklists),
                "private_team": None,
                "conference_url": "https://meet.example.com/inc-{number}",
            }
        )
        types.save_type(s, "Big bang", spec, now=datetime.now(UTC))
    tab.sign_in()
    tab.go("/incidents/new")
    tab.page.get_by_label("Service").select_option(label="checkout-api")
    tab.page.get_by_label("Title").fill("Everything is down (console)")
    tab.page.get_by_label("Type").select_option("Big bang")
    # The severities say what they mean where they are chosen.
    assert "SEV1 — Critical" in tab.page.get_by_label("Severity").inner_text()
    tab.page.get_by_role("button", name="Declare and page").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+\?notice=.*"))
    number = int(re.search(r"/incidents/(\d+)", tab.page.url).group(1))  # type: ignore[union-attr]

    card = tab.page.locator("#type-card")
    assert card.locator("[data-type]").inner_text() == "Big bang"
    assert card.locator("[data-major]").is_visible()
    assert card.locator("[data-needs-holder='Incident Commander']").is_visible()
    bridge = card.locator("[data-bridge]")
    assert bridge.get_attribute("href") == f"https://meet.example.com/inc-{number}"
    tasks = tab.page.locator("ul.tasks").inner_text()
    assert "Assign Incident Commander" in tasks
    assert "SEV1" in tab.page.locator("#incident-header").inner_text()

    tab.go("/incidents")
    row = tab.page.locator(f"tr:has(a[href='/incidents/{number}'])")
    assert row.locator("[data-major]").inner_text() == "major"

    tab.page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/incidents/new", f"/incidents/{number}", "/admin/incident-types"):
        tab.go(path)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
    tab.shot("incident-big-bang-phone")
