"""Stakeholder groups and updates (ADR 0028), on SQLite and PostgreSQL: groups matched by service, severity and
type; an update emailed through a real SMTP server (aiosmtpd) and posted to a chat fake (Slack), kept on the
timeline; the cadence reminder with the fake clock; one voice on status pages; private and drill incidents; bad
input refused with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tests.fakes.fixtures import running
from tests.fakes.slack import FakeSlack
from tests.statuspages.conftest import make_page
from tests.statuspages.test_subscribers_and_engine import Sink, body_of, smtp  # noqa: F401 (the smtp fixture)
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.stakeholders import StakeholderModule
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.stakeholders import service as stakeholders
from tocsin.stakeholders.models import StakeholderDelivery, StakeholderUpdate
from tocsin.statuspages import cache
from tocsin.users import service as users


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    yield from running(FakeSlack())


@pytest.fixture
def mailing(db: Database, clock: FakeClock, smtp: tuple[Sink, int], fake_slack: FakeSlack) -> Iterator[ApiHarness]:  # noqa: F811
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.settings import load_settings

    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_from="updates@tocsin.test",
        slack_bot_token=fake_slack.token,
        slack_signing_secret="s" * 32,
        slack_base_url=fake_slack.url,
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        yield ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)


def group(api: ApiHarness, name: str, **fields: Any) -> dict[str, Any]:
    made: dict[str, Any] = ok(api.post("/api/v1/stakeholder-groups", json={"name": name, **fields}), 201)
    return made


def person(
    api: ApiHarness, email: str, kind: str = "email", address: str | None = None, role: str = "responder"
) -> int:
    now = api.clock.now()
    with api.runtime.db.unit_of_work() as s:
        user = users.create_user(s, email=email, name=email.split("@")[0].title(), role=role, now=now)
        cm = contacts.add_contact_method(s, user_id=user.id, name=kind, type=kind, address=address or email, now=now)
        contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
        return user.id


def put(api: ApiHarness, url: str, body: dict[str, Any]) -> Any:
    return api.client.put(url, headers=api.headers(), json=body)


def post_update(api: ApiHarness, number: int, status: int = 201, **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/v1/incidents/{number}/stakeholder-updates", json=body)
    if status != 201:
        return problem(response, status)
    made: dict[str, Any] = ok(response, 201)
    return made


def notices(api: ApiHarness, prefix: str) -> list[Notification]:
    with api.runtime.db.reader() as s:
        rows = s.scalars(select(Notification).where(Notification.idempotency_key.like(f"notice:{prefix}%")))
        return list(rows)


def entries(api: ApiHarness, number: int, kind: str) -> list[TimelineEntry]:
    with api.runtime.db.reader() as s:
        incident = s.scalars(select(Incident).where(Incident.number == number)).one()
        rows = s.scalars(
            select(TimelineEntry).where(TimelineEntry.incident_id == incident.id, TimelineEntry.kind == kind)
        )
        return list(rows)


def timeline(api: ApiHarness, number: int, kind: str) -> list[str]:
    return [e.message for e in entries(api, number, kind)]


def count_updates(api: ApiHarness) -> int:
    with api.runtime.db.reader() as s:
        return len(list(s.scalars(select(StakeholderUpdate))))


# --- groups -------------------------------------------------------------------------------------------------------


def test_groups_crud_and_bad_input(api: ApiHarness) -> None:
    make_service(api, "checkout")
    made = group(
        api,
        "Execs",
        users=["admin@example.com"],
        emails=["CEO@Example.com"],
        services=["checkout"],
        min_severity="SEV2",
        types=["Big bang"],
    )
    assert made["users"] == ["admin@example.com"]
    assert made["emails"] == ["ceo@example.com"]
    assert made["services"] == ["checkout"]
    assert made["types"] == ["Big bang"]
    assert made["min_severity"] == "SEV2"
    assert made["private_ok"] is False
    assert ok(api.get("/api/v1/stakeholder-groups/Execs"))["id"] == made["id"]
    changed = ok(put(api, f"/api/v1/stakeholder-groups/{made['id']}", {"name": "Execs", "private_ok": True}))
    assert changed["private_ok"] is True
    assert changed["services"] == []

    for body, words in [
        ({"name": "x", "users": ["nobody@example.com"]}, "unknown user"),
        ({"name": "x", "services": ["nope"]}, "unknown service"),
        ({"name": "x", "types": ["Nope"]}, "no incident type"),
        ({"name": "x", "min_severity": "SEV9"}, "severity"),
        ({"name": "x", "emails": ["not-an-address"]}, "not an email address"),
    ]:
        assert words in problem(api.post("/api/v1/stakeholder-groups", json=body), 422)["detail"]
    problem(api.post("/api/v1/stakeholder-groups", json={"name": "Execs"}), 409)
    problem(api.get("/api/v1/stakeholder-groups/nope"), 404)
    assert [g["name"] for g in ok(api.get("/api/v1/stakeholder-groups"))] == ["Execs"]
    # Only admins manage groups.
    responder = api.token_for("r@example.com")
    assert api.post("/api/v1/stakeholder-groups", json={"name": "y"}, token=responder).status_code == 403
    ok(api.delete("/api/v1/stakeholder-groups/Execs"), 204)
    assert ok(api.get("/api/v1/stakeholder-groups")) == []


def test_groups_match_by_service_severity_and_type(api: ApiHarness) -> None:
    checkout = make_service(api, "checkout")
    search = make_service(api, "search")
    group(api, "Everyone", emails=["all@example.com"])
    group(api, "Checkout", emails=["shop@example.com"], services=["checkout"])
    group(api, "Serious", emails=["vp@example.com"], min_severity="SEV2")
    group(api, "Big", emails=["ceo@example.com"], types=["Big bang"])

    def matched(incident: dict[str, Any]) -> list[str]:
        return sorted(post_update(api, incident["number"], body="hello")["groups"])

    assert matched(declare(api, checkout["id"], severity="SEV3")) == ["Checkout", "Everyone"]
    assert matched(declare(api, search["id"], severity="SEV1")) == ["Everyone", "Serious"]
    assert matched(declare(api, search["id"], severity="SEV2")) == ["Everyone", "Serious"]
    assert matched(declare(api, search["id"], type="Big bang")) == ["Big", "Everyone", "Serious"]
    # Named groups are taken as named.
    incident = declare(api, search["id"], severity="SEV4")
    assert post_update(api, incident["number"], body="hi", groups=["Big"])["groups"] == ["Big"]


def test_an_update_is_emailed_chatted_and_kept_on_the_timeline(
    mailing: ApiHarness,
    smtp: tuple[Sink, int],  # noqa: F811
    fake_slack: FakeSlack,
) -> None:
    api = mailing
    service = make_service(api, "checkout")
    on_chat = person(api, "cto@example.com", kind="slack", address="U0CTO")
    group(api, "Leadership", users=["cto@example.com"], emails=["board@example.org"], services=["checkout"])
    incident = declare(api, service["id"], title="Payments failing", severity="SEV2")

    made = post_update(
        api,
        incident["number"],
        template="{{incident.title}} ({{incident.severity}}, {{incident.service}}): fix underway",
    )
    assert made["body"] == "Payments failing (SEV2, checkout): fix underway"
    assert made["groups"] == ["Leadership"]
    assert made["recipients"]["users"] == [on_chat]
    assert made["recipients"]["emails"] == ["board@example.org"]
    (entry,) = entries(api, incident["number"], "stakeholder_update")
    assert entry.message == "Stakeholder update: Payments failing (SEV2, checkout): fix underway"
    assert entry.data["groups"] == ["Leadership"]
    assert entry.data["stakeholder_update_id"] == made["id"]

    engine = api.runtime.build_engine(owner="stakeholders")
    engine.run_pass()
    engine.run_pass()
    sink = smtp[0]
    (mail,) = sink.to("board@example.org")
    assert mail["Subject"] == f"Incident #{incident['number']}: Payments failing"
    assert "Payments failing (SEV2, checkout): fix underway" in body_of(mail)
    posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == "U0CTO"]
    assert len(posts) == 1
    assert "fix underway" in str(posts[0].args)
    engine.run_pass()
    assert len(sink.to("board@example.org")) == 1  # sent once
    with api.runtime.db.reader() as s:
        (delivery,) = s.scalars(select(StakeholderDelivery))
        assert delivery.status == "sent"
        assert delivery.sent_at is not None


def test_bad_update_input_changes_nothing(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    group(api, "Everyone", emails=["all@example.com"])
    number = declare(api, service["id"])["number"]
    assert "text" in post_update(api, number, 422, body="   ")["detail"]
    assert "either" in post_update(api, number, 422)["detail"]
    assert "either" in post_update(api, number, 422, body="a", template="b")["detail"]
    assert "incident.owner" in post_update(api, number, 422, template="{{incident.owner}} is on it")["detail"]
    assert "callback" in post_update(api, number, 422, template="{{callback.url}}")["detail"]
    assert "Nope" in post_update(api, number, 422, body="hello", groups=["Nope"])["detail"]
    problem(api.post("/api/v1/incidents/9999/stakeholder-updates", json={"body": "x"}), 404)
    assert count_updates(api) == 0
    assert timeline(api, number, "stakeholder_update") == []
    # An incident no group subscribes to: 409, named.
    other = make_service(api, "search")
    put(api, "/api/v1/stakeholder-groups/Everyone", {"name": "Everyone", "services": ["checkout"]})
    lonely = declare(api, other["id"])["number"]
    assert "no stakeholder group" in post_update(api, lonely, 409, body="hello")["detail"]
    assert count_updates(api) == 0


def test_private_incidents_reach_only_private_ok_groups(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    group(api, "Everyone", emails=["all@example.com"])
    number = declare(api, service["id"], private=True)["number"]
    assert "no stakeholder group" in post_update(api, number, 409, body="hush")["detail"]
    detail = post_update(api, number, 409, body="hush", groups=["Everyone"])["detail"]
    assert "private" in detail
    assert "Everyone" in detail
    assert count_updates(api) == 0
    group(api, "Security", emails=["sec@example.com"], private_ok=True)
    made = post_update(api, number, body="hush")
    assert made["groups"] == ["Security"]
    assert made["recipients"]["emails"] == ["sec@example.com"]


def test_a_drills_updates_are_marked_and_reach_only_its_participants(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    outsider = person(api, "outsider@example.com")
    group(api, "Everyone", users=["outsider@example.com"], emails=["all@example.com"])
    number = declare(api, service["id"])["number"]
    with api.runtime.db.unit_of_work() as s:
        s.scalars(select(Incident).where(Incident.number == number)).one().drill = True
    person(api, "admin2@example.com")  # nobody in the drill
    with api.runtime.db.unit_of_work() as s:
        contacts.add_contact_method(
            s, user_id=api.admin_id, name="mail", type="email", address="admin@example.com", now=api.clock.now()
        )
    made = post_update(api, number, body="pretend the database is gone")
    assert made["drill"] is True
    assert made["body"] == "[DRILL] pretend the database is gone"
    assert made["groups"] == []
    assert made["recipients"]["emails"] == []
    assert made["recipients"]["users"] == [api.admin_id]
    assert outsider not in made["recipients"]["users"]
    assert notices(api, f"stakeholder:{made['id']}:{outsider}") == []
    assert len(notices(api, f"stakeholder:{made['id']}:{api.admin_id}")) == 1
    (entry,) = entries(api, number, "stakeholder_update")
    assert entry.message == "Stakeholder update: [DRILL] pretend the database is gone"
    assert entry.data["drill_participants"] is True


def test_cadence_reminds_once_and_moves_with_each_update(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    group(api, "Everyone", emails=["all@example.com"])
    lead = person(api, "comms@example.com")
    incident = declare(api, service["id"], type="Big bang")  # an update every 30 minutes
    number = incident["number"]
    ok(api.post(f"/api/v1/incidents/{number}/roles", json={"role": "Communications Lead", "user": str(lead)}))
    start = api.clock.now()
    listed = ok(api.get(f"/api/v1/incidents/{number}/stakeholder-updates"))
    assert listed["next_due_at"].startswith((start + timedelta(minutes=30)).isoformat()[:19])
    assert listed["overdue"] is False

    module = StakeholderModule(api.runtime.db, smtp=None, per_severity={})
    module.run_once(api.clock.now())
    assert notices(api, "stakeholder-due:") == []
    assert module.next_due() == start + timedelta(minutes=30)

    api.clock.advance(timedelta(minutes=31))
    assert ok(api.get(f"/api/v1/incidents/{number}/stakeholder-updates"))["overdue"] is True
    assert module.run_once(api.clock.now()) == 1
    api.clock.advance(timedelta(seconds=10))
    module.run_once(api.clock.now())
    with api.runtime.db.unit_of_work() as s:
        assert stakeholders.remind_due(s, now=api.clock.now(), per_severity={})[0] == 0
    (reminder,) = notices(api, "stakeholder-due:")
    assert reminder.user_id == lead
    assert len(timeline(api, number, "stakeholder_update_due")) == 1

    post_update(api, number, body="still on it")
    after = ok(api.get(f"/api/v1/incidents/{number}/stakeholder-updates"))
    assert after["overdue"] is False
    assert after["next_due_at"].startswith((api.clock.now() + timedelta(minutes=30)).isoformat()[:19])
    api.clock.advance(timedelta(minutes=31))
    module.run_once(api.clock.now())  # the reminder, and the update's email (failed: no SMTP server here)
    assert len(notices(api, "stakeholder-due:")) == 2


def test_cadence_by_severity_and_the_owner_when_no_role_is_held(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    owner = person(api, "owner@example.com")
    incident = declare(api, service["id"], severity="SEV1")
    with api.runtime.db.unit_of_work() as s:
        s.scalars(select(Incident).where(Incident.number == incident["number"])).one().assigned_user_id = owner
    api.clock.advance(timedelta(minutes=16))
    with api.runtime.db.unit_of_work() as s:
        assert stakeholders.remind_due(s, now=api.clock.now(), per_severity={})[0] == 0  # no cadence at all
        assert stakeholders.remind_due(s, now=api.clock.now(), per_severity={"SEV1": 15})[0] == 1
    (reminder,) = notices(api, "stakeholder-due:")
    assert reminder.user_id == owner


def test_one_voice_on_status_pages(api: ApiHarness) -> None:
    cache.clear()
    service = make_service(api, "checkout")
    number = declare(api, service["id"])["number"]
    make_page(api, "acme")
    linked = ok(
        api.post(
            "/api/v1/status-pages/acme/incidents",
            json={"name": "Checkout trouble", "body": "Looking", "incident_ids": [str(number)]},
        ),
        201,
    )
    unlinked = ok(api.post("/api/v1/status-pages/acme/incidents", json={"name": "Other", "body": "Hm"}), 201)
    comms = api.token_for("comms@example.com")
    other = api.token_for("other@example.com")
    url = f"/api/v1/status-pages/acme/incidents/{linked['id']}/updates"
    update = {"status": "identified", "body": "Found it"}

    refused = problem(api.post(url, json=update, token=comms), 403)
    assert "Communications Lead" in refused["detail"]
    ok(api.post(f"/api/v1/incidents/{number}/roles", json={"role": "Communications Lead", "user": "comms@example.com"}))
    ok(api.post(url, json=update, token=comms), 201)
    problem(api.post(url, json=update, token=other), 403)
    # Not linked to a response incident: admins only, whatever the role.
    problem(api.post(f"/api/v1/status-pages/acme/incidents/{unlinked['id']}/updates", json=update, token=comms), 403)
    ok(api.post(url, json=update), 201)  # an admin always may
    page = ok(api.patch("/api/v1/status-pages/acme", json={"anyone_may_publish": True}))
    assert page["anyone_may_publish"] is True
    ok(api.post(url, json=update, token=other), 201)


def test_a_workflow_step_posts_a_real_update(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    group(api, "Everyone", emails=["all@example.com"])
    flow = {
        "trigger": {"event": "manual"},
        "steps": [{"kind": "stakeholder_update", "message": "Looking at {{incident.title}}"}],
    }
    ok(put(api, "/api/v1/workflows/tell", flow))
    number = declare(api, service["id"], title="Search slow")["number"]
    ok(api.post(f"/api/v1/incidents/{number}/workflows/tell/run"), 201)
    engine = api.runtime.build_engine(owner="stakeholders")
    engine.run_pass()
    engine.run_pass()
    (update,) = ok(api.get(f"/api/v1/incidents/{number}/stakeholder-updates"))["items"]
    assert update["body"] == "Looking at Search slow"
    assert update["groups"] == ["Everyone"]
    assert update["recipients"]["emails"] == ["all@example.com"]
    assert timeline(api, number, "stakeholder_update") == ["Stakeholder update: Looking at Search slow"]
