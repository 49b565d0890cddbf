"""Postmortems (ADR 0029) on SQLite and PostgreSQL: created when an incident a rule names is resolved (through the
incident events) or by hand, with a draft filled from the incident; sections saved over their version (a stale save
is a 409 carrying the other text), their history; review, approval and publication; exports opened as the reader
would (the PDF through pdftotext); the review meeting's iCalendar invitation mailed to a real SMTP server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from tests.api.conftest import make_service, ok, problem
from tests.conftest import ApiHarness
from tests.learning.conftest import deliver_events, incident, person, resolve, timeline
from tests.statuspages.test_subscribers_and_engine import Sink, smtp  # noqa: F401 (the smtp fixture)
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.learning import service as postmortems

PM = "/api/v1/incidents/{}/postmortem"


@pytest.fixture
def mailing(db: Database, clock: FakeClock, smtp: tuple[Sink, int]) -> Iterator[ApiHarness]:  # noqa: F811
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.settings import load_settings
    from tocsin.users import service as users

    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_from="reviews@tocsin.test",
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        yield ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)


def put(api: ApiHarness, url: str, body: object) -> object:
    return api.client.put(url, headers=api.headers(), json=body)


def test_a_rule_creates_a_filled_draft_when_the_incident_is_resolved(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    rules = ok(put(api, "/api/v1/postmortem-rules", [{"min_severity": "SEV2"}]))  # type: ignore[arg-type]
    assert rules[0]["min_severity"] == "SEV2"
    minor = incident(api, service["id"], "Slow search", severity="SEV4")
    major = incident(api, service["id"], "Checkout is down", severity="SEV1")
    ok(api.post(f"/api/v1/incidents/{major['id']}/acknowledge"))
    api.clock.advance(timedelta(minutes=42))
    resolve(api, major["id"])
    resolve(api, minor["id"])
    problem(api.get(PM.format(major["id"])), 404)  # not until the incident events reach the consumer
    deliver_events(api)
    problem(api.get(PM.format(minor["id"])), 404)
    pm = ok(api.get(PM.format(major["id"])))
    assert pm["status"] == "draft"
    assert pm["automatic"] is True
    # Resolved on Monday 08:42: five business days later is the next Monday.
    assert datetime.fromisoformat(pm["due_at"]) == datetime(2026, 11, 9, 8, 42, tzinfo=UTC)
    sections = {s["key"]: s for s in pm["sections"]}
    assert list(sections)[:3] == ["summary", "impact", "timeline"]
    assert "Checkout is down" in sections["summary"]["body"]
    assert "Time to resolve: 42 min" in sections["impact"]["body"]
    assert "Pages sent: 0" in sections["impact"]["body"]
    assert all(s["body"].strip() for s in pm["sections"]), "a draft is never blank"
    picked = [p["message"] for p in sections["timeline"]["data"]]
    assert any("esolved" in m for m in picked), picked
    assert sections["five_whys"]["data"][0]["why"].startswith("Why did")
    assert timeline(api, major["id"], "postmortem") == ["Postmortem started (required for incidents like this one)"]
    # An event handed over again, or the incident resolved again, adds no second postmortem.
    deliver_events(api)
    with api.runtime.db.reader() as s:
        assert postmortems.published_postmortem(s, major["id"]) is None


def test_sections_are_saved_over_their_version(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = incident(api, service["id"])
    pm = ok(api.post(PM.format(found["id"]), json={}), 201)
    problem(api.post(PM.format(found["id"]), json={}), 409)
    url = PM.format(found["id"]) + "/sections/root_cause"
    v1 = next(s for s in pm["sections"] if s["key"] == "root_cause")["version"]
    mine = ok(put(api, url, {"body": "A config push removed the pool limit.", "version": v1}))  # type: ignore[arg-type]
    assert mine["version"] == v1 + 1
    stale = problem(put(api, url, {"body": "The cache expired.", "version": v1}), 409)  # type: ignore[arg-type]
    assert stale["current"]["body"] == "A config push removed the pool limit."
    assert stale["current"]["version"] == v1 + 1
    problem(put(api, url, {"body": "x" * (postmortems.MAX_SECTION + 1), "version": v1 + 1}), 413)  # type: ignore[arg-type]
    problem(put(api, PM.format(found["id"]) + "/sections/nope", {"body": "x", "version": 1}), 404)  # type: ignore[arg-type]
    whys = [
        {"why": "Why did the pool empty?", "answer": "No limit."},
        {"why": "Why no limit?", "answer": "Unreviewed."},
    ]
    saved = ok(put(api, PM.format(found["id"]) + "/sections/five_whys", {"body": "", "version": 1, "data": whys}))  # type: ignore[arg-type]
    assert saved["data"] == whys
    problem(put(api, url, {"body": "b", "version": v1 + 1, "data": [{"why": "x"}]}), 422)  # type: ignore[arg-type]
    history = ok(api.get(url + "/history"))
    assert [h["version"] for h in history] == [v1 + 1, v1]
    assert history[0]["body"] == "A config push removed the pool limit."


def test_review_approval_and_publication(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = incident(api, service["id"])
    reviewer = person(api, "rita@example.com")
    reviewer_token = api.token_for("rita2@example.com")
    problem(api.post(PM.format(found["id"]), json={"owner": "ghost@example.com"}), 422)
    ok(api.post(PM.format(found["id"]), json={"reviewers": ["rita@example.com", "rita2@example.com"]}), 201)
    move = PM.format(found["id"]) + "/status"
    problem(api.post(move, json={"status": "published"}), 409)  # draft → published skips the review
    ok(api.post(move, json={"status": "in_review"}))
    problem(api.post(PM.format(found["id"]) + "/approve"), 403)  # the admin is no reviewer
    problem(api.post(move, json={"status": "published"}), 409)  # nobody approved yet
    approved = ok(api.post(PM.format(found["id"]) + "/approve", token=reviewer_token))
    assert len(approved["approved_by"]) == 1
    waiting = problem(api.post(move, json={"status": "published"}), 409)
    assert "Rita" in waiting["detail"]
    ok(api.patch(PM.format(found["id"]), json={"reviewers": ["rita2@example.com"]}))
    published = ok(api.post(move, json={"status": "published"}))
    assert published["status"] == "published"
    assert published["published_at"]
    with api.runtime.db.reader() as s:
        assert postmortems.published_postmortem(s, found["id"]) is not None
    problem(put(api, PM.format(found["id"]) + "/sections/summary", {"body": "x", "version": 1}), 409)  # type: ignore[arg-type]
    problem(api.post(move, json={"status": "draft"}), 422)  # back needs a reason
    back = ok(api.post(move, json={"status": "draft", "reason": "the timeline misses the failover"}))
    assert back["status"] == "draft"
    assert back["approved_by"] == []
    assert timeline(api, found["id"], "postmortem")[-1] == "Postmortem draft: the timeline misses the failover"
    assert reviewer


def test_exports_markdown_html_and_pdf(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    found = incident(api, service["id"], "Payments <failing>")
    ok(api.post(PM.format(found["id"]), json={}), 201)
    ok(put(api, PM.format(found["id"]) + "/sections/lessons", {"body": "Limits need owners.", "version": 1}))  # type: ignore[arg-type]
    ok(api.post(f"/api/v1/incidents/{found['id']}/action-items", json={"title": "Alert on pool size"}), 201)
    md = api.get(PM.format(found["id"]) + "/export?format=md")
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    assert "# Postmortem: incident #" in md.text
    assert "Limits need owners." in md.text
    assert "[open] Alert on pool size" in md.text
    html = api.get(PM.format(found["id"]) + "/export?format=html")
    assert "Payments &lt;failing&gt;" in html.text
    assert "<failing>" not in html.text
    pdf = api.get(PM.format(found["id"]) + "/export?format=pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert "Limits need owners." in text
    assert "Lessons learned" in text
    assert "Alert on pool size" in text
    problem(api.get(PM.format(found["id"]) + "/export?format=doc"), 422)


def test_review_meeting_invitation_is_mailed_with_its_calendar(
    mailing: ApiHarness,
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    api, sink = mailing, smtp[0]
    service = make_service(api, "checkout")
    found = incident(api, service["id"])
    person(api, "rita@example.com")
    person(api, "omar@example.com")
    ok(api.post(PM.format(found["id"]), json={"owner": "omar@example.com", "reviewers": ["rita@example.com"]}), 201)
    starts = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)
    problem(
        api.post(
            PM.format(found["id"]) + "/meetings", json={"starts_at": starts.isoformat(), "participants": ["x@y.z"]}
        ),
        422,
    )
    meeting = ok(
        api.post(
            PM.format(found["id"]) + "/meetings",
            json={
                "starts_at": starts.isoformat(),
                "minutes": 45,
                "location": "Room 4",
                "participants": ["admin@example.com"],
            },
        ),
        201,
    )
    assert set(meeting["invites"]) == {"omar@example.com", "rita@example.com", "admin@example.com"}
    engine = api.runtime.build_engine(owner="learning")
    engine.run_pass()
    assert sorted(m["To"] for m in sink.mails) == ["admin@example.com", "omar@example.com", "rita@example.com"]
    mail = sink.mails[0]
    parts = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert parts
    assert parts[0].get_param("method") == "REQUEST"
    cal = Calendar.from_ical(parts[0].get_content())
    (event,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "REQUEST"
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtend") == starts + timedelta(minutes=45)
    assert str(event["location"]) == "Room 4"
    assert {str(a) for a in event["attendee"]} >= {"mailto:rita@example.com", "mailto:omar@example.com"}
    engine.run_pass()
    assert len(sink.mails) == 3, "each address is invited once"
    pm = ok(api.get(PM.format(found["id"])))
    assert set(pm["meetings"][0]["invites"].values()) == {"sent"}
    recorded = ok(
        put(  # type: ignore[arg-type]
            api,
            PM.format(found["id"]) + f"/meetings/{meeting['id']}",
            {"attended": ["rita@example.com"], "decisions": "Ship the pool limit first."},
        )
    )
    assert recorded["decisions"] == "Ship the pool limit first."
    assert len(recorded["attended_ids"]) == 1
    problem(put(api, PM.format(found["id"]) + "/meetings/999", {"attended": []}), 404)  # type: ignore[arg-type]
    assert timeline(api, found["id"], "postmortem")[-1].startswith("Postmortem review scheduled for 2026-11-05 14:00")
