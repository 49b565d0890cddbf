"""The workflow, playbook and action routes: definitions with the path of the fault, the simulator, a manual run
with second-person approval (outbound calls through the SSRF guard), and the signed one-shot result callback."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tests.workflows.test_workflows import SECRET, Sink, sink  # noqa: F401 (a fixture)
from tocsin.notify.providers.webhook import signature_header
from tocsin.notify.ssrf import UrlGuard
from tocsin.workflows import actions
from tocsin.workflows import service as workflows
from tocsin.workflows.http import Caller


def put(api: ApiHarness, url: str, body: dict[str, Any]) -> Any:
    return api.client.put(url, json=body, headers=api.headers())


def test_definitions_simulation_and_a_manual_run(api: ApiHarness) -> None:
    flow = {
        "trigger": {"event": "declared"},
        "conditions": [{"field": "severity", "op": "=~", "value": "SEV[12]"}],
        "steps": [{"kind": "stakeholder_update", "message": "Looking at {{incident.title}}"}],
    }
    saved = ok(put(api, "/api/v1/workflows/Update", flow))
    assert saved["version"] == 1
    assert ok(put(api, "/api/v1/workflows/Update", {**flow, "description": "v2"}))["version"] == 2
    bad = problem(put(api, "/api/v1/workflows/Bad", {**flow, "steps": [{"kind": "teleport"}]}), 422)
    assert bad["detail"].startswith("steps.0.kind: unknown step kind 'teleport'")

    incident = declare(api, make_service(api, "checkout")["id"])
    sim = ok(api.post("/api/v1/workflows/simulate", json={"incident": str(incident["id"])}))
    assert [(s["name"], s["would_run"]) for s in sim] == [("Update", False)], "a SEV3 does not match"
    sim = ok(api.post("/api/v1/workflows/simulate", json={"payload": {"severity": "SEV1"}}))
    assert [(s["name"], s["would_run"]) for s in sim] == [("Update", True)]
    problem(api.post("/api/v1/workflows/simulate", json={}), 422)

    run = ok(api.post(f"/api/v1/incidents/{incident['id']}/workflows/Update/run"), 201)
    assert run["trigger"] == "manual"
    assert ok(api.get(f"/api/v1/workflow-runs/{run['id']}"))["status"] == "pending"
    problem(api.post(f"/api/v1/incidents/{incident['id']}/workflows/Nope/run"), 404)
    problem(api.get("/api/v1/workflow-runs/999999"), 404)


def test_an_action_needing_approval_runs_once_approved_by_someone_else_through_the_ssrf_guard(
    api: ApiHarness,
) -> None:
    body = {"url": "http://127.0.0.1:9/restart", "body": "{{incident.title}}", "approval": True}
    ok(put(api, "/api/v1/remediation-actions/Restart", body))
    bad = problem(put(api, "/api/v1/remediation-actions/Bad", {**body, "body": "{{incident.nope}}"}), 422)
    assert bad["detail"].startswith("body: unknown field 'incident.nope'")
    incident = declare(api, make_service(api, "checkout")["id"])
    asked = ok(api.post(f"/api/v1/incidents/{incident['id']}/actions/Restart/run"), 201)
    assert asked["status"] == "awaiting_approval"
    problem(api.post(f"/api/v1/action-runs/{asked['id']}/approve"), 403)  # not the one who asked
    other = api.token_for("ops@example.com", role="admin")
    done = ok(api.post(f"/api/v1/action-runs/{asked['id']}/approve", token=other))
    assert done["status"] == "failed"
    assert "refusing to contact" in (done["error"] or ""), "loopback is refused unless allowlisted"
    problem(api.post(f"/api/v1/action-runs/{asked['id']}/approve", token=other), 409)
    timeline = [e["message"] for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]
    assert "Action Restart awaits a second person's approval" in timeline
    assert "Action Restart approved" in timeline


def test_the_result_callback_is_signed_one_shot_and_in_time(api: ApiHarness, sink: Sink) -> None:  # noqa: F811
    incident = declare(api, make_service(api, "checkout")["id"])
    spec = {"url": sink.url + "/run", "body": '{"cb": "{{callback.url}}"}', "secret": SECRET, "callback_minutes": 10}
    env = actions.Env(base_url="http://tocsin.test", caller=Caller(UrlGuard(["127.0.0.1"])))
    with api.runtime.db.unit_of_work() as s:
        actions.save_action(s, "Restart", spec, now=api.clock.now())
        run = actions.request_run(s, incident["id"], "Restart", actor=workflows.ENGINE, role=None, now=api.clock.now())
        run_id = run.id
    done = actions.perform(api.runtime.db, run_id, workflows.subject_of_id, env, api.clock)
    assert done is not None
    assert done.status == "awaiting_callback"
    path = json.loads(sink.received[0][2])["cb"].removeprefix("http://tocsin.test")

    def report(payload: dict[str, Any], secret: str = SECRET, msg: str = "m1") -> int:
        raw = json.dumps(payload).encode()
        stamp = int(api.clock.now().timestamp())
        headers = {
            "webhook-id": msg,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature_header(secret, msg, stamp, raw),
        }
        return api.client.post(path, content=raw, headers=headers).status_code

    assert api.client.post(path, content=b"{}").status_code == 401
    assert report({"status": "succeeded"}, secret="whsec_" + "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=") == 401
    assert report({"status": "maybe"}) == 422
    assert report({"status": "succeeded", "message": "done"}) == 204
    assert report({"status": "failed"}, msg="m2") == 409
    assert api.client.post("/actions/callback/unknown", content=b"{}").status_code == 404
    runs = ok(api.get(f"/api/v1/incidents/{incident['id']}/action-runs"))
    assert [(r["status"], r["response_excerpt"]) for r in runs] == [("succeeded", "done")]
