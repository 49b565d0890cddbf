"""The findings of the security review, replayed against the API on SQLite and PostgreSQL: a responder could
switch off paging for everyone with a silence of ``.*`` until 2099, or put an observer on call for another team.
Now silences and overrides are their team's, bounded in time, and announced to the team when its managers did not
set them."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import ApiHarness
from tocsin.notify.models import Notification
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

EVERYTHING = [{"field": "summary", "op": "=~", "value": ".*"}]
LAYER = {"rotation": "weekly", "start": "2026-11-02T00:00:00Z", "users": ["mia@example.com"]}


def _org(api: ApiHarness) -> dict[str, str]:
    """Team ops (Mia manages, Max is a member) owns checkout and the schedule primary; Wes is in team web."""
    tokens = {
        "mia": api.token_for("mia@example.com"),
        "max": api.token_for("max@example.com"),
        "wes": api.token_for("wes@example.com"),
        "olga": api.token_for("olga@example.com", role="observer"),
    }
    with api.runtime.db.unit_of_work() as s:
        ops = teams.create_team(s, name="ops", now=api.clock.now())
        web = teams.create_team(s, name="web", now=api.clock.now())
        teams.set_member(s, ops, users.get_user(s, "mia@example.com"), "manager")
        teams.set_member(s, ops, users.get_user(s, "max@example.com"), "member")
        teams.set_member(s, web, users.get_user(s, "wes@example.com"), "manager")
        services.create_service(s, name="checkout", team_id=ops.id, now=api.clock.now())
    for email in ("mia@example.com", "max@example.com"):
        r = api.post(f"/api/v1/users/{email}/contact-methods", json={"type": "email", "address": email, "name": "m"})
        assert r.status_code == 201, r.text
    r = api.post("/api/v1/schedules", json={"name": "primary", "team": "ops", "layers": [LAYER]})
    assert r.status_code == 201, r.text
    return tokens


def _notices_to(api: ApiHarness, email: str) -> list[str]:
    with api.runtime.db.reader() as s:
        user_id = users.get_user(s, email).id
        rows = s.execute(select(Notification).where(Notification.kind == "notice", Notification.user_id == user_id))
        return [n.payload["text"] for n in rows.scalars()]


def test_a_silence_of_everything_until_2099_is_refused_to_responders(api: ApiHarness) -> None:
    tokens = _org(api)
    attack = {"matchers": EVERYTHING, "ends_at": "2099-01-01T00:00:00Z", "comment": "quiet please"}
    r = api.post("/api/v1/silences", json=attack, token=tokens["wes"])
    assert r.status_code == 422
    assert "must name its service" in r.json()["detail"]
    # Naming another team's service does not help.
    r = api.post("/api/v1/silences", json={**attack, "service": "checkout"}, token=tokens["wes"])
    assert r.status_code == 403
    assert "team 'ops'" in r.json()["detail"]
    # A member of the team may silence its service, but not for longer than the limit.
    r = api.post("/api/v1/silences", json={**attack, "service": "checkout"}, token=tokens["max"])
    assert r.status_code == 422
    assert "at most 7 day(s)" in r.json()["detail"]
    r = api.post(
        "/api/v1/silences",
        json={**attack, "ends_at": "2026-11-05T08:00:00Z", "service": "checkout"},
        token=tokens["max"],
    )
    assert r.status_code == 201, r.text
    silence_id = r.json()["id"]
    # ... and another team's responder can neither stretch nor end it.
    r = api.client.put(
        f"/api/v1/silences/{silence_id}",
        json={**attack, "ends_at": "2026-11-06T08:00:00Z", "service": "checkout"},
        headers=api.headers(tokens["wes"]),
    )
    assert r.status_code == 403
    assert api.delete(f"/api/v1/silences/{silence_id}", token=tokens["wes"]).status_code == 403
    assert api.post("/api/v1/silences", json=attack, token=tokens["olga"]).status_code == 403
    # Admins are exempt: a planned migration may need a longer, wider silence.
    assert api.post("/api/v1/silences", json=attack).status_code == 201


def test_the_team_hears_of_a_silence_its_managers_did_not_set(api: ApiHarness) -> None:
    tokens = _org(api)
    body = {"matchers": [], "service": "checkout", "ends_at": "2026-11-02T12:00:00Z", "comment": "deploy"}
    assert api.post("/api/v1/silences", json=body, token=tokens["max"]).status_code == 201
    (notice,) = _notices_to(api, "mia@example.com")
    assert "max@example.com silenced service 'checkout'" in notice
    assert "deploy" in notice
    assert _notices_to(api, "max@example.com") == []  # who set it is not told of it
    # A silence set by the team's manager needs no notice.
    assert api.post("/api/v1/silences", json={**body, "comment": "again"}, token=tokens["mia"]).status_code == 201
    assert len(_notices_to(api, "mia@example.com")) == 1
    assert _notices_to(api, "max@example.com") == []


def test_an_observer_put_on_call_for_another_team_is_refused(api: ApiHarness) -> None:
    tokens = _org(api)
    attack = {"user": "olga@example.com", "start": "2026-11-02T09:00:00Z", "end": "2026-11-03T09:00:00Z"}
    r = api.post("/api/v1/schedules/primary/overrides", json=attack, token=tokens["wes"])
    assert r.status_code == 403
    assert "team 'ops'" in r.json()["detail"]
    # Within the team: nobody but an admin puts an observer, who cannot acknowledge, on call.
    r = api.post("/api/v1/schedules/primary/overrides", json=attack, token=tokens["max"])
    assert r.status_code == 422
    assert "observer" in r.json()["detail"]
    long = {"user": "max@example.com", "start": "2026-11-02T09:00:00Z", "end": "2026-12-12T09:00:00Z"}
    r = api.post("/api/v1/schedules/primary/overrides", json=long, token=tokens["max"])
    assert r.status_code == 422
    assert "at most 30 day(s)" in r.json()["detail"]
    ok = {**long, "end": "2026-11-04T09:00:00Z"}
    r = api.post("/api/v1/schedules/primary/overrides", json=ok, token=tokens["max"])
    assert r.status_code == 201, r.text
    override_id = r.json()["id"]
    (notice,) = _notices_to(api, "mia@example.com")
    assert "override on schedule 'primary'" in notice
    # Stretching it past the limit afterwards is refused as well, and another team cannot remove it.
    path = f"/api/v1/schedules/primary/overrides/{override_id}"
    r = api.patch(path, json={"end": "2027-01-01T00:00:00Z"}, token=tokens["max"])
    assert r.status_code == 422
    assert api.delete(path, token=tokens["wes"]).status_code == 403
    assert api.post("/api/v1/schedules/primary/overrides", json=attack).status_code == 201  # admins may


def test_a_team_manager_administers_only_their_team(api: ApiHarness) -> None:
    tokens = _org(api)
    assert api.patch("/api/v1/services/checkout", json={"tier": 1}, token=tokens["mia"]).status_code == 200
    assert api.patch("/api/v1/services/checkout", json={"tier": 2}, token=tokens["max"]).status_code == 403
    assert api.patch("/api/v1/services/checkout", json={"tier": 2}, token=tokens["wes"]).status_code == 403
    # Handing the service to a team the manager does not manage is refused.
    r = api.patch("/api/v1/services/checkout", json={"team": "web"}, token=tokens["mia"])
    assert r.status_code == 403
    assert api.get("/api/v1/services/checkout").json()["team"]["name"] == "ops"
    # Creating a service of no team, or of another team, takes an admin.
    assert api.post("/api/v1/services", json={"name": "loose"}, token=tokens["mia"]).status_code == 403
    assert api.post("/api/v1/services", json={"name": "w", "team": "web"}, token=tokens["mia"]).status_code == 403
    assert api.post("/api/v1/services", json={"name": "o", "team": "ops"}, token=tokens["mia"]).status_code == 201
