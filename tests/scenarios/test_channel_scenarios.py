"""Paging channels end to end: the real engine and providers send to fake Twilio and Slack APIs over loopback
HTTP, and replies come back as signed HTTP requests to the application served on loopback."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from tests.fakes.fixtures import running
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, slack_signature
from tests.fakes.teams import WebhookSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
from tests.scenarios.harness import WEB, World
from tocsin.app import create_app
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.notify.providers.chat_webhooks import teams_provider
from tocsin.notify.ssrf import UrlGuard
from tocsin.runtime import Runtime
from tocsin.settings import load_settings
from tocsin.users import service as users

PUBLIC = "http://tocsin.test"
ALICE_PHONE = "+15550000001"
BOB_PHONE = "+15550000002"


class LiveServer:
    """The ASGI app served by uvicorn on 127.0.0.1 at a free port, in a thread."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass
class Channels:
    world: World
    twilio: FakeTwilio
    slack: FakeSlack
    server: LiveServer
    http: httpx.Client
    runtime: Runtime

    # --- Twilio to us --------------------------------------------------------------------------------------
    def twilio_post(
        self, path: str, params: dict[str, str], *, signature: str | None = None, signed_url: str | None = None
    ) -> httpx.Response:
        sig = signature or self.twilio.sign(signed_url or f"{PUBLIC}{path}", params)
        return self.http.post(
            f"{self.server.url}{path}",
            content=urlencode(params),
            headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig},
        )

    def sms_in(self, sender: str, body: str, *, sid: str | None = None, **kw: Any) -> httpx.Response:
        params = {
            "MessageSid": sid or f"SM{time.monotonic_ns():032d}"[-34:],
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": FROM,
            "Body": body,
            "NumMedia": "0",
        }
        return self.twilio_post("/webhooks/twilio/sms", params, **kw)

    # --- Slack to us ---------------------------------------------------------------------------------------
    def click(
        self, slack_user: str, action_id: str, value: str, *, age: int = 0, secret: str = SIGNING_SECRET
    ) -> tuple[httpx.Response, bytes, dict[str, str]]:
        body, headers = self.signed_click(slack_user, action_id, value, age=age, secret=secret)
        return self.post_slack(body, headers), body, headers

    def signed_click(
        self, slack_user: str, action_id: str, value: str, *, age: int = 0, secret: str = SIGNING_SECRET
    ) -> tuple[bytes, dict[str, str]]:
        payload = {
            "type": "block_actions",
            "user": {"id": slack_user, "username": slack_user.lower(), "team_id": "T1"},
            "team": {"id": "T1"},
            "response_url": f"{self.slack.server.url}/actions/T1/1/abc",
            "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        stamp = str(int(self.world.clock.now().timestamp()) - age)
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": slack_signature(secret, stamp, body),
        }
        return body, headers

    def post_slack(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(f"{self.server.url}/webhooks/slack/interactivity", content=body, headers=headers)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    yield from running(FakeTwilio())


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    yield from running(FakeSlack())


@pytest.fixture
def ch(world: World, fake_twilio: FakeTwilio, fake_slack: FakeSlack) -> Iterator[Channels]:
    settings = load_settings(
        database_url=world.db.url,
        run_worker=False,
        public_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        twilio_base_url=fake_twilio.url,
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_base_url=fake_slack.url,
    )
    app = create_app(settings, clock=world.clock, db=world.db)
    providers = app.state.runtime.providers
    world.add_providers(providers.get("sms"), providers.get("voice"), providers.get("slack"))
    server = LiveServer(app)
    server.start()
    with httpx.Client(timeout=10, trust_env=False) as http:
        yield Channels(world, fake_twilio, fake_slack, server, http, app.state.runtime)
    server.stop()


def two_steps(w: World, first: list[tuple[str, str, int]], **kw: Any) -> None:
    alice = w.person("alice", first, **kw)
    bob = w.user("bob")
    w.service(
        "api",
        w.policy("p", [([{"kind": "user", "ref": alice.id}], 300), ([{"kind": "user", "ref": bob.id}], 300)]),
    )


def entries(w: World, incident: Incident, kind: str) -> list[tuple[str, str, str]]:
    return [e for e in w.timeline_entries(incident) if e[0] == kind]


# --- SMS -----------------------------------------------------------------------------------------------------


def test_sms_reply_4_acknowledges_and_stops_the_escalation(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1", "Checkout is down")
    w.run()
    (page,) = ch.twilio.messages(ALICE_PHONE)
    assert f"#{incident.number}" in page.params["Body"]
    assert "Reply 4 to ack" in page.params["Body"]

    answer = ch.sms_in(ALICE_PHONE, "4")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert f"Incident #{incident.number} acknowledged." in answer.text
    assert w.status_of(incident) == "acknowledged"
    (ack,) = entries(w, incident, "acknowledged")
    assert ack[1] == "sms"

    w.advance(3600)  # bob's step was due at 300 s; the world fixture fails on any email to him
    assert len(ch.twilio.sent) == 1


def test_a_code_with_a_number_or_all(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0)])
    first = w.trigger("api", "k1")
    second = w.trigger("api", "k2")
    third = w.trigger("api", "k3")
    w.run()
    assert len(ch.twilio.messages(ALICE_PHONE)) == 3
    assert f"#{second.number} resolved" in ch.sms_in(ALICE_PHONE, f"6 {second.number}").text
    assert w.status_of(second) == "resolved"
    assert w.status_of(first) == "triggered"
    answer = ch.sms_in(ALICE_PHONE, "4 all")
    assert f"Acknowledged #{first.number}, #{third.number}." in answer.text
    assert {w.status_of(first), w.status_of(third)} == {"acknowledged"}
    w.advance(3600)


def test_a_bare_code_acknowledges_the_newest_page_still_ringing(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0)])
    older = w.trigger("api", "k1")
    w.run()
    newer = w.trigger("api", "k2")
    w.run()
    assert f"#{newer.number} acknowledged" in ch.sms_in(ALICE_PHONE, "4").text
    assert w.status_of(older) == "triggered"
    assert f"#{older.number} acknowledged" in ch.sms_in(ALICE_PHONE, "4").text
    assert f"Resolved #{older.number}, #{newer.number}." in ch.sms_in(ALICE_PHONE, "6 all").text
    assert {w.status_of(older), w.status_of(newer)} == {"resolved"}
    assert "no open incidents" in ch.sms_in(ALICE_PHONE, "4").text


def test_an_undelivered_text_falls_back_to_the_next_rule(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0), ("email", "alice@example.com", 600)])
    incident = w.trigger("api", "k1")
    w.run()
    (sent,) = ch.twilio.messages(ALICE_PHONE)
    receipt = sent.params["StatusCallback"].removeprefix(PUBLIC)
    delivered = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": ALICE_PHONE, "From": FROM}
    assert ch.twilio_post(receipt, delivered).status_code == 204
    assert entries(w, incident, "notify_failed") == []
    assert ch.twilio_post(receipt, {**delivered, "MessageStatus": "sent"}, signature="Zm9yZ2Vk").status_code == 401
    undelivered = {**delivered, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert ch.twilio_post(receipt, undelivered).status_code == 204
    assert ch.twilio_post(receipt, undelivered).status_code == 401
    (failed,) = entries(w, incident, "notify_failed")
    assert failed[2] == "sms to Alice undelivered (Twilio error 30003); falling back to email"
    w.run()
    w.expect_email("alice", number=incident.number)
    w.ack(incident)


def test_unknown_number_changes_nothing_and_gets_no_answer(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1")
    w.run()
    before = w.timeline_entries(incident)
    answer = ch.sms_in("+15559990000", "4")
    assert answer.status_code == 200
    assert "<Message>" not in answer.text
    assert w.status_of(incident) == "triggered"
    assert w.timeline_entries(incident) == before
    ch.sms_in(ALICE_PHONE, "6")


def test_unknown_code_gets_help_and_replies_are_limited(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1")
    w.run()
    answers = [ch.sms_in(ALICE_PHONE, "what is this?") for _ in range(7)]
    assert all(a.status_code == 200 for a in answers)
    helped = [a for a in answers if "Reply 4 to ack" in a.text]
    assert len(helped) == 5  # then silence, so an auto-responder cannot loop with us
    assert w.status_of(incident) == "triggered"
    assert "<Message>" not in ch.sms_in(ALICE_PHONE, "STOP").text
    ch.sms_in(ALICE_PHONE, "6")


def test_forged_or_replayed_sms_is_refused_and_changes_nothing(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1")
    w.run()
    before = w.timeline_entries(incident)

    assert ch.sms_in(ALICE_PHONE, "6", signature="bm90IGEgc2lnbmF0dXJl").status_code == 401
    other = {"MessageSid": "SM" + "2" * 32, "From": ALICE_PHONE, "To": FROM, "Body": "6"}
    wrong_token = FakeTwilio(auth_token="another-account-token").sign(f"{PUBLIC}/webhooks/twilio/sms", other)
    assert ch.twilio_post("/webhooks/twilio/sms", other, signature=wrong_token).status_code == 401
    # Signed for another URL (the address the request reached rather than the public one).
    assert ch.sms_in(ALICE_PHONE, "6", signed_url=f"{ch.server.url}/webhooks/twilio/sms").status_code == 401
    # A tampered body: the signature covers Body.
    params = {"MessageSid": "SM" + "1" * 32, "From": ALICE_PHONE, "To": FROM, "Body": "4"}
    good = ch.twilio.sign(f"{PUBLIC}/webhooks/twilio/sms", params)
    assert ch.twilio_post("/webhooks/twilio/sms", {**params, "Body": "6"}, signature=good).status_code == 401
    assert w.status_of(incident) == "triggered"
    assert w.timeline_entries(incident) == before

    assert ch.twilio_post("/webhooks/twilio/sms", params, signature=good).status_code == 200
    assert w.status_of(incident) == "acknowledged"
    with w.db.unit_of_work() as s:
        incidents.retrigger(s, incident.id, actor=WEB, now=w.now())
    w.run()
    assert len(ch.twilio.messages(ALICE_PHONE)) == 2  # paged again after the retrigger
    after = w.timeline_entries(incident)
    replayed = ch.twilio_post("/webhooks/twilio/sms", params, signature=good)
    assert replayed.status_code == 401
    assert w.status_of(incident) == "triggered"
    assert w.timeline_entries(incident) == after
    ch.sms_in(ALICE_PHONE, "6")


def test_sms_outage_falls_back_to_the_next_rule(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0), ("email", "alice@example.com", 600)])
    ch.twilio.fail_always(500)
    incident = w.trigger("api", "k1")
    w.run()
    w.advance(45)  # three attempts (retry policy of the harness: 10 s, then 20 s), far before the 600 s rule
    w.expect_email("alice", number=incident.number)
    retries = entries(w, incident, "notify_retry")
    (failed,) = entries(w, incident, "notify_failed")
    assert len(retries) == 2
    assert "HTTP 500" in failed[2]
    assert "falling back to email" in failed[2]
    assert ch.twilio.sent == []
    w.ack(incident)


# --- voice ---------------------------------------------------------------------------------------------------


def call_params(call_sid: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": FROM,
        "To": ALICE_PHONE,
        "Direction": "outbound-api",
        "CallStatus": "in-progress",
        **extra,
    }


def test_voice_keypress_acknowledges(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("voice", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1", "Database replica lag")
    w.run()
    (call,) = ch.twilio.calls(ALICE_PHONE)
    path = call.params["Url"].removeprefix(PUBLIC)
    twiml = ch.twilio_post(path, call_params("CA1"))
    assert twiml.status_code == 200
    assert "<Gather" in twiml.text
    assert "Press 4 to acknowledge" in twiml.text
    assert "Database replica lag" in twiml.text
    assert ch.twilio_post(path, call_params("CA1", Digits="4"), signature="Zm9yZ2Vk").status_code == 401
    assert w.status_of(incident) == "triggered"

    pressed = ch.twilio_post(path, call_params("CA1", Digits="4"))
    assert pressed.status_code == 200
    assert "acknowledged" in pressed.text
    assert w.status_of(incident) == "acknowledged"
    (ack,) = entries(w, incident, "acknowledged")
    assert ack[1] == "voice"
    assert ch.twilio_post(path, call_params("CA1", Digits="4")).status_code == 401  # the same press again
    w.advance(3600)


def test_an_unanswered_call_is_placed_again_then_falls_back(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("voice", ALICE_PHONE, 0), ("email", "alice@example.com", 240)])
    incident = w.trigger("api", "k1")
    w.run()
    for attempt in (1, 2, 3):
        calls = ch.twilio.calls(ALICE_PHONE)
        assert len(calls) == attempt
        status_path = calls[-1].params["StatusCallback"].removeprefix(PUBLIC)
        ended = call_params(f"CA{attempt}", CallStatus="busy" if attempt == 2 else "no-answer", CallDuration="0")
        assert ch.twilio_post(status_path, ended).status_code == 204
        assert ch.twilio_post(status_path, ended).status_code == 401  # a replay places no extra call
        w.advance(61)
    notes = [e[2] for e in entries(w, incident, "notify_unanswered")]
    assert len(notes) == 3
    assert "no answer; calling again" in notes[0]
    assert "busy; calling again" in notes[1]
    assert notes[2].endswith("no answer; giving up; falling back to email")
    w.expect_email("alice", number=incident.number)  # at about 183 s, not at the rule's 240 s
    assert len(ch.twilio.calls(ALICE_PHONE)) == 3
    w.ack(incident)


def test_a_voicemail_is_not_a_person(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("voice", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1", "Disk full")
    w.run()
    (call,) = ch.twilio.calls(ALICE_PHONE)
    path = call.params["Url"].removeprefix(PUBLIC)
    machine = ch.twilio_post(path, call_params("CA1", AnsweredBy="machine_end_beep"))
    assert machine.status_code == 200
    assert "<Gather" not in machine.text
    assert "Disk full" in machine.text
    (note,) = entries(w, incident, "notify_unanswered")
    assert "answered by machine; calling again" in note[2]
    assert ch.twilio_post(path, call_params("CA1", AnsweredBy="machine_end_beep")).status_code == 401  # replayed
    status_path = call.params["StatusCallback"].removeprefix(PUBLIC)
    assert ch.twilio_post(status_path, call_params("CA1", CallStatus="completed")).status_code == 204
    w.advance(61)
    (_, second) = ch.twilio.calls(ALICE_PHONE)
    human = ch.twilio_post(second.params["Url"].removeprefix(PUBLIC), call_params("CA2", AnsweredBy="human"))
    assert "<Gather" in human.text
    assert ch.twilio_post(second.params["Url"].removeprefix(PUBLIC), call_params("CA2", Digits="4")).status_code == 200
    assert w.status_of(incident) == "acknowledged"
    assert len(entries(w, incident, "notify_unanswered")) == 1


def test_a_call_that_ends_after_an_acknowledgement_is_not_repeated(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("voice", ALICE_PHONE, 0)])
    incident = w.trigger("api", "k1")
    w.run()
    (call,) = ch.twilio.calls(ALICE_PHONE)
    w.ack(incident)
    status_path = call.params["StatusCallback"].removeprefix(PUBLIC)
    assert ch.twilio_post(status_path, call_params("CA1", CallStatus="no-answer")).status_code == 204
    w.advance(600)
    assert len(ch.twilio.calls(ALICE_PHONE)) == 1
    assert "calling again" not in " ".join(e[2] for e in entries(w, incident, "notify_unanswered"))


# --- Slack ---------------------------------------------------------------------------------------------------


def test_slack_button_acknowledges_and_the_message_is_updated(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("slack", "U0ALICE", 0)])
    incident = w.trigger("api", "k1", "Queue backlog")
    w.run()
    (post,) = ch.slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "U0ALICE"
    blocks = post.args["blocks"] if isinstance(post.args["blocks"], list) else json.loads(post.args["blocks"])
    buttons = {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}
    ack_id = f"tocsin.acknowledge.{incident.id}"
    assert set(buttons) == {ack_id, f"tocsin.resolve.{incident.id}", f"tocsin.escalate.{incident.id}"}

    answer, body, headers = ch.click("U0ALICE", ack_id, buttons[ack_id]["value"])
    assert answer.status_code == 200
    assert w.status_of(incident) == "acknowledged"
    (ack,) = entries(w, incident, "acknowledged")
    assert ack[1] == "slack"
    assert ch.post_slack(body, headers).status_code == 401  # replayed

    w.run()
    (update,) = ch.slack.calls_to("chat.update")
    (dm, ts) = next(iter(ch.slack.messages))
    assert (update.args["channel"], update.args["ts"]) == (dm, ts)
    new_blocks = update.args["blocks"] if isinstance(update.args["blocks"], list) else json.loads(update.args["blocks"])
    text = json.dumps(new_blocks)
    assert "acknowledged" in text
    assert ack_id not in text
    assert f"tocsin.resolve.{incident.id}" in text

    # Resolved elsewhere (the API): the message follows, and loses its buttons.
    w.resolve(incident)
    w.run()
    last = ch.slack.calls_to("chat.update")[-1]
    final = last.args["blocks"] if isinstance(last.args["blocks"], list) else json.loads(last.args["blocks"])
    assert "resolved" in json.dumps(final)
    assert not [b for b in final if b["type"] == "actions"]
    w.advance(3600)


def test_a_slack_page_that_lands_after_an_acknowledgement_is_corrected(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("slack", "U0ALICE", 0)])
    incident = w.trigger("api", "k1")
    acked: list[int] = []

    def ack_first(_notification_id: int) -> None:
        if not acked:
            acked.append(_notification_id)
            w.ack(incident)

    w.notifier.before_send = ack_first
    w.run()
    assert acked
    assert len(ch.slack.calls_to("chat.postMessage")) == 1
    (update,) = ch.slack.calls_to("chat.update")
    text = update.args["blocks"] if isinstance(update.args["blocks"], str) else json.dumps(update.args["blocks"])
    assert "Acknowledged before this message arrived" in text
    assert f"tocsin.acknowledge.{incident.id}" not in text
    assert [e[0] for e in w.timeline_entries(incident)].count("notify_updated") == 1


def test_a_slack_account_is_matched_by_its_profile_email(ch: Channels) -> None:
    w = ch.world
    ch.slack.users_by_email["alice.work@example.org"] = "U0ALICE"
    ch.slack.profiles["U0ALICE"] = "alice.work@example.org"
    two_steps(w, [("slack", "alice.work@example.org", 0)])
    incident = w.trigger("api", "k1")
    w.run()
    assert ch.slack.calls_to("chat.postMessage")[0].args["channel"] == "U0ALICE"
    answer, _, _ = ch.click("U0ALICE", f"tocsin.acknowledge.{incident.id}", str(incident.id))
    assert answer.status_code == 200
    assert w.status_of(incident) == "acknowledged"
    assert [c.args["user"] for c in ch.slack.calls_to("users.info")] == ["U0ALICE"]
    w.run()
    assert len(ch.slack.calls_to("chat.update")) == 1


def test_slack_unknown_user_gets_an_ephemeral_explanation(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("slack", "U0ALICE", 0)])
    incident = w.trigger("api", "k1")
    w.run()
    answer, _, _ = ch.click("U0MALLORY", f"tocsin.acknowledge.{incident.id}", str(incident.id))
    assert answer.status_code == 200
    assert w.status_of(incident) == "triggered"
    deadline = time.monotonic() + 10
    while not [c for c in ch.slack.calls if c.method.startswith("/actions/")]:
        assert time.monotonic() < deadline, "no ephemeral answer"
        time.sleep(0.02)
    (reply,) = [c for c in ch.slack.calls if c.method.startswith("/actions/")]
    assert reply.args["response_type"] == "ephemeral"
    assert "not linked" in reply.args["text"]
    w.ack(incident)


def test_slack_forged_or_stale_requests_are_refused(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("slack", "U0ALICE", 0)], slack_user_id="U0ALICE")
    incident = w.trigger("api", "k1")
    w.run()
    action = f"tocsin.resolve.{incident.id}"
    before = w.timeline_entries(incident)
    assert ch.click("U0ALICE", action, str(incident.id), secret="wrong-secret")[0].status_code == 401
    assert ch.click("U0ALICE", action, str(incident.id), age=301)[0].status_code == 401
    body, headers = ch.signed_click("U0ALICE", f"tocsin.acknowledge.{incident.id}", str(incident.id))
    assert ch.post_slack(body.replace(b"acknowledge", b"resolve"), headers).status_code == 401
    assert ch.post_slack(body, {**headers, "x-slack-signature": ""}).status_code == 401
    assert w.status_of(incident) == "triggered"
    assert w.timeline_entries(incident) == before
    assert ch.click("U0ALICE", action, str(incident.id), age=299)[0].status_code == 200
    assert w.status_of(incident) == "resolved"
    w.advance(3600)


# --- phone verification -----------------------------------------------------------------------------------


def test_a_phone_number_is_paged_only_once_verified(ch: Channels) -> None:
    w = ch.world
    with w.db.unit_of_work() as s:
        carol = users.create_user(s, email="carol@example.com", name="Carol", now=w.now())
        _, token = users.create_token(s, carol, name="t", now=w.now())
    auth = {"Authorization": f"Bearer {token}"}
    api = ch.server.url + "/api/v1"
    added = ch.http.post(
        f"{api}/users/{carol.id}/contact-methods", json={"type": "sms", "address": "+1 555 000 0003"}, headers=auth
    )
    assert added.status_code == 201, added.text
    cm = added.json()
    assert (cm["address"], cm["verified"]) == ("+15550000003", False)
    assert (
        ch.http.post(
            f"{api}/users/{carol.id}/notification-rules",
            json={"urgency": "high", "contact_method_id": cm["id"]},
            headers=auth,
        ).status_code
        == 201
    )
    w.service("ops", w.policy("p", [([{"kind": "user", "ref": carol.id}], 300)]))
    first = w.trigger("ops", "k1")
    w.run()
    assert ch.twilio.sent == []
    (refused,) = entries(w, first, "notify_failed")
    assert "not verified" in refused[2]

    assert ch.http.post(f"{api}/contact-methods/{cm['id']}/verify", headers=auth).status_code == 202
    assert ch.http.post(f"{api}/contact-methods/{cm['id']}/verify", headers=auth).status_code == 429
    w.run()
    (sent,) = ch.twilio.messages("+15550000003")
    code = re.search(r"\b(\d{6})\b", sent.params["Body"])
    assert code is not None
    wrong = "000000" if code.group(1) != "000000" else "111111"
    bad = ch.http.post(f"{api}/contact-methods/{cm['id']}/verify/confirm", json={"code": wrong}, headers=auth)
    assert bad.status_code == 422
    assert "wrong code" in bad.text
    ok = ch.http.post(f"{api}/contact-methods/{cm['id']}/verify/confirm", json={"code": code.group(1)}, headers=auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["verified"] is True
    with w.db.reader() as s:
        kept = [n.payload for n in s.query(Notification).filter(Notification.kind == "verify")]
    assert len(kept) == 1
    assert code.group(1) not in json.dumps(kept)  # only the hash stays once the code was sent

    second = w.trigger("ops", "k2")
    w.run()
    assert len(ch.twilio.messages("+15550000003")) == 2
    for incident in (first, second):
        w.resolve(incident)


def test_an_unverified_number_falls_back_at_once(ch: Channels) -> None:
    w = ch.world
    two_steps(w, [("sms", ALICE_PHONE, 0), ("sms", ALICE_PHONE, 60), ("email", "alice@example.com", 600)])
    with w.db.unit_of_work() as s:
        for cm in contacts.contact_methods(s, w.users["alice"].id):
            cm.verified = cm.type != "sms"
    incident = w.trigger("api", "k1")
    w.run()
    w.expect_email("alice", number=incident.number)  # not after the rule's 600 s, nor after the 60 s sms rule
    refused = entries(w, incident, "notify_failed")
    assert refused[0][2] == "sms to Alice not sent: the contact method is not verified; falling back to email"
    assert ch.twilio.sent == []
    w.ack(incident)


# --- Teams -------------------------------------------------------------------------------------------------


def test_a_teams_card_link_acknowledges(ch: Channels) -> None:
    w = ch.world
    sink = WebhookSink()
    sink.start()
    try:
        w.add_providers(teams_provider(UrlGuard(["127.0.0.1/32"])))
        w.use_links(ch.runtime.action_link)
        two_steps(w, [("teams", f"{sink.url}/teams/workflows/alice", 0)])
        incident = w.trigger("api", "k1", "Cache cluster down")
        w.run()
        ((_, card),) = sink.bodies
        content = card["attachments"][0]["content"]
        links = {a["title"]: a["url"] for a in content["actions"]}
        assert links["Acknowledge"].startswith(f"{PUBLIC}/a/")
        path = links["Acknowledge"].removeprefix(PUBLIC)
        assert ch.http.get(f"{ch.server.url}{path}").status_code == 200
        assert w.status_of(incident) == "triggered"  # a GET (a link preview) never acts
        assert ch.http.post(f"{ch.server.url}{path}").status_code == 200
        assert w.status_of(incident) == "acknowledged"
        (ack,) = entries(w, incident, "acknowledged")
        assert ack[1] == "link"
        w.advance(3600)
    finally:
        sink.stop()
