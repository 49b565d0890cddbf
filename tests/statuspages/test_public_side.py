"""The public side: the server-rendered page (banner, uptime bars, incidents, maintenance), Markdown made inert,
feeds that a real feed parser reads, internal pages never served without sign-in, custom domains by Host."""

from __future__ import annotations

import html
from datetime import timedelta

import feedparser

from tests.api.conftest import ok, problem
from tests.api.test_auth import _flat
from tests.conftest import ApiHarness
from tests.statuspages.conftest import make_component, make_page, publish


def test_the_page_shows_banner_bars_incidents_and_maintenance_without_javascript(api: ApiHarness) -> None:
    make_page(api)
    web = make_component(api, "acme", "Website")
    api.clock.advance(timedelta(days=3))
    publish(api, "acme", "Slow pages", "Pages are *slow*.", components={str(web["id"]): "major_outage"})
    api.clock.advance(timedelta(minutes=30))
    now = api.clock.now()
    ok(
        api.post(
            "/api/v1/status-pages/acme/maintenances",
            json={
                "name": "Network work",
                "scheduled_for": (now + timedelta(hours=5)).isoformat(),
                "scheduled_until": (now + timedelta(hours=6)).isoformat(),
            },
        ),
        201,
    )
    response = api.client.get("/status/acme")
    assert response.status_code == 200
    html = response.text
    assert "<script" not in html
    assert "Major Service Outage" in html
    assert "Slow pages" in html
    assert "<em>slow</em>" in html
    assert html.count('class="sp-bar ') == 90
    assert "sp-bar m" in html
    assert "Partial and major outages count as down time" in html
    assert "Network work" in html
    assert "Content-Security-Policy" in response.headers
    assert api.client.get("/status/acme/history").status_code == 200
    assert api.client.get("/status/acme/theme.css").text.startswith(":root{--brand:")


def test_script_in_an_update_is_rendered_inert(api: ApiHarness) -> None:
    make_page(api)
    body = "Hello <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
    incident = publish(api, "acme", "<b>Bold</b> title", body)
    for url in ("/status/acme", f"/status/acme/incidents/{incident['id']}", "/status/acme/history"):
        html = api.client.get(url).text
        assert "<script>alert(1)" not in html
        assert 'href="javascript' not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;" in html
        assert "<b>Bold</b>" not in html
        assert "&lt;b&gt;Bold&lt;/b&gt;" in html


def test_feeds_parse_without_errors_and_hold_every_update(api: ApiHarness) -> None:
    make_page(api)
    bodies = ["First <look> & see", "Identified the cause", "Monitoring the fix", "All good"]
    incident = publish(api, "acme", "Outage", bodies[0])
    for status, body in zip(("identified", "monitoring", "resolved"), bodies[1:], strict=True):
        api.clock.advance(timedelta(minutes=5))
        ok(
            api.post(
                f"/api/v1/status-pages/acme/incidents/{incident['id']}/updates", json={"status": status, "body": body}
            ),
            201,
        )
    other = publish(api, "acme", "Second", "Another one")
    assert other["id"] != incident["id"]
    for name, media in (("history.atom", "application/atom+xml"), ("history.rss", "application/rss+xml")):
        response = api.client.get(f"/status/acme/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.get("bozo_exception")
        texts = [html.unescape(e.get("summary", "")) for e in feed.entries]
        assert len(feed.entries) == 5
        for body in [*bodies, "Another one"]:
            assert body in texts, (name, body, texts)
        assert len({e.id for e in feed.entries}) == 5


INTERNAL_ROUTES = [
    ("GET", "/status/inside"),
    ("GET", "/status/inside/history"),
    ("GET", "/status/inside/theme.css"),
    ("GET", "/status/inside/incidents/{incident}"),
    ("GET", "/status/inside/maintenances/1"),
    ("GET", "/status/inside/history.atom"),
    ("GET", "/status/inside/history.rss"),
    ("GET", "/status/inside/api/v2/summary.json"),
    ("GET", "/status/inside/api/v2/status.json"),
    ("GET", "/status/inside/api/v2/components.json"),
    ("GET", "/status/inside/api/v2/incidents.json"),
    ("GET", "/status/inside/api/v2/incidents/unresolved.json"),
    ("GET", "/status/inside/api/v2/scheduled-maintenances.json"),
    ("GET", "/status/inside/api/v2/scheduled-maintenances/upcoming.json"),
    ("GET", "/status/inside/api/v2/scheduled-maintenances/active.json"),
    ("POST", "/status/inside/subscribe"),
    ("GET", "/status/inside/confirm/confirm.1.0.x"),
    ("GET", "/status/inside/unsubscribe/unsubscribe.1.0.x"),
    ("POST", "/status/inside/unsubscribe/unsubscribe.1.0.x"),
]


def test_an_internal_page_is_never_served_without_sign_in(api: ApiHarness) -> None:
    make_page(api, "inside", name="Inside", visibility="internal")
    incident = publish(api, "inside", "Secret outage", "Only for staff")
    public_routes = {
        (m, r.path)
        for r in _flat(api.client.app.routes)  # type: ignore[attr-defined]
        for m in (getattr(r, "methods", None) or ())
        if getattr(r, "path", "").startswith("/status/{slug}")
    }
    assert len(public_routes) - 1 == len(INTERNAL_ROUTES), "every public route is checked (OPTIONS aside)"
    for method, path in INTERNAL_ROUTES:
        url = path.replace("{incident}", str(incident["id"]))
        response = api.client.request(method, url, data={"email": "a@example.com"} if method == "POST" else None)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Secret outage" not in response.text
        assert "Inside" not in response.text


def test_custom_domain_serves_the_page_at_its_root(api: ApiHarness) -> None:
    make_page(api, custom_domain="status.acme.test")
    publish(api, "acme", "Domain incident", "Seen through the domain")
    response = api.client.get("/api/v2/summary.json", headers={"host": "status.acme.test"})
    assert response.status_code == 200
    assert response.json()["page"]["url"] == "http://status.acme.test"
    assert "Domain incident" in api.client.get("/", headers={"host": "status.acme.test"}).text
    assert api.client.get("/api/v2/summary.json", headers={"host": "unknown.acme.test"}).status_code == 404
    problem(api.patch("/api/v1/status-pages/acme", json={"custom_domain": "not a domain"}), 422)


def test_unknown_pages_answer_html_to_browsers_and_problems_to_the_api(api: ApiHarness) -> None:
    make_page(api)
    for url in ("/status/nope", "/status/nope/history", "/status/acme/incidents/999", "/status/acme/maintenances/9"):
        response = api.client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"].startswith("text/html"), url
        assert "Not found" in response.text
    problem(api.client.get("/status/nope/api/v2/summary.json"), 404)
