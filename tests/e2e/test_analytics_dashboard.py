"""The analytics dashboard in a real browser: an incident opened by an event is counted, the trend charts are
SVG images with a title and a table beside them, every control has a label, and the filters land in the URL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab

pytestmark = pytest.mark.slow

UNLABELED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map(el => el.outerHTML.slice(0, 80))"""


def test_dashboard_counts_charts_and_shares_its_filters(tab: Tab, live_server: LiveServer) -> None:
    live_server.event("Analytics dashboard sample")
    tab.sign_in()
    tab.go("/analytics?since=2d")
    expect(tab.page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    count = int(tab.page.locator('#overall [data-metric="count"]').inner_text())
    assert count >= 1
    charts = tab.page.get_by_role("img", name=re.compile("Incidents per week"))
    expect(charts).to_have_count(1)
    assert (tab.page.locator("svg.chart title").first.text_content() or "").startswith("Incidents per week")
    expect(tab.page.locator("#durations")).to_contain_text("mtta")
    expect(tab.page.locator("#durations")).to_contain_text("Time to acknowledge")
    assert tab.page.evaluate(UNLABELED) == []
    tab.page.get_by_label("Group by").select_option("severity")
    tab.page.get_by_role("button", name="Show").click()
    assert "by=severity" in tab.page.url
    expect(tab.page.get_by_role("heading", name="By severity")).to_be_visible()
    tab.shot("analytics-dashboard")
    # The same view's CSV is one link away.
    href = tab.page.get_by_role("link", name="CSV").get_attribute("href")
    assert href is not None
    assert "by=severity" in href
    r = tab.page.request.get(live_server.url + href)
    assert r.status == 200
    assert r.text().startswith("group,key,label,count,")
