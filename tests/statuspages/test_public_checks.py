"""The issue's public-side promises checked once more: CORS open on the read-only API of a public page (and its
preflight), closed on an internal one; an internal page behind a custom domain still needs sign-in; a response
incident made private after it was published takes no more updates from its incident page."""

from __future__ import annotations

from tests.conftest import ApiHarness
from tests.statuspages.conftest import make_page, publish
from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.statuspages import service as statuspages


def test_cors_is_open_on_public_json_only(api: ApiHarness) -> None:
    make_page(api)
    publish(api, "acme", "Slow", "Looking")
    for name in ("summary.json", "status.json", "components.json", "incidents.json", "scheduled-maintenances.json"):
        answer = api.client.get(f"/status/acme/api/v2/{name}", headers={"Origin": "https://widget.example"})
        assert answer.status_code == 200
        assert answer.headers["Access-Control-Allow-Origin"] == "*", name
    preflight = api.client.options(
        "/status/acme/api/v2/summary.json",
        headers={"Origin": "https://widget.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"], "read only"


def test_an_internal_page_behind_its_custom_domain_needs_sign_in(api: ApiHarness) -> None:
    make_page(api, "inside", name="Inside", visibility="internal", custom_domain="status.inside.test")
    publish(api, "inside", "Staff outage", "Only for staff")
    for path in ("/", "/api/v2/summary.json", "/history.atom", "/history.rss"):
        answer = api.client.get(path, headers={"host": "status.inside.test"})
        assert answer.status_code == 404, path
        assert "Staff outage" not in answer.text


def test_no_update_goes_out_through_an_incident_made_private(console: Console) -> None:  # noqa: F811
    console.trigger("Checkout is failing")
    with console.db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="shop", name="Shop", now=console.clock.now())
        row, _ = statuspages.create_incident(
            s, page, name="Checkout", body="Looking", incident_ids=["#1"], actor=Actor(label="a", source="web"),
            now=console.clock.now(),
        )  # fmt: skip
        incidents.get(s, "#1").private = True
        page_id, row_id = page.id, row.id
    console.login()
    csrf = console.csrf("/incidents/1")
    html = console.client.get("/incidents/1").text
    assert "Publish on Shop" not in html
    assert f"/status-pages/{page_id}/incidents/{row_id}/updates" not in html
    answer = console.client.post(
        f"/incidents/1/status-pages/{page_id}/incidents/{row_id}/updates",
        data={"csrf": csrf, "status": "identified", "body": "Private details"},
    )
    assert "is private" in answer.text
    with console.db.reader() as s:
        assert len(statuspages.updates_of(s, [row_id])[row_id]) == 1
