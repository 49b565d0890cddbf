"""Workflows, playbooks and remediation actions end to end on SQLite and PostgreSQL, with the fake clock, the real
engine modules (events → runs → steps) and real HTTP receivers on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import make_service, make_user
from tocsin.core.clock import FakeClock
from tocsin.core.errors import InvalidInput
from tocsin.db.encrypted import is_sealed
from tocsin.db.session import Database
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.engine.modules.workflows import WorkflowModule
from tocsin.events.registry import ConsumerRegistry
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.notify.providers.webhook import signature_header, verify_standard_webhook
from tocsin.notify.ssrf import UrlGuard
from tocsin.oncall import service as oncall
from tocsin.response import roles
from tocsin.response import service as response
from tocsin.workflows import actions, runner
from tocsin.workflows import service as workflows
from tocsin.workflows.http import Caller
from tocsin.workflows.models import ActionRun, WorkflowRun, WorkflowStepRun

SECRET = "whsec_" + base64.b64encode(b"a key of thirty-two bytes, exact").decode()
PEOPLE = Actor("Admin", "api", None)


@dataclass
class Sink:
    server: ThreadingHTTPServer
    delay: float = 0.0
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture
def sink() -> Iterator[Sink]:
    state: dict[str, Sink] = {}

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            s = state["sink"]
            with s.lock:
                s.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if s.delay:
                time.sleep(s.delay)
            reply = b'{"accepted":true}'
            self.send_response(202)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_POST = do_PUT = _any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["sink"] = Sink(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state["sink"]
    server.shutdown()
    server.server_close()


@dataclass
class World:
    db: Database
    clock: FakeClock
    env: actions.Env
    events: EventDeliveryModule
    engine: WorkflowModule
    service_id: int
    ann: int
    bob: int

    def run(self) -> None:
        for _ in range(50):
            if self.events.run_once(self.clock.now()) + self.engine.run_once(self.clock.now()) == 0:
                return
        raise AssertionError("still busy")

    def declare(self, severity: str = "SEV1") -> int:
        with self.db.unit_of_work() as s:
            incident = incidents.declare(
                s,
                service_id=self.service_id,
                title="Checkout down",
                actor=PEOPLE,
                now=self.clock.now(),
                severity=severity,
            )
            return incident.id

    def timeline(self, incident_id: int) -> list[str]:
        with self.db.reader() as s:
            return [e.message for e in incidents.timeline(s, incident_id)]


def new_world(db: Database, clock: FakeClock, owner: str = "w1") -> World:
    with db.unit_of_work() as s:
        service, _ = make_service(s, clock.now())
        ann = make_user(s, clock.now(), "ann@example.com")
        bob = make_user(s, clock.now(), "bob@example.com")
        for u in (ann, bob):
            contacts.add_contact_method(s, user_id=u.id, name="mail", type="email", address=u.email, now=clock.now())
        roles.seed_defaults(s, now=clock.now())
        response.save_template(s, "Big bang", ["Open the bridge", "Tell support"], now=clock.now())
        schedule = oncall.create_schedule(s, name="Primary", timezone="UTC", now=clock.now())
        oncall.set_layers(
            s,
            schedule,
            [oncall.layer_spec(s, rotation="weekly", start=clock.now() - timedelta(days=1), users=[ann.id])],
        )
        ids = (service.id, ann.id, bob.id)
    env = actions.Env(base_url="http://tocsin.test", caller=Caller(UrlGuard(["127.0.0.1"])))
    events = EventDeliveryModule(db, ConsumerRegistry([workflows.consumer()]), owner=owner)
    events.run_once(clock.now())
    return World(db, clock, env, events, WorkflowModule(db, env, clock, owner=owner), *ids)


@pytest.fixture
def world(db: Database, clock: FakeClock) -> World:
    return new_world(db, clock)


def _action(w: World, sink: Sink, **extra: Any) -> None:
    spec = {
        "url": sink.url + "/restart",
        "headers": {"content-type": "application/json"},
        "body": '{"incident": "{{incident.number}}", "title": "{{incident.title}}", "cb": "{{callback.url}}"}',
        "secret": SECRET,
        "callback_minutes": 30,
        **extra,
    }
    with w.db.unit_of_work() as s:
        actions.save_action(s, "Restart checkout", spec, now=w.clock.now())


def _sev1_workflow(w: World, **overrides: Any) -> None:
    spec = {
        "trigger": {"event": "declared"},
        "conditions": [{"field": "severity", "op": "=", "value": "SEV1"}],
        "steps": [
            {"kind": "assign_role", "role": "Incident Commander", "schedule": "Primary"},
            {"kind": "add_checklist", "checklist": "Big bang"},
            {"kind": "notify", "user": "bob@example.com", "message": "SEV1: {{incident.title}}"},
            {"kind": "action", "action": "Restart checkout", "once": True},
        ],
        **overrides,
    }
    with w.db.unit_of_work() as s:
        workflows.save_workflow(s, "SEV1 response", spec, now=w.clock.now())


def _callback(w: World, url: str, payload: dict[str, Any], *, secret: str = SECRET, msg: str = "cb_1") -> int:
    from fastapi.testclient import TestClient  # noqa: F401  (the API path is exercised in test_api below)

    token = url.rsplit("/", 1)[1]
    body = json.dumps(payload).encode()
    stamp = int(w.clock.now().timestamp())
    headers = {
        "webhook-id": msg,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(secret, msg, stamp, body),
    }
    try:
        with w.db.unit_of_work() as s:
            actions.callback(s, token, headers, body, now=w.clock.now())
        return 204
    except Exception as exc:  # the status the API answers with
        return int(getattr(exc, "status", getattr(exc, "status_code", 0)) or _status(exc))


def _status(exc: Exception) -> int:
    from tocsin.core.errors import Conflict, NotFound, Unauthorized

    for kind, code in ((Unauthorized, 401), (Conflict, 409), (NotFound, 404), (InvalidInput, 422)):
        if isinstance(exc, kind):
            return code
    raise exc


def test_a_sev1_assigns_the_commander_on_call_adds_the_checklist_notifies_and_calls_the_action_once(
    world: World, sink: Sink
) -> None:
    w = world
    _action(w, sink)
    _sev1_workflow(w)
    incident_id = w.declare("SEV1")
    w.declare("SEV3")  # conditions not met: nothing runs
    w.run()

    with w.db.reader() as s:
        held = roles.current_holders(roles.history(s, incident_id))
        commander = roles.get_role(s, "Incident Commander")
        assert held == {commander.id: w.ann}, "the commander is whoever is on call for Primary"
        assert [t.title for t in response.tasks(s, incident_id)] == ["Open the bridge", "Tell support"]
        notes = list(s.scalars(select(Notification).where(Notification.user_id == w.bob)))
        assert [n.payload["text"] for n in notes] == ["SEV1: Checkout down"]
        runs = list(s.scalars(select(WorkflowRun)))
        assert [(r.incident_id, r.status) for r in runs] == [(incident_id, "done")]
        step_states = [x.status for x in s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.position))]
        assert step_states == ["done", "done", "done", "done"]
        (action_run,) = s.scalars(select(ActionRun))
        assert action_run.status == "awaiting_callback"
        assert action_run.status_code == 202
    assert len(sink.received) == 1, "the action is called exactly once"
    path, headers, body = sink.received[0]
    sent = json.loads(body)
    assert path == "/restart"
    assert sent["title"] == "Checkout down"
    assert sent["incident"].isdigit()
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    assert (
        headers["webhook-signature"]
        == "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    )

    # Running it again by hand: the action step is once per incident, the others run again.
    with w.db.unit_of_work() as s:
        workflows.run_now(s, incident_id, "SEV1 response", actor=PEOPLE, now=w.clock.now())
    w.run()
    assert len(sink.received) == 1
    assert any("skipped: already ran once" in m for m in w.timeline(incident_id))

    # The callback marks the action done; a replay, a bad signature, a late call change nothing.
    cb = sent["cb"]
    assert _callback(w, cb, {"status": "succeeded"}, secret="whsec_" + base64.b64encode(b"x" * 32).decode()) == 401
    assert _callback(w, cb, {"status": "succeeded", "message": "restarted 3 pods"}) == 204
    assert _callback(w, cb, {"status": "failed"}, msg="cb_2") == 409
    assert _callback(w, cb.replace(cb.rsplit("/", 1)[1], "nope"), {"status": "failed"}) == 404
    with w.db.reader() as s:
        (action_run,) = s.scalars(select(ActionRun))
        assert action_run.status == "succeeded"
        assert action_run.response_excerpt == "restarted 3 pods"
    timeline = w.timeline(incident_id)
    assert "Action Restart checkout reported succeeded: restarted 3 pods" in timeline
    assert any(m.startswith("Workflow SEV1 response finished") for m in timeline)


def test_a_late_callback_is_refused_and_changes_nothing(world: World, sink: Sink) -> None:
    w = world
    _action(w, sink, callback_minutes=5)
    _sev1_workflow(w)
    w.declare("SEV1")
    w.run()
    cb = json.loads(sink.received[0][2])["cb"]
    w.clock.advance(timedelta(minutes=6))
    assert _callback(w, cb, {"status": "succeeded"}) == 409
    with w.db.reader() as s:
        (action_run,) = s.scalars(select(ActionRun))
        assert action_run.status == "awaiting_callback", "a refused callback changes nothing"
    w.run()
    with w.db.reader() as s:
        (action_run,) = s.scalars(select(ActionRun))
        assert action_run.status == "failed", "the engine fails a run whose result never came"
    assert _callback(w, cb, {"status": "succeeded"}) == 409


def test_a_timing_out_action_is_recorded_failed_and_the_error_policy_followed(world: World, sink: Sink) -> None:
    w = world
    sink.delay = 1.5
    _action(w, sink, timeout_seconds=0.5, callback_minutes=0, secret="")
    steps = [
        {"kind": "action", "action": "Restart checkout", "on_error": "continue"},
        {"kind": "stakeholder_update", "message": "We are on it: {{incident.title}}"},
        {"kind": "action", "action": "Restart checkout"},  # on_error stop (the default)
        {"kind": "stakeholder_update", "message": "never posted"},
    ]
    _sev1_workflow(w, steps=steps)
    incident_id = w.declare("SEV1")
    w.run()
    with w.db.reader() as s:
        states = [x.status for x in s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.position))]
        assert states == ["failed", "done", "failed"]
        runs = [(r.status, r.error) for r in s.scalars(select(WorkflowRun))]
        assert runs[0][0] == "failed"
        assert "timed out" in (runs[0][1] or "")
        assert [r.status for r in s.scalars(select(ActionRun))] == ["failed", "failed"]
        assert all((r.error or "").startswith("timed out") for r in s.scalars(select(ActionRun)))
    timeline = w.timeline(incident_id)
    assert "Stakeholder update: We are on it: Checkout down" in timeline
    assert not any("never posted" in m for m in timeline)


def test_a_wait_step_survives_an_engine_restart(db: Database, clock: FakeClock) -> None:
    w = new_world(db, clock, owner="first")
    _sev1_workflow(
        w,
        steps=[
            {"kind": "wait", "minutes": 10},
            {"kind": "stakeholder_update", "message": "ten minutes in"},
        ],
    )
    incident_id = w.declare("SEV1")
    w.run()
    with db.reader() as s:
        (run,) = s.scalars(select(WorkflowRun))
        assert run.status == "waiting"
        assert run.due_at == clock.now() + timedelta(minutes=10)
    # A new engine (another process after a restart) picks the wait up when it is due, and not before.
    restarted = new_world_engine(db, clock, owner="second")
    clock.advance(timedelta(minutes=9))
    restarted.run_once(clock.now())
    assert "Stakeholder update: ten minutes in" not in w.timeline(incident_id)
    clock.advance(timedelta(minutes=1))
    restarted.run_once(clock.now())
    assert "Stakeholder update: ten minutes in" in w.timeline(incident_id)
    with db.reader() as s:
        assert [r.status for r in s.scalars(select(WorkflowRun))] == ["done"]


def new_world_engine(db: Database, clock: FakeClock, owner: str) -> WorkflowModule:
    env = actions.Env(base_url="http://tocsin.test", caller=Caller(UrlGuard(["127.0.0.1"])))
    return WorkflowModule(db, env, clock, owner=owner)


def test_an_action_in_flight_when_its_worker_died_is_marked_ambiguous_never_run_again(world: World, sink: Sink) -> None:
    w = world
    _action(w, sink, callback_minutes=0, secret="")
    _sev1_workflow(
        w,
        steps=[
            {"kind": "action", "action": "Restart checkout", "on_error": "continue"},
            {"kind": "stakeholder_update", "message": "carried on"},
        ],
    )
    incident_id = w.declare("SEV1")
    w.events.run_once(w.clock.now())
    # A worker claims the run and records the step as running, then dies before calling out.
    with w.db.unit_of_work() as s:
        (c,) = runner.claim(s, now=w.clock.now(), owner="dies", lease=timedelta(seconds=30), limit=10)
    with w.db.unit_of_work() as s:
        run = s.get(WorkflowRun, c.id)
        assert run is not None
        s.add(
            WorkflowStepRun(
                run_id=run.id,
                position=0,
                kind="action",
                status="running",
                attempts=1,
                result={},
                idempotency_key=f"{incident_id}.w{run.workflow_id}.v1.0.r{run.id}",
                started_at=w.clock.now(),
            )
        )
        run.status = "running"
    w.engine.run_once(w.clock.now())
    assert w.timeline(incident_id).count("Stakeholder update: carried on") == 0, "the lease still holds"
    w.clock.advance(timedelta(seconds=31))
    w.run()
    assert sink.received == [], "never run twice blindly"
    with w.db.reader() as s:
        states = [x.status for x in s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.position))]
        assert states == ["ambiguous", "done"]
    assert "Stakeholder update: carried on" in w.timeline(incident_id)


def test_a_webhook_step_in_flight_is_resumed_with_the_same_webhook_id(world: World, sink: Sink) -> None:
    w = world
    _sev1_workflow(w, steps=[{"kind": "webhook", "url": sink.url + "/hook", "secret": SECRET}])
    incident_id = w.declare("SEV1")
    w.events.run_once(w.clock.now())
    with w.db.unit_of_work() as s:
        (c,) = runner.claim(s, now=w.clock.now(), owner="dies", lease=timedelta(seconds=30), limit=10)
        run = s.get(WorkflowRun, c.id)
        assert run is not None
        key = f"{incident_id}.w{run.workflow_id}.v1.0.r{run.id}"
        s.add(
            WorkflowStepRun(
                run_id=run.id,
                position=0,
                kind="webhook",
                status="running",
                attempts=1,
                result={},
                idempotency_key=key,
                started_at=w.clock.now(),
            )
        )
        run.status = "running"
    w.clock.advance(timedelta(seconds=31))
    w.run()
    assert [h["webhook-id"] for _, h, _ in sink.received] == [f"wf_{key}"]
    _, headers, body = sink.received[0]
    assert verify_standard_webhook(SECRET, headers, body, now=w.clock.now()), "signed with the step's secret"
    with w.db.reader() as s:
        stored = workflows.get_workflow(s, "SEV1 response").steps[0]["secret"]
        assert stored != SECRET
        assert is_sealed(stored), "kept encrypted inside the definition"
        assert workflows.masked([{"secret": stored}]) == [{"secret": "***"}]
    # Saving it again with the mask keeps the secret: same version.
    _sev1_workflow(w, steps=[{"kind": "webhook", "url": sink.url + "/hook", "secret": "***"}])
    with w.db.reader() as s:
        assert workflows.get_workflow(s, "SEV1 response").version == 1
    with w.db.reader() as s:
        (step,) = s.scalars(select(WorkflowStepRun))
        assert step.status == "done"
        assert step.attempts == 2


def test_definitions_are_refused_with_the_path_of_the_fault(world: World, sink: Sink) -> None:
    w = world
    _action(w, sink)

    def refused(spec: dict[str, Any], name: str = "bad") -> str:
        with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as caught:
            workflows.save_workflow(s, name, spec, now=w.clock.now())
        return caught.value.detail

    update = {"kind": "stakeholder_update", "message": "hi"}
    base: dict[str, Any] = {"trigger": {"event": "declared"}, "steps": [update]}
    assert refused({**base, "colour": "red"}).startswith("workflow: unknown field(s) colour")
    assert refused({**base, "conditions": [{"field": "nope", "op": "=", "value": "x"}]}).startswith(
        "conditions.0: unknown field 'nope'"
    )
    assert refused({**base, "conditions": [{"field": "title", "op": "=~", "value": "(a"}]}).startswith(
        "conditions.0: bad regular expression"
    )
    assert refused({**base, "steps": [{"kind": "assign_role", "role": "Wizard", "user": "ann@example.com"}]}) == (
        "steps.0.role: no incident role 'Wizard'"
    )
    assert refused({**base, "steps": [{"kind": "add_checklist", "checklist": "Nope"}]}).startswith(
        "steps.0.checklist: no checklist template"
    )
    assert refused({**base, "steps": [{"kind": "action", "action": "Nope"}]}).startswith(
        "steps.0.action: no remediation action"
    )
    assert "steps.1.message: unknown field 'incident.colour'" in refused(
        {
            **base,
            "steps": [
                update,
                {"kind": "notify", "user": "ann@example.com", "message": "{{incident.colour}}"},
            ],
        }
    )
    assert refused({**base, "trigger": {"event": "sometimes"}}).startswith("trigger.event: unknown trigger")
    assert refused({**base, "trigger": {"event": "field_changed", "field": "colour"}}).startswith(
        "trigger.field: unknown field 'colour'"
    )
    # Cycles: two workflows that start each other through the fields they set.
    with w.db.unit_of_work() as s:
        workflows.save_workflow(
            s,
            "raise",
            {
                "trigger": {"event": "field_changed", "field": "priority"},
                "steps": [{"kind": "set_field", "field": "severity", "value": "SEV1"}],
            },
            now=w.clock.now(),
        )
    message = refused(
        {
            "trigger": {"event": "severity_changed"},
            "steps": [{"kind": "set_field", "field": "priority", "value": "P1"}],
        },
        "lower",
    )
    assert "cycle" in message
    assert "raise" in message
    assert "lower" in message
    # Action templates: unknown fields refused at save with their path.
    with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as caught:
        actions.save_action(s, "bad", {"url": sink.url, "body": '{"x": "{{incident.secret}}"}'}, now=w.clock.now())
    assert caught.value.detail.startswith("body: unknown field 'incident.secret'")


def test_playbooks_are_versioned_per_incident_and_manual_steps_ticked(world: World) -> None:
    w = world
    spec = {
        "guidance": "# Big bang\nAll hands.",
        "match": [{"field": "severity", "op": "=~", "value": "SEV1|SEV2"}],
        "steps": [
            {"title": "Open a bridge"},
            {
                "title": "Post the first update",
                "automatic": True,
                "step": {"kind": "stakeholder_update", "message": "Investigating {{incident.title}}"},
            },
        ],
    }
    with w.db.unit_of_work() as s:
        workflows.save_playbook(s, "Major", spec, now=w.clock.now())
    first = w.declare("SEV1")
    w.run()
    with w.db.unit_of_work() as s:
        workflows.save_playbook(s, "Major", {**spec, "steps": [{"title": "Something else"}]}, now=w.clock.now())
    second = w.declare("SEV2")
    w.run()
    with w.db.unit_of_work() as s:
        workflows.tick(s, first, "Major", 0, True, actor=PEOPLE, now=w.clock.now())
    with w.db.reader() as s:
        (one,) = workflows.playbooks_of(s, first)
        (two,) = workflows.playbooks_of(s, second)
    assert (one.version, [x.state for x in one.steps]) == (1, ["done", "done"])
    assert (two.version, [x.title for x in two.steps]) == (2, ["Something else"])
    assert "Stakeholder update: Investigating Checkout down" in w.timeline(first)


def test_simulation_says_what_would_run_without_acting(world: World, sink: Sink) -> None:
    w = world
    _action(w, sink)
    _sev1_workflow(w)
    with w.db.reader() as s:
        found = workflows.simulate(s, workflows.subject_of_payload({"severity": "SEV1"}), event="incident.triggered")
        assert [(x.name, x.would_run) for x in found] == [("SEV1 response", True)]
        other = workflows.simulate(s, workflows.subject_of_payload({"severity": "SEV4"}))
        assert other[0].would_run is False
        assert "condition" in other[0].reason
    with w.db.reader() as s:
        assert list(s.scalars(select(WorkflowRun))) == []
    assert sink.received == []


def test_a_timer_trigger_and_a_wait_until_a_condition(world: World) -> None:
    w = world
    with w.db.unit_of_work() as s:
        workflows.save_workflow(
            s,
            "Nag",
            {
                "trigger": {"event": "timer", "after": "declared", "minutes": 5},
                "steps": [
                    {"kind": "wait", "until": [{"field": "severity", "op": "=", "value": "SEV1"}], "minutes": 30},
                    {"kind": "stakeholder_update", "message": "now a SEV1"},
                ],
            },
            now=w.clock.now(),
        )
    incident_id = w.declare("SEV2")
    w.run()
    with w.db.reader() as s:
        (run,) = s.scalars(select(WorkflowRun))
        assert (run.status, run.due_at) == ("pending", w.clock.now() + timedelta(minutes=5))
    w.clock.advance(timedelta(minutes=5))
    w.run()
    assert "Stakeholder update: now a SEV1" not in w.timeline(incident_id)
    with w.db.unit_of_work() as s:
        incidents.update_fields(s, incident_id, actor=PEOPLE, now=w.clock.now(), severity="SEV1")
    w.clock.advance(timedelta(seconds=30))
    w.run()
    assert "Stakeholder update: now a SEV1" in w.timeline(incident_id)


def test_a_script_action_runs_only_when_enabled_and_allowlisted_without_a_shell(world: World) -> None:
    w = world
    echo = "/bin/echo"
    with w.db.unit_of_work() as s:
        actions.save_action(
            s,
            "Echo",
            {"kind": "script", "command": [echo, "restarting {{incident.title}}; rm -rf /"]},
            now=w.clock.now(),
        )
    incident_id = w.declare("SEV3")

    def run_with(env: actions.Env) -> ActionRun:
        with w.db.unit_of_work() as s:
            run = actions.request_run(s, incident_id, "Echo", actor=PEOPLE, role="admin", now=w.clock.now())
            run_id = run.id
        done = actions.perform(w.db, run_id, workflows.subject_of_id, env, w.clock)
        assert done is not None
        return done

    disabled = run_with(w.env)
    assert disabled.status == "failed"
    assert "disabled" in (disabled.error or "")
    elsewhere = run_with(
        actions.Env("http://tocsin.test", w.env.caller, scripts_enabled=True, script_allowlist=("/bin/true",))
    )
    assert "not in TOCSIN_WORKFLOW_SCRIPT_ALLOWLIST" in (elsewhere.error or "")
    allowed = run_with(actions.Env("http://tocsin.test", w.env.caller, scripts_enabled=True, script_allowlist=(echo,)))
    assert allowed.status == "succeeded"
    assert allowed.response_excerpt == "restarting Checkout down; rm -rf /\n", "one argument, no shell"
    assert any("restarting Checkout down" in m for m in w.timeline(incident_id)), "output on the timeline"


def test_a_workflow_sets_the_type_and_pages_someone_with_a_skill_into_the_incident(world: World) -> None:
    from tocsin.response import skills
    from tocsin.response import types as incident_types
    from tocsin.response.models import ResponderRequest
    from tocsin.users import service as users

    w = world
    with w.db.unit_of_work() as s:
        incident_types.seed_defaults(s, now=w.clock.now())
        skills.set_skills(s, users.get_user(s, "bob@example.com"), ["postgres"])
        workflows.save_workflow(
            s,
            "SEV1 is all hands",
            {
                "trigger": {"event": "declared"},
                "conditions": [{"field": "severity", "op": "=", "value": "SEV1"}],
                "steps": [
                    {"kind": "set_type", "type": "Big bang"},
                    {"kind": "add_responders", "skill": "postgres", "message": "DB expert for {{incident.title}}"},
                ],
            },
            now=w.clock.now(),
        )
    incident_id = w.declare("SEV1")
    w.run()
    with w.db.reader() as s:
        incident = incidents.get(s, incident_id)
        assert incident_types.names_by_id(s)[incident.type_id] == "Big bang"
        # The new type's required roles nobody holds become tasks (its severity and the rest stay as they were).
        assert "Assign Incident Commander" in [t.title for t in response.tasks(s, incident_id)]
        asked = list(s.scalars(select(ResponderRequest).where(ResponderRequest.incident_id == incident_id)))
        assert [(r.user_id, r.message) for r in asked] == [(w.bob, "DB expert for Checkout down")]
        steps = [x.status for x in s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.position))]
        assert steps == ["done", "done"]
    # Definitions naming what does not exist are refused with the path of the fault.
    for step, fault in (
        ({"kind": "set_type", "type": "Nope"}, "steps.0.type: no incident type 'Nope'"),
        ({"kind": "add_responders", "policy": "Nope"}, "steps.0.policy: no escalation policy 'Nope'"),
        ({"kind": "add_responders", "user": "bob@example.com", "skill": "x"}, "steps.0: give one of"),
    ):
        with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as refused:
            workflows.save_workflow(s, "bad", {"trigger": {"event": "declared"}, "steps": [step]}, now=w.clock.now())
        assert fault in refused.value.detail


def test_a_type_change_starts_the_workflows_that_follow_it(world: World) -> None:
    from tocsin.response import types as incident_types

    w = world
    with w.db.unit_of_work() as s:
        incident_types.seed_defaults(s, now=w.clock.now())
        workflows.save_workflow(
            s,
            "Security hand-off",
            {
                "trigger": {"event": "type_changed"},
                "conditions": [{"field": "type", "op": "=", "value": "Security (CyberSec)"}],
                "steps": [{"kind": "stakeholder_update", "message": "Security now leads {{incident.title}}"}],
            },
            now=w.clock.now(),
        )
    incident_id = w.declare("SEV3")
    w.run()
    assert not any("Security now leads" in m for m in w.timeline(incident_id)), "not before the type changes"
    with w.db.unit_of_work() as s:
        incident_types.change_type(s, incident_id, "Standard", actor=PEOPLE, now=w.clock.now())
    w.run()
    assert not any("Security now leads" in m for m in w.timeline(incident_id)), "another type: conditions unmet"
    with w.db.unit_of_work() as s:
        incident_types.change_type(s, incident_id, "Security (CyberSec)", actor=PEOPLE, now=w.clock.now())
    w.run()
    assert sum("Security now leads Checkout down" in m for m in w.timeline(incident_id)) == 1


@pytest.mark.parametrize("on_error", ["continue", "stop"])
def test_a_wait_until_a_condition_that_never_holds_ends_at_its_limit_and_follows_the_error_policy(
    world: World, on_error: str
) -> None:
    w = world
    with w.db.unit_of_work() as s:
        workflows.save_workflow(
            s,
            "Wait for SEV1",
            {
                "trigger": {"event": "declared"},
                "steps": [
                    {
                        "kind": "wait",
                        "until": [{"field": "severity", "op": "=", "value": "SEV1"}],
                        "minutes": 2,
                        "on_error": on_error,
                    },
                    {"kind": "stakeholder_update", "message": "after the wait"},
                ],
            },
            now=w.clock.now(),
        )
    incident_id = w.declare("SEV3")
    w.run()
    for _ in range(3):  # polled every 30 s, the condition never holds
        w.clock.advance(runner.WAIT_POLL)
        w.run()
        assert "Stakeholder update: after the wait" not in w.timeline(incident_id)
    w.clock.advance(runner.WAIT_POLL)
    w.run()
    with w.db.reader() as s:
        states = [x.status for x in s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.position))]
        (run,) = s.scalars(select(WorkflowRun))
    timeline = w.timeline(incident_id)
    assert any("failed: timed out waiting for the condition" in m for m in timeline)
    if on_error == "continue":
        assert (states, run.status) == (["failed", "done"], "done")
        assert "Stakeholder update: after the wait" in timeline
    else:
        assert (states, run.status) == (["failed"], "failed")
        assert "Stakeholder update: after the wait" not in timeline


def test_a_once_step_runs_once_per_incident_across_versions_and_runs(world: World) -> None:
    w = world

    def save(message: str) -> None:
        with w.db.unit_of_work() as s:
            workflows.save_workflow(
                s,
                "Once",
                {
                    "trigger": {"event": "manual"},
                    "steps": [
                        {"kind": "stakeholder_update", "message": message, "once": True},
                        {"kind": "stakeholder_update", "message": "every time"},
                    ],
                },
                now=w.clock.now(),
            )

    save("first words")
    first, second = w.declare(), w.declare()
    for incident_id in (first, first, second):
        with w.db.unit_of_work() as s:
            workflows.run_now(s, incident_id, "Once", actor=PEOPLE, now=w.clock.now())
        w.run()
    save("new words")  # version 2: the once step keeps its key, per incident
    with w.db.unit_of_work() as s:
        workflows.run_now(s, first, "Once", actor=PEOPLE, now=w.clock.now())
    w.run()
    one, two = w.timeline(first), w.timeline(second)
    assert one.count("Stakeholder update: first words") == 1
    assert "Stakeholder update: new words" not in one
    assert one.count("Stakeholder update: every time") == 3
    assert sum("skipped: already ran once on this incident" in m for m in one) == 2
    assert two.count("Stakeholder update: first words") == 1


def test_more_definitions_refused_with_the_path_of_the_fault(world: World, sink: Sink) -> None:
    w = world

    def refused(spec: dict[str, Any], name: str = "bad") -> str:
        with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as caught:
            workflows.save_workflow(s, name, spec, now=w.clock.now())
        return caught.value.detail

    declared = {"event": "declared"}
    note = {"kind": "stakeholder_update", "message": "hi"}
    # Unknown fields, wherever they are.
    assert refused({"trigger": {**declared, "when": "now"}, "steps": [note]}).startswith(
        "trigger: unknown field(s) when"
    )
    assert refused({"trigger": declared, "steps": [note, {**note, "colour": "red"}]}).startswith(
        "steps.1: unknown field(s) colour"
    )
    assert refused(
        {"trigger": declared, "steps": [{"kind": "wait", "minutes": 5, "until": [{"field": "x"}]}]}
    ).startswith("steps.0.until.0")
    assert refused({"trigger": declared, "steps": [{"kind": "wait", "minutes": 0}]}).startswith("steps.0.minutes")
    assert refused({"trigger": declared, "steps": [{**note, "on_error": "retry"}]}) == (
        "steps.0.on_error: continue or stop"
    )
    assert refused({"trigger": declared, "steps": [{**note, "once": "yes"}]}) == "steps.0.once: true or false"
    # References to things that do not exist.
    for step, fault in (
        ({"kind": "notify", "role": "Wizard", "message": "x"}, "steps.0.role: no incident role 'Wizard'"),
        ({"kind": "notify", "user": "nobody@example.com", "message": "x"}, "steps.0.user: no user"),
        ({"kind": "notify", "team": "Nope", "message": "x"}, "steps.0.team: no team 'Nope'"),
        ({"kind": "assign_role", "role": "Incident Commander", "schedule": "Nope"}, "steps.0.schedule: no schedule"),
        ({"kind": "set_type", "type": "Nope"}, "steps.0.type: no incident type 'Nope'"),
    ):
        assert refused({"trigger": declared, "steps": [step]}).startswith(fault), step
    # A playbook's automatic step is checked the same way, under its own path.
    with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as caught:
        workflows.save_playbook(
            s,
            "bad",
            {"steps": [{"title": "Page", "automatic": True, "step": {"kind": "action", "action": "Nope"}}]},
            now=w.clock.now(),
        )
    assert caught.value.detail.startswith("steps.0.step.action: no remediation action 'Nope'")
    # A cycle through a timer and a wait: each workflow waits, then sets the field the other one follows.
    with w.db.unit_of_work() as s:
        workflows.save_workflow(
            s,
            "escalate later",
            {
                "trigger": {"event": "timer", "after": "severity_changed", "minutes": 10},
                "steps": [{"kind": "wait", "minutes": 5}, {"kind": "set_field", "field": "priority", "value": "P1"}],
            },
            now=w.clock.now(),
        )
    message = refused(
        {
            "trigger": {"event": "field_changed", "field": "priority"},
            "steps": [{"kind": "wait", "minutes": 5}, {"kind": "set_field", "field": "severity", "value": "SEV1"}],
        },
        "back again",
    )
    assert "cycle" in message
    assert "escalate later" in message
    assert "back again" in message
    with w.db.reader() as s:
        assert [x.name for x in workflows.list_workflows(s)] == ["escalate later"]


def test_a_batch_records_one_call_in_flight_at_a_time(world: World, sink: Sink) -> None:
    """The claim of a batch and its runs' first steps share a transaction; the calls out are made one after the
    other, so that transaction records none of them as in flight: a worker killed after it (before its first call)
    leaves no action ambiguous, and the next worker runs each exactly once."""
    w = world
    _action(w, sink, callback_minutes=0, secret="")
    _sev1_workflow(w, steps=[{"kind": "action", "action": "Restart checkout"}])
    for _ in range(3):
        w.declare("SEV1")
    w.events.run_once(w.clock.now())
    with w.db.unit_of_work() as s:
        claims = runner.claim(s, now=w.clock.now(), owner="dies", lease=timedelta(seconds=30), limit=10)
        assert len(claims) == 3
        for c in claims:
            assert runner.first_stretch(s, c, w.env, w.clock.now(), timedelta(seconds=30)) is not None
    with w.db.reader() as s:
        assert [x.status for x in s.scalars(select(WorkflowStepRun))] == []
    # The worker died there; its leases run out and another takes the runs over.
    w.clock.advance(timedelta(seconds=31))
    w.run()
    with w.db.reader() as s:
        assert sorted(x.status for x in s.scalars(select(WorkflowStepRun))) == ["done"] * 3
    assert len(sink.received) == 3
