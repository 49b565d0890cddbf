"""A drill end to end through the real engine: its event goes through the real ingest path, every page on every
channel (email through a real SMTP server, SMS and voice through the fake Twilio, Slack through the fake Slack) is
marked DRILL, the answer comes back through a channel, the report says who was paged and who answered how fast,
and nothing about the drill is counted."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.scenarios.harness import WEB, World
from tests.scenarios.test_channel_scenarios import (  # noqa: F401 (fixtures)
    ALICE_PHONE,
    PUBLIC,
    Channels,
    call_params,
    ch,
    fake_slack,
    fake_twilio,
)
from tocsin.alerts import noise_report
from tocsin.drills import service as drills
from tocsin.drills.service import ScenarioSpec
from tocsin.incidents import service as incidents
from tocsin.notify.providers.email import SmtpProvider


class Sink:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def setup(w: World, port: int) -> None:
    w.add_providers(SmtpProvider("127.0.0.1", port, "Tocsin <tocsin@example.com>", timeout=5))
    alice = w.person(
        "alice",
        [
            ("email", "alice@example.com", 0),
            ("sms", ALICE_PHONE, 0),
            ("voice", ALICE_PHONE, 0),
            ("slack", "U0ALICE", 0),
        ],
        slack_user_id="U0ALICE",
    )
    bob = w.user("bob")
    w.service(
        "api",
        w.policy("p", [([{"kind": "user", "ref": alice.id}], 300), ([{"kind": "user", "ref": bob.id}], 300)]),
    )
    with w.db.unit_of_work() as s:
        spec = ScenarioSpec(
            name="checkout down", service="api", payload={"summary": "Checkout returns 500", "severity": "critical"}
        )
        drills.create_scenario(s, spec, now=w.now())


def test_a_drill_pages_every_channel_marked_drill_and_reports_who_answered(
    ch: Channels,  # noqa: F811
    smtp: tuple[Sink, int],
) -> None:
    w = ch.world
    sink, port = smtp
    setup(w, port)
    started = w.now()
    with w.db.unit_of_work() as s:
        run = drills.start(s, "checkout down", actor=WEB, now=w.now())
        run_id, incident_id = run.id, run.incident_id
    assert incident_id is not None
    with w.db.reader() as s:
        incident = incidents.get(s, incident_id)
        assert incident.drill
        assert incidents.open_counts(s) == {}, "an open drill is not an open incident in the counts"
    w.run()

    # Email, through a real SMTP server.
    (mail,) = sink.mails
    assert str(mail["Subject"]).startswith("DRILL [Tocsin]")
    html = mail.get_body(("html",))
    assert html is not None
    assert "DRILL" in html.get_content()
    text = mail.get_body(("plain",))
    assert text is not None
    assert text.get_content().startswith("DRILL ")
    # SMS.
    (sms,) = ch.twilio.messages(ALICE_PHONE)
    assert sms.params["Body"].startswith("DRILL Tocsin #")
    # Voice: what the callee hears when the call is answered.
    (call,) = ch.twilio.calls(ALICE_PHONE)
    twiml = ch.twilio_post(call.params["Url"].removeprefix(PUBLIC), call_params("CA1"))
    assert twiml.status_code == 200
    assert "DRILL. This is a drill" in twiml.text
    # Chat (Slack): the notification text and the heading of the blocks.
    (post,) = ch.slack.calls_to("chat.postMessage")
    assert str(post.args["text"]).startswith("DRILL [Tocsin]")
    blocks = post.args["blocks"] if isinstance(post.args["blocks"], list) else json.loads(post.args["blocks"])
    assert blocks[0]["text"]["text"].split("*")[1].startswith("DRILL ")

    # Alice answers by SMS 45 s in: acknowledged, then resolved; the drill ends with the resolution.
    w.advance(45)
    assert "acknowledged" in ch.sms_in(ALICE_PHONE, "4").text
    w.advance(15)
    assert "resolved" in ch.sms_in(ALICE_PHONE, "6").text
    w.advance(3600)  # bob's step (at 300 s) never fires: the world fails on any mail to him

    with w.db.reader() as s:
        run = drills.get_run(s, run_id)
        assert run.ended_at == started + timedelta(seconds=60)
        report = run.report
        assert report is not None
        assert {(p["user"], p["channel"]) for p in report["paged"]} == {
            ("Alice", "email"),
            ("Alice", "sms"),
            ("Alice", "voice"),
            ("Alice", "slack"),
        }
        assert all(p["step"] == 1 for p in report["paged"])
        assert [(a["user"], a["action"], a["channel"], a["after_seconds"]) for a in report["answers"]] == [
            ("Alice", "acknowledged", "sms", 45.0),
            ("Alice", "resolved", "sms", 60.0),
        ]
        assert report["first_answer_seconds"] == 45.0
        assert [st["step"] for st in report["steps_fired"]] == [1]
        assert report["steps_skipped"] == [2]
        kinds = [e.kind for e in incidents.timeline(s, incident_id)]
        assert kinds[0] == "triggered"
        assert "drill_started" in kinds
        assert [str(k) for k in kinds].count("drill_ended") == 1
        assert [str(k) for k in kinds].index("drill_ended") > [str(k) for k in kinds].index("resolved")

        # Nothing about the drill counts in the noise report.
        counted = noise_report.report(s, since=started - timedelta(hours=1), until=w.now() + timedelta(hours=1))
    assert counted["totals"]["alerts"] == 0, counted["totals"]
    assert counted["totals"]["incidents"] == 0
    assert counted["totals"]["pages"] == 0
    assert counted["totals"]["events"] == 0
    assert counted["noisiest"] == []


def test_a_real_alert_beside_a_drill_is_counted_and_not_marked(
    ch: Channels,  # noqa: F811
    smtp: tuple[Sink, int],
) -> None:
    w = ch.world
    sink, port = smtp
    setup(w, port)
    started = w.now()
    with w.db.unit_of_work() as s:
        drill = drills.start(s, "checkout down", actor=WEB, now=w.now())
        drill_id = drill.id
    real = w.trigger("api", "real-1", "Disk full")
    w.run()
    subjects = sorted(str(m["Subject"]) for m in sink.mails)
    assert len(subjects) == 2
    assert [x.startswith("DRILL ") for x in subjects] == [True, False]
    bodies = sorted(m.params["Body"] for m in ch.twilio.messages(ALICE_PHONE))
    assert [b.startswith("DRILL ") for b in bodies] == [True, False]
    with w.db.reader() as s:
        assert incidents.open_counts(s) == {"triggered": 1}
        counted = noise_report.report(s, since=started - timedelta(hours=1), until=w.now() + timedelta(hours=1))
    assert counted["totals"]["incidents"] == 1
    assert counted["totals"]["alerts"] == 1
    # Ending the drill by hand resolves its incident (paging stops) and leaves the real one alone.
    with w.db.unit_of_work() as s:
        ended = drills.end(s, drill_id, actor=WEB, now=w.now())
        assert ended.ended_at == w.now()
        assert ended.report is not None
        assert ended.report["answers"] == []
        assert ended.report["first_answer_seconds"] is None
    assert w.status_of(real) == "triggered"
    for number in ch.twilio.messages(ALICE_PHONE):
        assert number.to == ALICE_PHONE
    w.ack(real)
    w.advance(3600)
