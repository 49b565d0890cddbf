"""``TOCSIN_TEAMS_SEE_ALL=false``: responders and observers read only their teams' objects (and those of no team)
through the API; another team's are not found. With the default (true) everyone signed in reads everything."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiHarness
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users


@pytest.fixture
def scoped_api(db: Database, clock: FakeClock) -> Iterator[ApiHarness]:
    from tocsin.app import create_app
    from tocsin.settings import load_settings

    settings = load_settings(
        database_url=db.url, run_worker=False, public_url="http://tocsin.test", teams_see_all=False
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        yield ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)


def _two_teams(api: ApiHarness) -> tuple[str, dict[str, int]]:
    token = api.token_for("wes@example.com", role="observer")
    with api.runtime.db.unit_of_work() as s:
        ops = teams.create_team(s, name="ops", now=api.clock.now())
        web = teams.create_team(s, name="web", now=api.clock.now())
        teams.set_member(s, web, users.get_user(s, "wes@example.com"), "member")
        ids = {
            name: services.create_service(s, name=name, team_id=team, now=api.clock.now()).id
            for name, team in (("checkout", ops.id), ("site", web.id), ("shared", None))
        }
    for name, service_id in ids.items():
        r = api.post("/api/v1/incidents", json={"service_id": service_id, "title": f"{name} down"})
        assert r.status_code == 201, r.text
        if name != "shared":
            r = api.post(
                "/api/v1/silences",
                json={"service": name, "matchers": [], "ends_at": "2026-11-02T10:00:00Z", "comment": name},
            )
            assert r.status_code == 201, r.text
    return token, ids


def test_another_teams_objects_are_not_found(scoped_api: ApiHarness) -> None:
    api = scoped_api
    token, ids = _two_teams(api)
    names = {s["name"] for s in api.get("/api/v1/services", token=token).json()}
    assert names == {"site", "shared"}
    assert api.get("/api/v1/services/checkout", token=token).status_code == 404
    titles = {i["title"] for i in api.get("/api/v1/incidents", token=token).json()["items"]}
    assert titles == {"site down", "shared down"}
    assert api.get(f"/api/v1/incidents?service_id={ids['checkout']}", token=token).json()["items"] == []
    (checkout_incident,) = [i for i in api.get("/api/v1/incidents").json()["items"] if i["title"] == "checkout down"]
    assert api.get(f"/api/v1/incidents/{checkout_incident['id']}", token=token).status_code == 404
    assert api.get(f"/api/v1/incidents/{checkout_incident['id']}/timeline", token=token).status_code == 404
    assert [s["comment"] for s in api.get("/api/v1/silences", token=token).json()] == ["site"]
    # Admins read everything.
    assert len(api.get("/api/v1/services").json()) == 3
    assert len(api.get("/api/v1/silences").json()) == 2


def test_by_default_everyone_reads_everything(api: ApiHarness) -> None:
    token, _ = _two_teams(api)
    assert len(api.get("/api/v1/services", token=token).json()) == 3
    assert len(api.get("/api/v1/incidents", token=token).json()["items"]) == 3
    assert api.get("/api/v1/services/checkout", token=token).status_code == 200


def test_another_teams_alerts_are_not_listed_nor_found(scoped_api: ApiHarness) -> None:
    api = scoped_api
    token, ids = _two_teams(api)
    keys = {}
    with api.runtime.db.unit_of_work() as s:
        for name in ("checkout", "site"):
            service = services.get_service(s, name)
            keys[name] = services.add_integration(s, service, name="events", type="generic", now=api.clock.now()).key
    for name, key in keys.items():
        sent = api.client.post(f"/integrations/{key}/generic", json={"summary": f"{name} alert", "dedup_key": name})
        assert sent.status_code == 202, sent.text
    everything = api.get("/api/v1/alerts").json()["items"]
    assert {a["summary"] for a in everything} == {"checkout alert", "site alert"}
    mine = api.get("/api/v1/alerts", token=token).json()["items"]
    assert [a["summary"] for a in mine] == ["site alert"]
    foreign = next(a["id"] for a in everything if a["service_id"] == ids["checkout"])
    assert api.get(f"/api/v1/alerts/{foreign}", token=token).status_code == 404
    own = next(a["id"] for a in everything if a["service_id"] == ids["site"])
    assert api.get(f"/api/v1/alerts/{own}", token=token).status_code == 200


def test_another_teams_schedules_and_policies_are_not_in_the_on_call_summary(scoped_api: ApiHarness) -> None:
    api = scoped_api
    token, _ = _two_teams(api)
    for team, name in (("ops", "ops-primary"), ("web", "web-primary")):
        r = api.post("/api/v1/schedules", json={"name": name, "timezone": "UTC", "team": team, "layers": []})
        assert r.status_code == 201, r.text
        step = {"targets": [{"kind": "schedule", "ref": name}], "delay": "5m"}
        r = api.post("/api/v1/escalation-policies", json={"name": f"{team}-policy", "team": team, "steps": [step]})
        assert r.status_code == 201, r.text
    summary = api.get("/api/v1/oncall", token=token).json()
    seen = {(e.get("schedule") or e.get("policy"))["name"] for e in summary}
    assert seen == {"web-primary", "web-policy"}
    everything = {(e.get("schedule") or e.get("policy"))["name"] for e in api.get("/api/v1/oncall").json()}
    assert {"ops-primary", "ops-policy"} <= everything
    for tail in ("shifts", "gaps", "overrides"):
        assert api.get(f"/api/v1/schedules/ops-primary/{tail}", token=token).status_code == 404, tail
        assert api.get(f"/api/v1/schedules/web-primary/{tail}", token=token).status_code == 200, tail


def test_the_noise_report_counts_only_the_teams_one_may_see(scoped_api: ApiHarness) -> None:
    api = scoped_api
    token, _ = _two_teams(api)
    keys = {}
    with api.runtime.db.unit_of_work() as s:
        for name in ("checkout", "site"):
            service = services.get_service(s, name)
            keys[name] = services.add_integration(s, service, name="events", type="generic", now=api.clock.now()).key
    for name, key in keys.items():
        for n in range(3 if name == "checkout" else 1):
            sent = api.client.post(f"/integrations/{key}/generic", json={"summary": f"{name} {n}", "dedup_key": f"{n}"})
            assert sent.status_code == 202, sent.text
    since = {"since": "2026-11-01T00:00:00Z"}
    everything = api.get("/api/v1/noise", params=since).json()
    assert {s["service"] for s in everything["services"]} >= {"checkout", "site"}
    assert everything["totals"]["events"] == 4
    mine = api.get("/api/v1/noise", params=since, token=token).json()
    assert "checkout" not in {s["service"] for s in mine["services"]}
    assert "checkout" not in {n["service"] for n in mine["noisiest"]}
    assert mine["totals"]["events"] == 1
    assert mine["totals"]["incidents"] == 2, "the incidents of site and shared, not those of checkout"
