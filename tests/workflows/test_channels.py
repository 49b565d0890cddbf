"""A workflow ``notify`` step to a chat channel: a Slack channel (the fake Slack Web API) and a Microsoft Teams
Workflows webhook (the fake webhook sink), both speaking the real wire format, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.fakes._server import Reply
from tests.fakes.fixtures import running
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.fakes.teams import WebhookSink
from tests.workflows.test_workflows import PEOPLE, World, new_world
from tocsin.core.clock import FakeClock
from tocsin.core.errors import InvalidInput
from tocsin.db.encrypted import is_sealed
from tocsin.db.session import Database
from tocsin.engine.modules.workflows import WorkflowModule
from tocsin.incidents import service as incidents
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.notify.providers.chat_webhooks import teams_provider
from tocsin.notify.providers.slack import SlackProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.workflows import actions, channels, runner
from tocsin.workflows import service as workflows
from tocsin.workflows.models import WorkflowChannel, WorkflowRun, WorkflowStepRun


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    yield from running(FakeSlack())


@pytest.fixture
def teams() -> Iterator[WebhookSink]:
    yield from running(WebhookSink())


@pytest.fixture
def world(db: Database, clock: FakeClock, slack: FakeSlack) -> World:
    w = new_world(db, clock)
    guard = UrlGuard(["127.0.0.1"])
    providers = ProviderRegistry([SlackProvider(BOT_TOKEN, base_url=slack.url), teams_provider(guard)])
    w.env = actions.Env(base_url="http://tocsin.test", caller=w.env.caller, providers=providers)
    w.engine = WorkflowModule(db, w.env, clock, owner="w1")
    return w


def _channels(w: World, teams: WebhookSink) -> None:
    with w.db.unit_of_work() as s:
        channels.save_channel(s, "ops", {"provider": "slack", "address": "#incidents"}, now=w.clock.now())
        channels.save_channel(
            s, "support", {"provider": "teams", "address": teams.url + "/teams/hook-secret"}, now=w.clock.now()
        )


def _workflow(w: World, steps: list[dict[str, Any]]) -> None:
    with w.db.unit_of_work() as s:
        workflows.save_workflow(
            s, "Tell the room", {"trigger": {"event": "declared"}, "steps": steps}, now=w.clock.now()
        )


def _states(w: World) -> list[str]:
    with w.db.reader() as s:
        return [x.status for x in s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.id))]


def test_a_notify_step_posts_to_a_slack_and_a_teams_channel_once_each(
    world: World, slack: FakeSlack, teams: WebhookSink
) -> None:
    w = world
    _channels(w, teams)
    _workflow(
        w,
        [
            {"kind": "notify", "channel": "ops", "message": "SEV1 declared: {{incident.title}}"},
            {"kind": "notify", "channel": "support", "message": "Heads up: {{incident.title}}"},
        ],
    )
    incident_id = w.declare("SEV1")
    w.run()
    w.run()

    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "#incidents"
    assert post.args["text"].startswith("SEV1 declared: Checkout down")
    assert "http://tocsin.test/incidents/" in post.args["text"]
    ((kind, card),) = teams.bodies
    assert kind == "teams"
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["body"][0]["text"].startswith("Heads up: Checkout down")
    assert _states(w) == ["done", "done"]
    with w.db.reader() as s:
        steps = list(s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.position)))
        assert steps[0].result["provider_ref"].startswith("#incidents:")
        assert steps[1].result["status_code"] == 202
        (run,) = s.scalars(select(WorkflowRun))
        assert run.status == "done"
        # The webhook URL is a credential: sealed at rest, shown by origin only.
        stored = s.scalars(select(WorkflowChannel).where(WorkflowChannel.name == "support")).one()
        assert channels.shown_address(stored) == teams.url + "/…"
    timeline = w.timeline(incident_id)
    assert "Workflow Tell the room, step 1 (notify) done: posted to channel ops" in timeline
    assert "Workflow Tell the room, step 2 (notify) done: posted to channel support" in timeline


def test_the_webhook_url_is_sealed_at_rest(db: Database, clock: FakeClock, teams: WebhookSink) -> None:
    with db.unit_of_work() as s:
        channels.save_channel(s, "support", {"provider": "teams", "address": teams.url + "/teams/x"}, now=clock.now())
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT address FROM workflow_channels").scalar_one()
    assert is_sealed(raw)


def test_a_post_cut_short_by_its_workers_death_is_ambiguous_and_never_sent_again(
    world: World, slack: FakeSlack, teams: WebhookSink
) -> None:
    w = world
    _channels(w, teams)
    _workflow(
        w,
        [
            {"kind": "notify", "channel": "ops", "message": "{{incident.title}}", "on_error": "continue"},
            {"kind": "stakeholder_update", "message": "carried on"},
        ],
    )
    incident_id = w.declare("SEV1")
    w.events.run_once(w.clock.now())
    # A worker claims the run, records the post as running, and dies before recording its outcome.
    with w.db.unit_of_work() as s:
        (c,) = runner.claim(s, now=w.clock.now(), owner="dies", lease=timedelta(seconds=30), limit=10)
        run = s.get(WorkflowRun, c.id)
        assert run is not None
        s.add(
            WorkflowStepRun(
                run_id=run.id,
                position=0,
                kind="notify",
                status="running",
                attempts=1,
                result={},
                idempotency_key=f"{incident_id}.w{run.workflow_id}.v1.0.r{run.id}",
                started_at=w.clock.now(),
            )
        )
        run.status = "running"
    w.engine.run_once(w.clock.now())
    assert _states(w) == ["running"], "the lease still holds"
    w.clock.advance(timedelta(seconds=31))
    w.run()
    assert slack.calls_to("chat.postMessage") == [], "never posted twice blindly"
    assert _states(w) == ["ambiguous", "done"]
    assert any("ambiguous: the worker stopped during the call" in m for m in w.timeline(incident_id))


def test_a_rate_limited_post_is_tried_again_later_and_a_refused_one_follows_the_error_policy(
    world: World, slack: FakeSlack, teams: WebhookSink
) -> None:
    w = world
    _channels(w, teams)
    _workflow(w, [{"kind": "notify", "channel": "ops", "message": "{{incident.title}}"}])
    slack.script(Reply.json(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "20"}))
    incident_id = w.declare("SEV1")
    w.run()
    assert _states(w) == ["retry"]
    with w.db.reader() as s:
        (run,) = s.scalars(select(WorkflowRun))
        assert (run.status, run.due_at) == ("waiting", w.clock.now() + timedelta(seconds=20))
    w.clock.advance(timedelta(seconds=19))
    w.run()
    assert len(slack.calls_to("chat.postMessage")) == 1, "not before Slack's Retry-After"
    w.clock.advance(timedelta(seconds=1))
    w.run()
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert _states(w) == ["done"]
    assert any("refused the post for now" in m for m in w.timeline(incident_id))

    # A refusal that will not change (the bot is not in the channel): failed at once, the run stops.
    _workflow(
        w,
        [
            {"kind": "notify", "channel": "ops", "message": "{{incident.title}}"},
            {"kind": "stakeholder_update", "message": "never posted"},
        ],
    )
    slack.script(Reply.json(200, {"ok": False, "error": "not_in_channel"}))
    other = w.declare("SEV1")
    w.run()
    with w.db.reader() as s:
        last = s.scalars(select(WorkflowRun).where(WorkflowRun.incident_id == other)).one()
        assert last.status == "failed"
        assert "not_in_channel" in (last.error or "")
    assert len(slack.calls_to("chat.postMessage")) == 3
    assert not any("never posted" in m for m in w.timeline(other))


def test_a_private_incident_is_named_only_by_number_in_a_channel(
    world: World, slack: FakeSlack, teams: WebhookSink
) -> None:
    w = world
    _channels(w, teams)
    _workflow(w, [{"kind": "notify", "channel": "ops", "message": "{{incident.title}} is on fire"}])
    with w.db.unit_of_work() as s:
        incident = incidents.declare(
            s,
            service_id=w.service_id,
            title="Payroll leak",
            actor=PEOPLE,
            now=w.clock.now(),
            severity="SEV1",
            private=True,
        )
        number = incident.number
    w.run()
    (post,) = slack.calls_to("chat.postMessage")
    assert "Payroll" not in json.dumps(post.args)
    assert post.args["text"].startswith(f"Private incident #{number}")


def test_a_channel_without_its_provider_in_the_process_fails_the_step_saying_why(
    db: Database, clock: FakeClock, teams: WebhookSink
) -> None:
    w = new_world(db, clock)  # no Slack token: no Slack provider
    _channels(w, teams)
    _workflow(w, [{"kind": "notify", "channel": "ops", "message": "{{incident.title}}"}])
    incident_id = w.declare("SEV1")
    w.run()
    assert _states(w) == ["failed"]
    assert any("no slack provider in this process" in m for m in w.timeline(incident_id))


def test_unknown_channels_and_providers_are_refused_with_the_path_of_the_fault(
    world: World, teams: WebhookSink
) -> None:
    w = world
    _channels(w, teams)

    def refused(spec: dict[str, Any]) -> str:
        with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as caught:
            workflows.save_workflow(s, "bad", spec, now=w.clock.now())
        return caught.value.detail

    declared = {"event": "declared"}
    note = {"kind": "stakeholder_update", "message": "hi"}
    assert refused({"trigger": declared, "steps": [note, {"kind": "notify", "channel": "nope", "message": "x"}]}) == (
        "steps.1.channel: no chat channel 'nope'"
    )
    assert refused(
        {
            "trigger": declared,
            "steps": [{"kind": "notify", "channel": "ops", "user": "ann@example.com", "message": "x"}],
        }
    ).startswith("steps.0: give one of user, team, role")
    assert refused(
        {"trigger": declared, "steps": [{"kind": "notify", "channel": "ops", "room": "x", "message": "x"}]}
    ).startswith("steps.0: unknown field(s) room")
    assert "steps.0.message: unknown field 'incident.colour'" in refused(
        {"trigger": declared, "steps": [{"kind": "notify", "channel": "ops", "message": "{{incident.colour}}"}]}
    )

    def channel_refused(spec: dict[str, Any]) -> str:
        with w.db.unit_of_work() as s, pytest.raises(InvalidInput) as caught:
            channels.save_channel(s, "bad", spec, now=w.clock.now())
        return caught.value.detail

    assert channel_refused({"provider": "irc", "address": "#ops"}).startswith("provider: unknown chat provider 'irc'")
    assert channel_refused({"provider": "slack", "address": "https://x.test/"}).startswith("address: a Slack channel")
    assert channel_refused({"provider": "teams", "address": "#ops"}).startswith("address: the teams incoming webhook")
    assert channel_refused({"provider": "slack", "address": "#ops", "colour": 1}).startswith("colour: unknown field")
    with w.db.reader() as s:
        assert [c.name for c in channels.list_channels(s)] == ["ops", "support"]
