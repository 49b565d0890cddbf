"""What leaves Tocsin about a private incident (ADR 0022), on SQLite and PostgreSQL: a page to a person keeps its
title; a post to a channel-wide destination (a chat or generic webhook contact) names it by number only; outgoing
webhook subscriptions get a redacted body (no title, no people's words), while public incidents are unchanged."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.factories import make_service, make_user
from tests.scenarios.harness import World
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.events.registry import ConsumerRegistry
from tocsin.incidents import service as incidents
from tocsin.incidents import visibility
from tocsin.incidents.schemas import Actor
from tocsin.webhooks import fanout
from tocsin.webhooks import service as webhooks
from tocsin.webhooks.models import WebhookDelivery

SECRET_TITLE = "Payroll database credentials leaked"


def test_a_page_keeps_the_title_and_a_channel_post_names_only_the_number(db: Database, clock: FakeClock) -> None:
    w = World(db=db, clock=clock)
    ann = w.user("ann", webhook_after=0)
    w.service("payroll", w.policy("p", [([{"kind": "user", "ref": ann.id}], 300)]))
    incident = w.trigger("payroll", "k1", summary=SECRET_TITLE)
    with db.unit_of_work() as s:
        actor = Actor(label="Admin", source="api")
        visibility.set_visibility(
            s, incident.id, private=True, team_id=None, reason="forensics", actor=actor, now=clock.now()
        )
    w.run()
    direct = w.expect_email("ann")
    assert direct.incident is not None
    assert direct.incident.title == SECRET_TITLE
    channel = w.expect_webhook("ann")
    assert channel.incident is not None
    assert channel.incident.title == f"Private incident #{incident.number}"
    assert SECRET_TITLE not in channel.text
    # A public incident's channel post keeps its title.
    public = w.trigger("payroll", "k2", summary="Payroll export slow")
    w.run()
    w.expect_email("ann", number=public.number)
    assert w.expect_webhook("ann").incident.title == "Payroll export slow"  # type: ignore[union-attr]
    w.nothing_more()


def test_webhook_subscriptions_get_a_redacted_body_for_a_private_incident(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        service, _ = make_service(s, clock.now())
        owner = make_user(s, clock.now(), "owner@example.com")
        webhooks.create(s, name="sink", url="http://127.0.0.1:9/hook", now=clock.now(), owner_user_id=owner.id)
        actor = Actor(label="Owner", source="api", user_id=owner.id)
        private = incidents.declare(
            s, service_id=service.id, title=SECRET_TITLE, private=True, actor=actor, now=clock.now()
        )
        incidents.add_note(s, private.id, "the password was hunter2", actor=actor, now=clock.now())
        public = incidents.declare(s, service_id=service.id, title="Payroll export slow", actor=actor, now=clock.now())
        ids = (private.id, private.number, public.id)
    events = EventDeliveryModule(db, ConsumerRegistry([fanout.consumer()]), owner="w1")
    for _ in range(10):
        if events.run_once(clock.now()) == 0:
            break
    with db.reader() as s:
        rows = list(s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars())
    private_id, number, public_id = ids
    hidden = [json.loads(d.body) for d in rows if d.incident_id == private_id]
    shown = [json.loads(d.body) for d in rows if d.incident_id == public_id]
    assert len(hidden) >= 2
    assert shown
    for body in hidden:
        text = json.dumps(body)
        assert SECRET_TITLE not in text
        assert "hunter2" not in text
        assert "Owner" not in text
        assert body["data"]["incident"]["title"] == f"Private incident #{number}"
        assert body["data"]["incident"]["private"] is True
    assert {b["type"] for b in hidden} >= {"incident.triggered", "incident.note"}
    assert all(b["data"]["incident"]["title"] == "Payroll export slow" for b in shown)


def test_a_chat_button_pressed_by_an_outsider_acts_as_on_an_unknown_incident(db: Database, clock: FakeClock) -> None:
    from tocsin.notify import replies

    with db.unit_of_work() as s:
        service, _ = make_service(s, clock.now())
        owner = make_user(s, clock.now(), "owner@example.com")
        outsider = make_user(s, clock.now(), "outsider@example.com", role="responder")
        actor = Actor(label="Owner", source="api", user_id=owner.id)
        private = incidents.declare(
            s, service_id=service.id, title=SECRET_TITLE, private=True, actor=actor, now=clock.now()
        )
        refused = replies.act_on_incident(s, outsider, private.id, "acknowledge", source="slack", now=clock.now())
        unknown = replies.act_on_incident(s, outsider, 999_999, "acknowledge", source="slack", now=clock.now())
        assert refused.text == unknown.text
        assert incidents.get(s, private.id).status == "triggered"
        done = replies.act_on_incident(s, owner, private.id, "acknowledge", source="slack", now=clock.now())
        assert incidents.get(s, private.id).status == "acknowledged", done.text
