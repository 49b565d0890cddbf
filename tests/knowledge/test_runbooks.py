"""Runbooks (ADR 0030), on SQLite and PostgreSQL: every save a version, a stale save refused (409), matching by
service, alert labels (the event rules' matchers) and incident type, the link a page carries, sanitised Markdown."""

from __future__ import annotations

import httpx

from tests.conftest import ApiHarness
from tests.knowledge.conftest import alert, declare, org
from tocsin.knowledge import runbooks
from tocsin.notify.page_links import links_for
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.render.text import render_text


def _put(api: ApiHarness, url: str, body: dict[str, object]) -> httpx.Response:
    return api.client.put(url, headers=api.headers(), json=body)


def test_every_save_is_a_version_and_a_stale_save_is_refused(api: ApiHarness) -> None:
    org(api)
    r = api.post("/api/v1/runbooks", json={"title": "Disk full", "body": "v1", "services": ["checkout"]})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    r = _put(api, "/api/v1/runbooks/disk-full", {"title": "Disk full", "body": "v2", "base_version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    stale = _put(api, "/api/v1/runbooks/disk-full", {"title": "Disk full", "body": "mine", "base_version": 1})
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.json()["detail"]
    history = api.get("/api/v1/runbooks/disk-full/versions").json()
    assert [(v["version"], v["body"]) for v in history] == [(2, "v2"), (1, "v1")]
    assert history[1]["links"]["service_ids"]
    assert api.get("/api/v1/runbooks/disk-full/versions/1").json()["body"] == "v1"
    assert api.get("/api/v1/runbooks/disk-full/versions/9").status_code == 404


def test_bad_runbooks_are_refused_with_what_is_wrong(api: ApiHarness) -> None:
    org(api)
    cases = [
        {"title": "x", "services": ["nope"]},
        {"title": "x", "types": ["No such type"]},
        {"title": "x", "matchers": [{"field": "labels.env", "op": "=~", "value": "(unclosed"}]},
        {"title": "x", "matchers": [{"field": "labels.env", "op": "??", "value": "a"}]},
        {"title": "!!!"},
    ]
    for body in cases:
        r = api.post("/api/v1/runbooks", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"]
    assert api.post("/api/v1/runbooks", json={"title": "x" * 301}).status_code == 422
    assert api.post("/api/v1/runbooks", json={"title": "Same"}).status_code == 201
    assert api.post("/api/v1/runbooks", json={"title": "same"}).status_code == 409
    assert api.get("/api/v1/runbooks").json()[0]["slug"] == "same"


def test_matching_runbooks_by_service_labels_and_type_and_the_page_link(api: ApiHarness) -> None:
    o = org(api)
    matcher = [{"field": "labels.alertname", "op": "=", "value": "DiskFull"}]
    assert api.post("/api/v1/runbooks", json={"title": "Checkout basics", "services": ["checkout"]}).status_code == 201
    assert api.post("/api/v1/runbooks", json={"title": "Disk full", "matchers": matcher}).status_code == 201
    assert api.post("/api/v1/runbooks", json={"title": "Other", "services": ["search"]}).status_code == 201
    alert(api, o.other_key, "disk-1", "Disk at 99%", alertname="DiskFull")
    alerted = api.get("/api/v1/incidents?status=triggered").json()["items"][0]
    by_hand = declare(api, o.service_id, "Checkout slow")
    found = api.get(f"/api/v1/incidents/{alerted['number']}/runbooks").json()
    assert [(m["title"], m["reasons"]) for m in found] == [("Disk full", ["alert labels"]), ("Other", ["service"])]
    found = api.get(f"/api/v1/incidents/{by_hand['number']}/runbooks").json()
    assert [m["title"] for m in found] == ["Checkout basics"]
    # The page about each: several runbooks link to the incident's list, one to the runbook itself.
    base = "http://tocsin.test"
    with api.runtime.db.reader() as s:
        several = links_for(s, alerted["id"], alerted["number"], base)
        one = links_for(s, by_hand["id"], by_hand["number"], base)
    assert several == (("Runbooks", f"{base}/incidents/{alerted['number']}/runbooks"),)
    assert one == (("Runbook", f"{base}/runbooks/checkout-basics"),)
    view = IncidentView(
        id=1,
        number=7,
        title="t",
        status="triggered",
        urgency="high",
        severity="SEV2",
        priority="P2",
        service="checkout",
        created_at="",
        url=f"{base}/incidents/7",
        links=(*one, ("Bad", "javascript:x")),
    )
    text = render_text(OutboundMessage(1, "m", "page", "sms", "+1", "Ann", view))
    assert f"Runbook: {base}/runbooks/checkout-basics" in text.splitlines()
    assert "javascript" not in text


def test_no_runbook_no_link_and_one_query(api: ApiHarness) -> None:
    o = org(api)
    made = declare(api, o.service_id, "Checkout slow")
    with api.runtime.db.reader() as s:
        assert runbooks.page_links(s, made["id"], made["number"], "http://x") == []


def test_runbook_markdown_is_rendered_sanitised_in_the_console(api: ApiHarness) -> None:
    from tocsin.web.templating import markdown

    html = str(markdown("# Steps\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **bold**"))
    assert "<h1>Steps</h1>" in html
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert "<strong>bold</strong>" in html
