"""Problems and postmortem review meetings in the console: opened, edited, moved and linked from forms, opened from
a postmortem, meetings scheduled and recorded; a refused form shows the service's reason with what was typed. On
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from tests.web.conftest import Console
from tocsin.incidents import service as incidents
from tocsin.learning import problems
from tocsin.learning.models import MeetingInvite, Problem, ProblemIncident, ReviewMeeting
from tocsin.users import service as users


def _incidents(console: Console, *titles: str) -> None:
    for title in titles:
        console.trigger(title, dedup_key=title)


def _post(console: Console, path: str, data: dict[str, object], page: str = "/problems"):  # type: ignore[no-untyped-def]
    return console.client.post(path, data={"csrf": console.csrf(page), **data}, follow_redirects=False)


def _problem(console: Console, problem_id: int) -> Problem:
    with console.db.reader() as s:
        return problems.get(s, problem_id)


def test_a_problem_is_opened_edited_linked_and_moved_from_the_console(console: Console) -> None:
    console.login()
    _incidents(console, "Checkout times out", "Checkout slow")
    r = _post(
        console,
        "/problems",
        {
            "title": "Connection pool too small",
            "description": "Pool of 10 per pod",
            "services": "checkout-api",
            "pattern": "checkout",
            "incidents": "#1",
        },
    )
    assert r.status_code == 303, r.text
    problem_id = int(re.search(r"/problems/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    page = console.client.get(f"/problems/{problem_id}").text
    assert "Connection pool too small" in page
    assert 'href="/incidents/1"' in page
    assert "/problems/" in console.client.get("/problems").text

    # A known error needs a workaround: refused on the page, the status unchanged.
    r = _post(console, f"/problems/{problem_id}/status", {"status": "known_error"}, f"/problems/{problem_id}")
    assert r.status_code == 422
    assert "workaround: a known error needs one" in html.unescape(r.text)
    assert _problem(console, problem_id).status == "open"

    r = _post(
        console,
        f"/problems/{problem_id}",
        {"title": "Connection pool too small", "workaround": "Restart the pods", "services": "checkout-api"},
        f"/problems/{problem_id}",
    )
    assert r.status_code == 303
    r = _post(console, f"/problems/{problem_id}/status", {"status": "known_error"}, f"/problems/{problem_id}")
    assert r.status_code == 303
    assert _problem(console, problem_id).status == "known_error"
    assert _problem(console, problem_id).workaround == "Restart the pods"

    r = _post(console, f"/problems/{problem_id}/incidents", {"incident": "#2"}, f"/problems/{problem_id}")
    assert r.status_code == 303
    assert "Incident+%232+linked" in r.headers["location"]
    with console.db.reader() as s:
        linked = set(s.execute(select(ProblemIncident.incident_id).where(ProblemIncident.problem_id == problem_id)))
        assert len(linked) == 2

    # Resolving is written on each linked incident's timeline.
    r = _post(console, f"/problems/{problem_id}/status", {"status": "resolved"}, f"/problems/{problem_id}")
    assert r.status_code == 303
    with console.db.reader() as s:
        timeline = incidents.timeline(s, incidents.get(s, "#2").id)
        assert any("Connection pool too small" in e.message and "resolved" in e.message for e in timeline)


def test_a_refused_problem_keeps_what_was_typed(console: Console) -> None:
    console.login()
    r = _post(console, "/problems", {"title": "Disk fills up", "root_cause": "Logs never rotated", "incidents": "#99"})
    assert r.status_code == 422
    page = html.unescape(r.text)
    assert "incidents: no incident #99" in page
    assert 'value="Disk fills up"' in page
    assert "Logs never rotated" in page
    r = _post(console, "/problems", {"title": "Disk fills up", "services": "no-such-service"})
    assert r.status_code == 422
    assert "unknown service 'no-such-service'" in html.unescape(r.text)
    with console.db.reader() as s:
        assert s.execute(select(Problem)).first() is None
    r = _post(console, f"/problems/{12345}/status", {"status": "resolved"})
    assert r.status_code == 404


def test_observers_read_problems_but_change_nothing(console: Console) -> None:
    console.login()
    _post(console, "/problems", {"title": "Flaky DNS", "services": "checkout-api"})
    console.client.post("/logout", data={"csrf": console.csrf()})
    console.login("olga@example.com")
    listing = console.client.get("/problems").text
    assert "Flaky DNS" in listing
    assert 'action="/problems"' not in listing
    detail = console.client.get("/problems/1").text
    assert 'action="/problems/1"' not in detail
    r = console.client.post("/problems", data={"csrf": console.csrf("/problems"), "title": "x"}, follow_redirects=False)
    assert r.status_code == 403


def _postmortem(console: Console) -> None:
    _incidents(console, "Payments down")
    r = _post(console, "/incidents/1/postmortem", {}, "/incidents/1")
    assert r.status_code == 303, r.text


def test_a_problem_opened_from_a_postmortem(console: Console) -> None:
    console.login()
    _postmortem(console)
    r = _post(
        console,
        "/incidents/1/postmortem/sections/root_cause",
        {"body": "An expired certificate", "version": "1"},
        "/incidents/1/postmortem",
    )
    assert r.status_code == 303, r.text
    r = _post(console, "/incidents/1/postmortem/problem", {}, "/incidents/1/postmortem")
    assert r.status_code == 303
    problem_id = int(re.search(r"/problems/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    row = _problem(console, problem_id)
    assert (row.title, row.root_cause) == ("Payments down", "An expired certificate")
    assert 'href="/incidents/1"' in console.client.get(f"/problems/{problem_id}").text


def test_review_meetings_are_scheduled_and_recorded_from_the_postmortem_page(console: Console) -> None:
    console.login()
    with console.db.unit_of_work() as s:
        bob = users.create_user(s, email="bob@example.com", name="Bob", role="responder", now=console.clock.now()).id
    _postmortem(console)
    page = "/incidents/1/postmortem"
    assert 'action="/incidents/1/postmortem/meetings"' in console.client.get(page).text

    # A time that is not one: refused, what was typed kept.
    r = _post(
        console,
        "/incidents/1/postmortem/meetings",
        {"starts_at": "next tuesday", "location": "Room 4", "participants": [str(bob)]},
        page,
    )
    assert r.status_code == 422
    assert 'value="Room 4"' in r.text
    assert f'value="{bob}" selected' in r.text

    r = _post(
        console,
        "/incidents/1/postmortem/meetings",
        {"starts_at": "2026-12-10T15:00", "minutes": "45", "location": "Room 4", "participants": [str(bob)]},
        page,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        meeting = s.execute(select(ReviewMeeting)).scalar_one()
        invited = set(s.execute(select(MeetingInvite.address)).scalars())
    assert meeting.starts_at.isoformat() == "2026-12-10T15:00:00+00:00"
    assert meeting.minutes == 45
    # The owner (who started it) and the person chosen.
    assert invited == {"alice@example.com", "bob@example.com"}
    shown = console.client.get(page).text
    assert "Room 4" in shown
    assert "bob@example.com (pending)" in shown

    too_long = "x" * 50_001
    r = _post(
        console,
        f"/incidents/1/postmortem/meetings/{meeting.id}",
        {"attended": [str(bob)], "decisions": too_long},
        page,
    )
    assert r.status_code == 413
    assert too_long in r.text
    r = _post(
        console,
        f"/incidents/1/postmortem/meetings/{meeting.id}",
        {"attended": [str(bob)], "decisions": "Rotate certificates by automation"},
        page,
    )
    assert r.status_code == 303
    with console.db.reader() as s:
        meeting = s.execute(select(ReviewMeeting)).scalar_one()
    assert (meeting.attended_ids, meeting.decisions) == ([bob], "Rotate certificates by automation")
    assert "Rotate certificates by automation" in console.client.get(page).text
