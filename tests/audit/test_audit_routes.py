"""Every configuration route of the API leaves an audit entry naming the admin and token that called it, the
object it changed, and no secret in clear. The table in ``route_cases.py`` has one entry per write route of the
app: a route added without one fails ``test_every_write_route_is_in_the_table``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.audit.route_cases import CASES, INCIDENT_ROUTES, State
from tests.conftest import ApiHarness
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.audit.repository import AuditFilter


@pytest.fixture
def receiver() -> Iterator[str]:
    """An HTTP receiver on loopback that takes every webhook."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host!s}:{port}"
    server.shutdown()
    server.server_close()


def _write_routes(api: ApiHarness) -> set[tuple[str, str]]:
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {
        (method.upper(), path)
        for path, ops in paths.items()
        if path.startswith("/api/v1/")
        for method in ops
        if method in ("post", "put", "patch", "delete")
    }


def test_every_write_route_is_in_the_table(api: ApiHarness) -> None:
    covered = {(c.method, c.route) for c in CASES} | INCIDENT_ROUTES
    missing = _write_routes(api) - covered
    assert not missing, f"write routes without an audit case in tests/audit/route_cases.py: {sorted(missing)}"
    assert covered - _write_routes(api) == set(), "cases for routes the app no longer has"


def _entries_after(api: ApiHarness, last_id: int) -> list[AuditEntry]:
    with api.runtime.db.reader() as s:
        rows, _ = audit.list_entries(s, AuditFilter(), limit=500)
    return [e for e in reversed(rows) if e.id > last_id]


def _last_id(api: ApiHarness) -> int:
    entries = _entries_after(api, 0)
    return entries[-1].id if entries else 0


def test_every_configuration_route_leaves_an_audit_entry(api: ApiHarness, receiver: str) -> None:
    admin_token_id = api.get("/api/v1/tokens").json()[0]["id"]
    state: State = {"receiver": receiver}
    for case in CASES:
        if case.prepare is not None:
            case.prepare(state, api)
        before = _last_id(api)
        path = case.path(state) if callable(case.path) else case.path
        body = case.body(state) if callable(case.body) else case.body
        token = state["token_secret"] if case.as_bob else None
        response = api.client.request(
            case.method, path, json=body, headers={**api.headers(token), "User-Agent": "audit-walk/1"}
        )
        assert response.status_code < 300, f"{case.method} {path}: {response.status_code} {response.text}"
        if case.remember is not None:
            case.remember(state, response.json() if response.content else None, api)
        new = _entries_after(api, before)
        label = f"{case.method} {case.route}"
        if case.expect is None:
            assert case.why_not, label
            assert [e.action for e in new] == [], f"{label} is not a configuration change but left {new}"
            continue
        object_type, action = case.expect
        matching = [e for e in new if e.object_type == object_type and e.action.startswith(action or object_type)]
        assert matching, f"{label}: no {action or object_type} entry among {[e.action for e in new]}"
        actor_id, actor, token_id = (
            (state["bob"], "Rob", state["token"]) if case.as_bob else (api.admin_id, "Admin", admin_token_id)
        )
        for entry in new:
            assert entry.channel == "api", label
            assert entry.actor_user_id == actor_id, label
            assert entry.actor == actor, label
            assert entry.token_id == token_id, label
            assert entry.ip == "testclient", label
            assert entry.user_agent == "audit-walk/1", label
            assert entry.object_id, label
        dumped = json.dumps([e.data for e in new])
        for secret in case.secrets(state):
            assert secret not in dumped, f"{label}: a secret is in the audit trail in clear"
    with api.runtime.db.reader() as s:
        checked, broken = audit.verify_chain(s)
    assert broken is None
    assert checked > len(CASES)


def test_secrets_are_masked_but_their_change_is_visible(api: ApiHarness) -> None:
    api.post("/api/v1/services", json={"name": "shop"})
    created = api.post(
        "/api/v1/services/shop/integrations", json={"type": "sentry", "name": "in", "signing_secret": "abc-123-xyz"}
    ).json()
    with api.runtime.db.reader() as s:
        (entry,) = audit.list_entries(s, AuditFilter(object_type="integration"), limit=5)[0]
    after = entry.data["after"]
    assert after["signing_secret"] == "***"
    assert after["key"] == "***" + created["key"][-4:]
    assert after["name"] == "in"
    assert created["key"] not in json.dumps(entry.data)

    first = api.post("/api/v1/users/admin@example.com/oncall/ical-url").json()["ical_url"]
    second = api.post("/api/v1/users/admin@example.com/oncall/ical-url?rotate=true").json()["ical_url"]
    assert first != second
    with api.runtime.db.reader() as s:
        rotated = audit.list_entries(s, AuditFilter(object_type="user", action="user.updated"), limit=1)[0][0]
    # The token changed, and the entry says so without showing either value.
    assert rotated.data == {"before": {"feed_token": "***"}, "after": {"feed_token": "***"}}
