"""A person paged into an incident answers from every channel that can acknowledge: the real engine and providers
send to fake Twilio, Slack and Teams endpoints and to the local mail outbox, and the answers come back as signed
requests to the application served on loopback (mirroring the acknowledgement scenarios)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.fakes.teams import WebhookSink
from tests.scenarios import test_channel_scenarios as channels
from tests.scenarios.harness import WEB, World
from tests.scenarios.test_channel_scenarios import ALICE_PHONE, PUBLIC, Channels, call_params, entries
from tocsin.incidents.models import Incident
from tocsin.mailbox import service as mailbox
from tocsin.mailbox.reading import read
from tocsin.notify.providers.chat_webhooks import teams_provider
from tocsin.notify.providers.local_outbox import LocalOutboxProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.response import responders
from tocsin.response.models import ResponderRequest

# The acknowledgement scenarios' fixtures: the app on loopback with fake Twilio and Slack.
fake_twilio, fake_slack, ch = channels.fake_twilio, channels.fake_slack, channels.ch


def opened(w: World, alice_methods: list[tuple[str, str, int]], *, acknowledged: bool = True) -> Incident:
    """Bob is paged by email about an incident (and acknowledges it, unless told not to); Alice, reachable by
    the given methods, is not on its policy."""
    w.person("alice", alice_methods, slack_user_id="U0ALICE" if any(m[0] == "slack" for m in alice_methods) else None)
    bob = w.user("bob")
    w.service("api", w.policy("p", [([{"kind": "user", "ref": bob.id}], 300)]))
    incident = w.trigger("api", "k1", "Orders are failing")
    w.run()
    w.expect_email("bob")
    if acknowledged:
        w.ack(incident)
    return incident


def ask_alice(w: World, incident: Incident, message: str = "Payments look involved") -> int:
    with w.db.unit_of_work() as s:
        (row,) = responders.request(
            s, incident.id, responders.Target(user="alice@example.com"), message=message, actor=WEB, now=w.now()
        )
        request_id = row.id
    w.run()
    return request_id


def request_of(w: World, request_id: int) -> ResponderRequest:
    with w.db.reader() as s:
        row = s.scalars(select(ResponderRequest).where(ResponderRequest.id == request_id)).one()
        s.expunge(row)
        return row


def answered(w: World, incident: Incident, kind: str) -> tuple[str, str, str]:
    (entry,) = entries(w, incident, kind)
    return entry


# --- SMS -----------------------------------------------------------------------------------------------------


def test_sms_accept_with_the_incident_number(ch: Channels) -> None:
    w = ch.world
    incident = opened(w, [("sms", ALICE_PHONE, 0)])
    request_id = ask_alice(w, incident)
    (text,) = ch.twilio.messages(ALICE_PHONE)
    body = text.params["Body"]
    assert f"You are asked to join incident #{incident.number}: Payments look involved" in body
    assert f"Reply ACCEPT {incident.number} or DECLINE {incident.number}." in body
    assert "Reply 4" not in body

    answer = ch.sms_in(ALICE_PHONE, f"accept {incident.number}")
    assert answer.status_code == 200
    assert f"Incident #{incident.number}: request accepted." in answer.text
    row = request_of(w, request_id)
    assert (row.status, row.answered_via) == ("accepted", "sms")
    assert answered(w, incident, "responder_accepted") == (
        "responder_accepted",
        "sms",
        "Alice joined the response (via sms)",
    )
    again = ch.sms_in(ALICE_PHONE, f"decline {incident.number}")
    assert "no request to join" in again.text
    assert request_of(w, request_id).status == "accepted"


def test_sms_decline_answers_the_latest_request_and_ack_codes_keep_working(ch: Channels) -> None:
    w = ch.world
    incident = opened(w, [("sms", ALICE_PHONE, 0)], acknowledged=False)
    request_id = ask_alice(w, incident)
    assert len(ch.twilio.messages(ALICE_PHONE)) == 1
    declined = ch.sms_in(ALICE_PHONE, "decline")
    assert f"Incident #{incident.number}: request declined." in declined.text
    assert request_of(w, request_id).status == "declined"
    assert w.status_of(incident) == "triggered"  # declining to join is not an acknowledgement
    # The paging codes are unchanged: "4 N" still acknowledges.
    acked = ch.sms_in(ALICE_PHONE, f"4 {incident.number}")
    assert f"Incident #{incident.number} acknowledged." in acked.text
    assert w.status_of(incident) == "acknowledged"


# --- voice ---------------------------------------------------------------------------------------------------


def test_voice_key_1_accepts(ch: Channels) -> None:
    w = ch.world
    incident = opened(w, [("voice", ALICE_PHONE, 0)])
    request_id = ask_alice(w, incident, "Need a DBA on the bridge")
    (call,) = ch.twilio.calls(ALICE_PHONE)
    path = call.params["Url"].removeprefix(PUBLIC)
    assert "responder=1" in path
    twiml = ch.twilio_post(path, call_params("CA7"))
    assert "Press 1 to accept, or 2 to decline." in twiml.text
    assert "Need a DBA on the bridge" in twiml.text
    assert "Press 4" not in twiml.text
    action = re.search(r'action="([^"]+)"', twiml.text)
    assert action is not None
    action_path = action.group(1).replace("&amp;", "&").removeprefix(PUBLIC)
    assert ch.twilio_post(action_path, call_params("CA7", Digits="1"), signature="Zm9yZ2Vk").status_code == 401
    assert request_of(w, request_id).status == "requested"

    pressed = ch.twilio_post(action_path, call_params("CA7", Digits="1"))
    assert pressed.status_code == 200
    assert "request accepted" in pressed.text
    row = request_of(w, request_id)
    assert (row.status, row.answered_via) == ("accepted", "voice")
    assert answered(w, incident, "responder_accepted")[1] == "voice"
    assert ch.twilio_post(action_path, call_params("CA7", Digits="1")).status_code == 401  # the same press again


def test_voice_key_2_declines_and_other_keys_ask_again(ch: Channels) -> None:
    w = ch.world
    incident = opened(w, [("voice", ALICE_PHONE, 0)])
    request_id = ask_alice(w, incident)
    (call,) = ch.twilio.calls(ALICE_PHONE)
    path = call.params["Url"].removeprefix(PUBLIC)
    other = ch.twilio_post(path, call_params("CA8", Digits="4"))
    assert "That key does nothing." in other.text
    assert request_of(w, request_id).status == "requested"
    assert w.status_of(incident) == "acknowledged"
    pressed = ch.twilio_post(path, call_params("CA8", Digits="2"))
    assert "request declined" in pressed.text
    assert (request_of(w, request_id).status, request_of(w, request_id).answered_via) == ("declined", "voice")


# --- Slack ---------------------------------------------------------------------------------------------------


def test_slack_buttons_accept_or_decline(ch: Channels) -> None:
    w = ch.world
    incident = opened(w, [("slack", "U0ALICE", 0)])
    request_id = ask_alice(w, incident)
    (post,) = ch.slack.calls_to("chat.postMessage")
    blocks = post.args["blocks"] if isinstance(post.args["blocks"], list) else json.loads(post.args["blocks"])
    buttons = {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}
    accept_id, decline_id = f"tocsin.accept.{incident.id}", f"tocsin.decline.{incident.id}"
    assert set(buttons) == {accept_id, decline_id}
    assert "Payments look involved" in json.dumps(blocks)

    answer, body, headers = ch.click("U0ALICE", decline_id, buttons[decline_id]["value"])
    assert answer.status_code == 200
    row = request_of(w, request_id)
    assert (row.status, row.answered_via) == ("declined", "slack")
    assert answered(w, incident, "responder_declined") == (
        "responder_declined",
        "slack",
        "Alice declined to join (via slack)",
    )
    assert ch.post_slack(body, headers).status_code == 401  # replayed
    # A second press finds nothing to answer: the person is told so, privately.
    ch.click("U0ALICE", accept_id, buttons[accept_id]["value"])
    assert request_of(w, request_id).status == "declined"


# --- Teams and the signed link -------------------------------------------------------------------------------


def test_a_teams_card_accept_link(ch: Channels) -> None:
    w = ch.world
    sink = WebhookSink()
    sink.start()
    try:
        w.add_providers(teams_provider(UrlGuard(["127.0.0.1/32"])))
        w.use_links(ch.runtime.action_link)
        incident = opened(w, [("teams", f"{sink.url}/teams/workflows/alice", 0)])
        request_id = ask_alice(w, incident)
        ((_, card),) = sink.bodies
        content = card["attachments"][0]["content"]
        links = {a["title"]: a["url"] for a in content["actions"]}
        assert set(links) == {"Accept", "Decline", "Open incident"}
        path = links["Accept"].removeprefix(PUBLIC)
        page = ch.http.get(f"{ch.server.url}{path}")
        assert page.status_code == 200
        assert f"Accept the request to join incident #{incident.number}?" in page.text
        assert request_of(w, request_id).status == "requested"  # a GET (a link preview) never acts
        done = ch.http.post(f"{ch.server.url}{path}")
        assert done.status_code == 200
        assert f"Request to join incident #{incident.number} accepted" in done.text
        row = request_of(w, request_id)
        assert (row.status, row.answered_via) == ("accepted", "link")
        assert answered(w, incident, "responder_accepted")[1] == "link"
        again = ch.http.post(f"{ch.server.url}{path}")  # a link works once
        assert again.status_code == 409
        assert "Already accepted" in again.text
        decline = links["Decline"].removeprefix(PUBLIC)
        shown = ch.http.get(f"{ch.server.url}{decline}")
        assert "Already accepted" in shown.text
        assert ch.http.post(f"{ch.server.url}{decline}").status_code == 409
        assert request_of(w, request_id).status == "accepted"
    finally:
        sink.stop()


# --- email, through the local outbox -------------------------------------------------------------------------


def test_an_email_decline_link_from_the_outbox(ch: Channels) -> None:
    w = ch.world
    w.use_links(ch.runtime.action_link)
    incident = opened(w, [("sms", ALICE_PHONE, 0)])
    # Alice's mail lands in the local outbox, as with no SMTP server.
    w.add_providers(LocalOutboxProvider(w.db, w.clock, "Tocsin <tocsin@localhost>"))
    with w.db.unit_of_work() as s:
        from tocsin.notify import contacts
        from tocsin.users import service as users

        alice = users.get_user(s, "alice@example.com")
        mail = contacts.add_contact_method(
            s, user_id=alice.id, name="mail", type="email", address="alice@example.com", now=w.now()
        )
        contacts.add_rule(s, user_id=alice.id, urgency="high", contact_method_id=mail.id, delay_seconds=60)
    request_id = ask_alice(w, incident)
    assert len(ch.twilio.messages(ALICE_PHONE)) == 1
    w.advance(60)
    with w.db.reader() as s:
        [kept] = mailbox.newest(s, addresses=["alice@example.com"])
    view = read(kept.message)
    assert f"#{incident.number} you are asked to join" in kept.subject
    assert "Acknowledge:" not in view.text
    decline = re.search(r"Decline: (\S+)", view.text)
    assert decline is not None
    path = decline.group(1).removeprefix(PUBLIC)
    assert ch.http.post(f"{ch.server.url}{path}").status_code == 200
    row = request_of(w, request_id)
    assert (row.status, row.answered_via) == ("declined", "link")


def test_an_answer_cancels_the_request_pages_not_sent_yet(ch: Channels) -> None:
    w = ch.world
    incident = opened(w, [("sms", ALICE_PHONE, 0), ("voice", ALICE_PHONE, 120)])
    request_id = ask_alice(w, incident)
    assert len(ch.twilio.messages(ALICE_PHONE)) == 1
    ch.sms_in(ALICE_PHONE, "accept")
    assert request_of(w, request_id).status == "accepted"
    w.advance(600)
    assert ch.twilio.calls(ALICE_PHONE) == []  # the call planned two minutes later was cancelled
