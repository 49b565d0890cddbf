"""GET /api/v1/audit and /api/v1/audit/export: admins only, filters, pages, JSON lines; a token used from a new
address; appends from many threads keep one chain; the ingest path leaves no audit entry."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import func, select

from tests.api.conftest import ok, problem
from tests.conftest import ApiHarness
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.audit.repository import AuditFilter
from tocsin.teams import service as teams


def _names(body: dict[str, object]) -> list[str]:
    return [item["action"] for item in body["items"]]  # type: ignore[attr-defined, index]


def test_admins_read_the_trail_with_filters_and_pages(api: ApiHarness) -> None:
    for name in ("a", "b", "c"):
        ok(api.post("/api/v1/teams", json={"name": name}), 201)
    ok(api.patch("/api/v1/teams/b", json={"description": "x"}))

    everything = ok(api.get("/api/v1/audit"))
    actions = _names(everything)
    assert actions[:4] == ["team.updated", "team.created", "team.created", "team.created"]
    first = everything["items"][0]
    assert first["actor_user_id"] == api.admin_id
    assert first["channel"] == "api"
    assert first["data"] == {"before": {"description": ""}, "after": {"description": "x"}}

    team_b = ok(api.get("/api/v1/teams/b"))["id"]
    only_b = ok(api.get("/api/v1/audit", params={"object_type": "team", "object_id": str(team_b)}))
    assert _names(only_b) == ["team.updated", "team.created"]

    page1 = ok(api.get("/api/v1/audit", params={"object_type": "team", "limit": 2}))
    assert len(page1["items"]) == 2
    page2 = ok(api.get("/api/v1/audit", params={"object_type": "team", "limit": 2, "cursor": page1["next_cursor"]}))
    assert _names(page2) == ["team.created", "team.created"]
    assert page2["next_cursor"] is None
    assert {i["id"] for i in page1["items"]}.isdisjoint(i["id"] for i in page2["items"])

    by_actor = ok(api.get("/api/v1/audit", params={"actor_user_id": api.admin_id + 999}))
    assert by_actor["items"] == []
    later = (api.clock.now() + timedelta(days=3650)).isoformat()
    assert ok(api.get("/api/v1/audit", params={"since": later}))["items"] == []


def test_bad_filters_and_other_roles_are_refused(api: ApiHarness) -> None:
    responder = api.token_for("rita@example.com", role="responder")
    assert problem(api.get("/api/v1/audit", token=responder), 403)["detail"] == "this needs the admin role"
    problem(api.get("/api/v1/audit/export", token=responder), 403)
    assert "cursor" in problem(api.get("/api/v1/audit", params={"cursor": "nope"}), 400)["detail"]
    span = {"since": "2026-11-02T10:00:00Z", "until": "2026-11-02T09:00:00Z"}
    assert "'until'" in problem(api.get("/api/v1/audit", params=span), 400)["detail"]
    assert "channel" in problem(api.get("/api/v1/audit", params={"channel": "fax"}), 422)["detail"]


def test_export_streams_json_lines_oldest_first(api: ApiHarness) -> None:
    for name in ("x", "y"):
        ok(api.post("/api/v1/teams", json={"name": name}), 201)
    response = api.get("/api/v1/audit/export", params={"object_type": "team"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["action"] for r in records] == ["team.created", "team.created"]
    assert records[0]["id"] < records[1]["id"]
    assert all(len(r["hash"]) == 64 for r in records)


def test_a_token_used_from_a_new_address_is_recorded_once(api: ApiHarness) -> None:
    token_id = ok(api.get("/api/v1/tokens"))[0]["id"]
    ok(api.get("/api/v1/teams"))
    with api.runtime.db.reader() as s:
        seen = audit.list_entries(s, AuditFilter(action=audit.TOKEN_NEW_ADDRESS), limit=10)[0]
    assert [(e.object_id, e.data, e.token_id) for e in seen] == [(str(token_id), {"ip": "testclient"}, token_id)]
    # Another process (a fresh app on the same database) does not record the same address again.
    api.client.app.state.known_token_addresses = set()  # type: ignore[attr-defined]
    ok(api.get("/api/v1/teams"))
    with api.runtime.db.reader() as s:
        assert len(audit.list_entries(s, AuditFilter(action=audit.TOKEN_NEW_ADDRESS), limit=10)[0]) == 1


def test_concurrent_writers_never_fork_the_chain(api: ApiHarness) -> None:
    db = api.runtime.db
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(5):
                with db.unit_of_work() as s:
                    teams.create_team(s, name=f"t{n}-{i}", now=api.clock.now())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.reader() as s:
        count = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        assert audit.verify_chain(s) == (count, None)
        created = audit.list_entries(s, AuditFilter(action="team.created"), limit=100)[0]
    assert len(created) == 30
    assert sorted(e.id for e in created) == list(range(count - 29, count + 1))


def test_the_ingest_path_leaves_no_audit_entry(api: ApiHarness) -> None:
    ok(api.post("/api/v1/services", json={"name": "shop"}), 201)
    key = ok(api.post("/api/v1/services/shop/integrations", json={"type": "pagerduty_v2", "name": "pd"}), 201)["key"]
    with api.runtime.db.reader() as s:
        before = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "disk", "source": "db1", "severity": "critical"},
    }
    assert api.client.post("/v2/enqueue", json={**event, "dedup_key": "d1"}).status_code == 202
    ok(api.post("/api/v1/incidents/%231/acknowledge"))
    with api.runtime.db.reader() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == before
