"""A published postmortem on the status pages (ADR 0026, ADR 0029): its public sections appear under every status-page
incident that publishes its incident, on the public incident page; the internal sections never do; nothing shows
before it is published (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.api.conftest import declare, make_service, ok
from tests.conftest import ApiHarness
from tests.statuspages.conftest import make_page, publish
from tocsin.incidents import service as incidents

PM = "/api/v1/incidents/{}/postmortem"


def _write(api: ApiHarness, incident_id: int, key: str, body: str) -> None:
    url = PM.format(incident_id) + f"/sections/{key}"
    version = ok(api.get(PM.format(incident_id)))["sections"]
    current = next(s["version"] for s in version if s["key"] == key)
    ok(api.client.put(url, headers=api.headers(), json={"body": body, "version": current}))


def test_a_published_postmortem_appears_on_every_page_of_its_incident(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = declare(api, service["id"])
    make_page(api, "acme")
    make_page(api, "partners", name="Partners")
    on_acme = publish(api, "acme", "Checkout errors", "Investigating.", incident_ids=[str(found["id"])])
    on_partners = publish(api, "partners", "Checkout errors", "Investigating.", incident_ids=[str(found["id"])])
    ok(api.post(f"/api/v1/incidents/{found['id']}/resolve", json={}))
    ok(api.post(PM.format(found["id"]), json={"require_approval": False}), 201)
    _write(api, found["id"], "summary", "Checkout failed for 40 minutes.")
    _write(api, found["id"], "root_cause", "A configuration push removed the pool limit.")
    _write(api, found["id"], "went_badly", "Alice missed the first page.")
    ok(api.post(PM.format(found["id"]) + "/status", json={"status": "in_review"}))
    before = api.client.get(f"/status/acme/incidents/{on_acme['id']}").text
    assert "Checkout failed for 40 minutes." not in before, "nothing shows before the postmortem is published"

    ok(api.post(PM.format(found["id"]) + "/status", json={"status": "published"}))
    for slug, row in (("acme", on_acme), ("partners", on_partners)):
        html = api.client.get(f"/status/{slug}/incidents/{row['id']}").text
        assert "Postmortem" in html
        assert "Checkout failed for 40 minutes." in html
        assert "pool limit" in html
        assert "Alice" not in html, "the team's own assessment stays inside"


def test_the_postmortem_of_a_private_incident_is_never_shown(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = declare(api, service["id"])
    make_page(api, "acme")
    row = publish(api, "acme", "Checkout errors", "Investigating.", incident_ids=[str(found["id"])])
    with api.runtime.db.unit_of_work() as s:
        incidents.get(s, found["id"]).private = True  # made private after it was published
    ok(api.post(PM.format(found["id"]), json={"require_approval": False}), 201)
    _write(api, found["id"], "summary", "Secret summary.")
    ok(api.post(PM.format(found["id"]) + "/status", json={"status": "in_review"}))
    ok(api.post(PM.format(found["id"]) + "/status", json={"status": "published"}))
    assert "Secret summary." not in api.client.get(f"/status/acme/incidents/{row['id']}").text
    assert "Secret summary." not in api.client.get("/status/acme/history.atom").text
