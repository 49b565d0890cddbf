"""The service desk in a real browser at phone width: a report filed as a request, then converted into an incident."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab

pytestmark = pytest.mark.slow

UNLABELED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map(el => el.outerHTML.slice(0, 80))"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def test_a_report_on_a_phone_becomes_a_request_and_is_converted(tab: Tab, live_server: LiveServer) -> None:
    summary = f"Need access to the ledger {uuid.uuid4().hex[:6]}"
    tab.sign_in()
    tab.page.set_viewport_size({"width": 360, "height": 740})
    tab.go("/report")
    assert tab.page.evaluate(UNLABELED) == []
    assert tab.page.evaluate(OVERFLOW) <= 0, "the report form scrolls sideways at 360px"
    tab.page.get_by_label("Service").select_option(label="ledger")
    tab.page.get_by_label("I need something").check()
    tab.page.get_by_label("Summary").fill(summary)
    tab.page.get_by_label("What do you see?").fill("I start on Monday and cannot open the ledger")
    tab.page.get_by_label("Who is affected?").select_option("low")
    tab.page.get_by_role("button", name="Send report").click()
    notice = tab.page.get_by_role("status")
    expect(notice).to_contain_text("your request is REQ-")
    ref = re.search(r"REQ-(\d+)", notice.inner_text())
    assert ref is not None
    tab.shot("report-phone")

    tab.go("/requests")
    assert tab.page.evaluate(OVERFLOW) <= 0, "the request list scrolls sideways at 360px"
    tab.page.get_by_role("link", name=f"REQ-{ref.group(1)}").click()
    tab.page.wait_for_url(f"**/requests/{ref.group(1)}")
    assert tab.page.evaluate(UNLABELED) == []
    assert tab.page.evaluate(OVERFLOW) <= 0, "the request page scrolls sideways at 360px"
    tab.page.get_by_role("button", name="In progress").click()
    expect(tab.page.locator("[data-status]")).to_have_text("in progress")
    tab.page.get_by_role("button", name="Convert into an incident").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+.*"))
    card = tab.page.locator("section", has=tab.page.get_by_role("heading", name="Service desk"))
    expect(card).to_contain_text(f"Converted from service request REQ-{ref.group(1)}")
    expect(tab.page.locator("#timeline")).to_contain_text(f"from service request REQ-{ref.group(1)}")
    assert tab.page.evaluate(OVERFLOW) <= 0
    tab.shot("converted-incident-phone")

    card.get_by_role("link", name=f"REQ-{ref.group(1)}").click()
    expect(tab.page.locator("[data-status]")).to_have_text("converted")
    expect(tab.page.get_by_role("link", name=re.compile(r"incident #\d+"))).to_be_visible()
