"""Regulatory clocks through the API and the engine (ADR 0032), on SQLite and PostgreSQL: regimes seeded and edited
(invalid durations, anchors and cycles refused with their place), an incident classified, its countdowns, the
compliance view hiding private incidents, submissions (attachment, size limit, late ones with their reason) that
anchor the next deadline, report drafts, and reminders with the fake clock: each sent once, none lost."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.compliance.models import Reminder
from tocsin.engine.modules.clocks import ClockReminderModule
from tocsin.incidents.models import TimelineEntry
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.users import service as users


def person(api: ApiHarness, email: str, role: str = "responder") -> int:
    now = api.clock.now()
    with api.runtime.db.unit_of_work() as s:
        user = users.create_user(s, email=email, name=email.split("@")[0].title(), role=role, now=now)
        cm = contacts.add_contact_method(s, user_id=user.id, name="email", type="email", address=email, now=now)
        contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
        return user.id


def iso(value: datetime) -> str:
    return value.isoformat()


def regime_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Test regime",
        "timezone": "Europe/Brussels",
        "deadlines": [
            {"key": "first", "title": "First", "rules": [{"after": "PT24H", "anchor": "awareness"}]},
            {"key": "second", "title": "Second", "rules": [{"after": "PT72H", "anchor": "submission:first"}]},
        ],
    }
    body.update(changes)
    return body


def put_regime(api: ApiHarness, key: str, body: dict[str, Any]) -> Any:
    return api.client.put(f"/api/v1/regimes/{key}", json=body, headers=api.headers())


def notices_to(api: ApiHarness, user_id: int) -> list[str]:
    with api.runtime.db.reader() as s:
        stmt = select(Notification.payload).where(Notification.user_id == user_id, Notification.kind == "notice")
        return [p["text"] for p in s.scalars(stmt.order_by(Notification.id))]


def test_the_shipped_regimes_are_seeded_and_edits_are_checked(api: ApiHarness) -> None:
    keys = [r["key"] for r in ok(api.get("/api/v1/regimes"))]
    assert keys == ["cra-exploited", "dora", "gdpr-33", "nis2", "sec-8k-105"]
    dora = ok(api.get("/api/v1/regimes/dora"))
    assert dora["deadlines"][0]["rules"] == [
        {"after": "PT4H", "anchor": "classification"},
        {"after": "PT24H", "anchor": "detection"},
    ]
    # The anchor of a deadline is configurable: the final report from the initial notification instead.
    dora["deadlines"][2]["rules"] = [{"after": "P1M", "anchor": "submission:initial"}]
    edited = {k: v for k, v in dora.items() if k not in ("id", "key")}
    assert ok(put_regime(api, "dora", edited))["deadlines"][2]["rules"][0]["anchor"] == "submission:initial"

    bad = regime_body()
    bad["deadlines"][0]["rules"][0]["after"] = "24 hours"
    body = problem(put_regime(api, "custom", bad), 422)
    assert body["detail"].startswith("deadlines[0].rules[0].after: ")
    bad = regime_body()
    bad["deadlines"][0]["rules"] = [{"after": "PT1H", "anchor": "submission:second"}]
    assert "cycle" in problem(put_regime(api, "custom", bad), 422)["detail"]
    bad = regime_body()
    bad["deadlines"][1]["rules"][0]["anchor"] = "submission:third"
    assert problem(put_regime(api, "custom", bad), 422)["detail"].startswith("deadlines[1].rules[0].anchor: ")
    assert problem(put_regime(api, "custom", regime_body(timezone="Mars/Olympus")), 422)["detail"].startswith(
        "timezone: "
    )
    assert problem(put_regime(api, "custom", regime_body(reminders=["soon"])), 422)["detail"].startswith(
        "reminders[0]: "
    )
    assert problem(put_regime(api, "custom", regime_body(contacts=["nobody@example.com"])), 422)["detail"].startswith(
        "contacts[0]: "
    )
    assert problem(put_regime(api, "Not A Key", regime_body()), 422)["detail"].startswith("key: ")
    # Nothing refused was kept.
    assert problem(api.get("/api/v1/regimes/custom"), 404)
    responder = api.token_for("r@example.com")
    assert put_regime(api, "custom", regime_body()).status_code == 200
    denied = api.client.put("/api/v1/regimes/custom", json=regime_body(), headers=api.headers(responder))
    assert denied.status_code == 403


def test_classify_count_down_submit_late_with_a_reason_and_anchor_the_next(api: ApiHarness) -> None:
    ok(put_regime(api, "test", regime_body()))
    service = make_service(api)
    incident = declare(api, service["id"])
    ref = f"%23{incident['number']}"
    start = api.clock.now()
    made = ok(api.post(f"/api/v1/incidents/{ref}/clocks", json={"regime": "test", "awareness_at": iso(start)}), 201)
    first, second = made["clocks"]
    assert first["status"] == "running"
    assert first["due_at"].startswith("2026-11-03T08:00:00")
    assert first["seconds_left"] == 24 * 3600
    assert second["status"] == "waiting"
    assert second["due_at"] is None
    # Bad input: a moment in the future, an unknown regime, no zone.
    future = iso(start + timedelta(days=1))
    assert problem(api.post(f"/api/v1/incidents/{ref}/clocks", json={"regime": "test", "awareness_at": future}), 422)
    assert problem(api.post(f"/api/v1/incidents/{ref}/clocks", json={"regime": "nope"}), 404)
    assert problem(
        api.post(f"/api/v1/incidents/{ref}/clocks", json={"regime": "test", "awareness_at": "2026-11-01T00:00:00"}),
        422,
    )

    api.clock.advance(timedelta(hours=25))
    url = f"/api/v1/incidents/{ref}/clocks/test/submissions"
    late = problem(api.post(url, json={"deadline": "first", "summary": "Early warning sent"}), 422)
    assert late["detail"].startswith("late_reason: ")
    assert problem(api.post(url, json={"deadline": "third", "summary": "x"}), 422)["detail"].startswith("deadline: ")

    def attached(data: bytes) -> dict[str, str]:
        return {"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(data).decode()}

    too_big = {"deadline": "first", "summary": "s", "late_reason": "r", "attachment": attached(b"x" * 400_000)}
    assert api.post(url, json=too_big).status_code == 413
    not_base64 = {"deadline": "first", "summary": "s", "late_reason": "r", "attachment": {"name": "a", "data": "%%"}}
    assert problem(api.post(url, json=not_base64), 422)["detail"].startswith("attachment.data: ")
    pdf = b"%PDF-1.4 early warning"
    sub = ok(
        api.post(
            url,
            json={
                "deadline": "first",
                "summary": "Early warning sent",
                "late_reason": "Authority portal was down",
                "attachment": attached(pdf),
            },
        ),
        201,
    )
    assert sub["late"] is True
    assert sub["late_reason"] == "Authority portal was down"
    assert sub["attachment_size"] == len(pdf)
    got = api.get(f"/api/v1/incidents/{ref}/submissions/{sub['id']}/attachment")
    assert got.status_code == 200
    assert got.content == pdf
    clocks = ok(api.get(f"/api/v1/incidents/{ref}/clocks"))[0]["clocks"]
    assert clocks[0]["status"] == "late"
    # The submission anchors the second deadline: 72 h after it.
    assert clocks[1]["status"] == "running"
    assert clocks[1]["due_at"].startswith("2026-11-06T09:00:00")
    on_time = ok(api.post(url, json={"deadline": "second", "summary": "Notification sent", "reference": "R-1"}), 201)
    assert on_time["late"] is False
    sets = ok(api.get(f"/api/v1/incidents/{ref}/clocks"))
    assert sets[0]["completed_at"] is not None
    assert ok(api.get("/api/v1/clocks")) == []  # every deadline met: the clock stopped
    with api.runtime.db.reader() as s:
        kinds = [e.kind.value for e in s.scalars(select(TimelineEntry).order_by(TimelineEntry.id))]
    assert kinds.count("clock_classified") == 1
    assert kinds.count("clock_submitted") == 2

    draft = ok(api.get(f"/api/v1/incidents/{ref}/clocks/test/draft"))
    assert draft["deadlines"][0]["status"] == "late"
    dora_missing = api.get(f"/api/v1/incidents/{ref}/clocks/dora/draft")
    assert problem(dora_missing, 404)


def test_the_compliance_view_hides_private_incidents_from_outsiders(api: ApiHarness) -> None:
    service = make_service(api)
    public = declare(api, service["id"], title="Public breach")
    secret = declare(api, service["id"], title="Secret breach")
    ok(api.post(f"/api/v1/incidents/%23{secret['number']}/visibility", json={"private": True, "reason": "breach"}))
    for inc in (public, secret):
        ok(api.post(f"/api/v1/incidents/%23{inc['number']}/clocks", json={"regime": "gdpr-33"}), 201)
    outsider = api.token_for("outsider@example.com")
    seen = [s["incident"] for s in ok(api.get("/api/v1/clocks", token=outsider))]
    assert seen == [public["number"]]
    assert sorted(s["incident"] for s in ok(api.get("/api/v1/clocks"))) == sorted([public["number"], secret["number"]])
    assert problem(api.get(f"/api/v1/incidents/%23{secret['number']}/clocks", token=outsider), 404)
    assert problem(api.get(f"/api/v1/incidents/%23{secret['number']}/clocks/gdpr-33/draft", token=outsider), 404)
    assert [s["regime"] for s in ok(api.get("/api/v1/clocks?regime=gdpr-33"))] == ["gdpr-33", "gdpr-33"]
    page = api.client.get("/compliance", headers=api.headers())
    assert page.status_code in (200, 303, 401)


def test_report_draft_follows_the_regime_headings(api: ApiHarness) -> None:
    service = make_service(api, "payments")
    incident = declare(api, service["id"], title="Card data exposed")
    ref = f"%23{incident['number']}"
    ok(api.post(f"/api/v1/incidents/{ref}/notes", json={"text": "Rotated the exposed keys"}), 201)
    ok(api.post(f"/api/v1/incidents/{ref}/clocks", json={"regime": "gdpr-33"}), 201)
    draft = ok(api.get(f"/api/v1/incidents/{ref}/clocks/gdpr-33/draft"))
    titles = [s["title"] for s in draft["sections"]]
    assert titles[0].startswith("Nature of the breach")
    by_fill = {s["fill"]: s["lines"] for s in draft["sections"]}
    assert "Card data exposed" in by_fill["summary"][0]
    assert any("Rotated the exposed keys" in line for line in by_fill["actions"])
    markdown = api.get(f"/api/v1/incidents/{ref}/clocks/gdpr-33/draft?format=markdown")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "## Measures taken or proposed" in markdown.text


def test_reminders_with_the_fake_clock_are_sent_once_and_none_is_lost(api: ApiHarness) -> None:
    contact = person(api, "dpo@example.com")
    gdpr = ok(api.get("/api/v1/regimes/gdpr-33"))
    gdpr.update(contacts=["dpo@example.com"], reminders=["50%", "PT1H", "overdue"])
    ok(put_regime(api, "gdpr-33", {k: v for k, v in gdpr.items() if k not in ("id", "key")}))
    service = make_service(api)
    first = declare(api, service["id"], title="Laptop lost")
    start = api.clock.now()
    ok(api.post(f"/api/v1/incidents/%23{first['number']}/clocks", json={"regime": "gdpr-33"}), 201)
    db = api.runtime.db
    module = ClockReminderModule(db)

    assert module.run_once(api.clock.now()) == 0
    assert module.next_due() == start + timedelta(hours=36)
    api.clock.set(start + timedelta(hours=36))
    assert module.run_once(api.clock.now()) == 1
    # A second engine at the same moment adds nothing.
    assert ClockReminderModule(db).run_once(api.clock.now()) == 0
    assert module.next_due() == start + timedelta(hours=71)
    api.clock.set(start + timedelta(hours=71, minutes=5))
    assert module.run_once(api.clock.now()) == 1
    api.clock.set(start + timedelta(hours=72, minutes=1))
    assert module.run_once(api.clock.now()) == 1
    texts = notices_to(api, contact)
    assert len(texts) == 3
    assert "is due 2026-11-05 08:00 UTC" in texts[0]
    assert "overdue" in texts[2]

    # Classified late (aware 71.5 h ago): of the points already past, only the latest is sent.
    second = declare(api, service["id"], title="Mail to the wrong list")
    aware = api.clock.now() - timedelta(hours=71, minutes=30)
    ok(
        api.post(
            f"/api/v1/incidents/%23{second['number']}/clocks",
            json={"regime": "gdpr-33", "awareness_at": iso(aware)},
        ),
        201,
    )
    assert ClockReminderModule(db).run_once(api.clock.now()) == 1
    with db.reader() as s:
        rows = list(s.scalars(select(Reminder).order_by(Reminder.id)))
    assert [(r.point, r.status) for r in rows][-2:] == [("50%", "skipped"), ("PT1H", "sent")]
    # Submitted: no overdue reminder follows.
    url = f"/api/v1/incidents/%23{second['number']}/clocks/gdpr-33/submissions"
    ok(api.post(url, json={"deadline": "notification", "summary": "Notified the authority"}), 201)
    api.clock.advance(timedelta(hours=2))
    assert ClockReminderModule(db).run_once(api.clock.now()) == 0
    assert len(notices_to(api, contact)) == 4
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Reminder)) == 5


def test_a_private_incident_reminds_only_the_contacts_who_see_it(api: ApiHarness) -> None:
    outsider = person(api, "outsider@example.com")
    admin = person(api, "dpo-admin@example.com", role="admin")
    gdpr = ok(api.get("/api/v1/regimes/gdpr-33"))
    gdpr.update(contacts=["outsider@example.com", "dpo-admin@example.com"], reminders=["overdue"])
    ok(put_regime(api, "gdpr-33", {k: v for k, v in gdpr.items() if k not in ("id", "key")}))
    service = make_service(api)
    secret = declare(api, service["id"], title="Insider leak", private=True)
    ok(api.post(f"/api/v1/incidents/%23{secret['number']}/clocks", json={"regime": "gdpr-33"}), 201)
    api.clock.advance(timedelta(hours=73))
    assert ClockReminderModule(api.runtime.db).run_once(api.clock.now()) == 1
    assert notices_to(api, outsider) == []
    assert len(notices_to(api, admin)) == 1
