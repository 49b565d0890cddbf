"""What search and similar incidents show of learning (ADR 0029, ADR 0030), on SQLite and PostgreSQL: postmortem
sections and problems are found, as their incidents are read (a private incident's postmortem, and a problem linked
to it, stay hidden from outsiders); a similar past incident carries its postmortem and action items."""

from __future__ import annotations

from tests.conftest import ApiHarness
from tests.knowledge.conftest import declare, index, org, resolve

PM = "/api/v1/incidents/{}/postmortem"


def _titles(api: ApiHarness, q: str, token: str) -> list[str]:
    r = api.get("/api/v1/search", params={"q": q}, token=token)
    assert r.status_code == 200, r.text
    return [row["title"] for row in r.json()]


def _write(api: ApiHarness, number: int, key: str, body: str) -> None:
    sections = api.get(PM.format(number)).json()["sections"]
    version = next(s["version"] for s in sections if s["key"] == key)
    r = api.client.put(
        PM.format(number) + f"/sections/{key}", headers=api.headers(), json={"body": body, "version": version}
    )
    assert r.status_code == 200, r.text


def test_postmortems_and_problems_are_found_as_their_incidents_are_read(api: ApiHarness) -> None:
    o = org(api)
    index(api)
    public = declare(api, o.service_id, "Checkout latency")
    secret = declare(api, o.service_id, "Token leak", token=o.tokens["max"], private=True, private_team="sec")
    for made in (public, secret):
        assert api.post(PM.format(made["number"]), json={"require_approval": False}).status_code == 201
    _write(api, public["number"], "root_cause", "The flamingo cache evicted every session key.")
    _write(api, secret["number"], "root_cause", "The flamingo token was logged by the proxy.")
    r = api.post("/api/v1/problems", json={"title": "Walrus queue stalls", "incidents": [str(secret["id"])]})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/problems", json={"title": "Walrus disk pressure", "incidents": [str(public["id"])]})
    assert r.status_code == 201, r.text
    index(api)

    public_pm = f"Postmortem of #{public['number']} Checkout latency"
    secret_pm = f"Postmortem of #{secret['number']} Token leak"
    assert set(_titles(api, "flamingo", o.tokens["admin"])) >= {public_pm, secret_pm}
    assert set(_titles(api, "flamingo", o.tokens["sue"])) >= {public_pm, secret_pm}
    olly = _titles(api, "flamingo", o.tokens["olly"])
    assert public_pm in olly
    assert secret_pm not in olly
    assert set(_titles(api, "walrus", o.tokens["admin"])) == {
        "Problem: Walrus queue stalls",
        "Problem: Walrus disk pressure",
    }
    assert _titles(api, "walrus", o.tokens["olly"]) == ["Problem: Walrus disk pressure"]


def test_a_similar_incident_shows_its_postmortem_and_action_items(api: ApiHarness) -> None:
    o = org(api)
    index(api)
    past = declare(api, o.service_id, "Orders queue consumer stuck")
    resolve(api, past["number"], "Restarted the consumer")
    assert api.post(PM.format(past["number"]), json={"require_approval": False}).status_code == 201
    for title in ("Alert on consumer lag", "Add a watchdog"):
        r = api.post(f"/api/v1/incidents/{past['number']}/action-items", json={"title": title})
        assert r.status_code == 201, r.text
    item = api.get(f"/api/v1/incidents/{past['number']}/action-items").json()[0]
    assert api.post(f"/api/v1/action-items/{item['id']}/status", json={"status": "done"}).status_code == 200
    current = declare(api, o.service_id, "Orders queue consumer stuck again")
    index(api)
    r = api.get(f"/api/v1/incidents/{current['number']}/similar")
    assert r.status_code == 200, r.text
    found = {row["number"]: row for row in r.json()}
    assert found[past["number"]]["extra"] == {
        "postmortem": f"draft · /incidents/{past['number']}/postmortem",
        "action items": "1 of 2 closed",
    }
