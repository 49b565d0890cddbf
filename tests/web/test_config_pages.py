"""Services, on-call, escalation policies, people and the profile page, through the real app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.web.conftest import Console
from tocsin.api.services import mask
from tocsin.escalation import service as escalation
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.users import service as users


@pytest.fixture
def org(console: Console) -> dict[str, int]:
    """Alice and Bob alternate daily at 09:00 Berlin time; a policy pages the schedule, then Alice."""
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        alice = users.get_user(s, "alice@example.com")
        bob = users.create_user(s, email="bob@example.com", name="Bob", now=now)
        schedule = oncall.create_schedule(s, name="Primary", timezone="Europe/Berlin", now=now)
        oncall.set_layers(
            s,
            schedule,
            [
                {
                    "name": "daily",
                    "rotation": "daily",
                    "start": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
                    "users": [alice.id, bob.id],
                }
            ],
        )
        policy = escalation.create_policy(
            s,
            name="Default",
            now=now,
            repeat=1,
            steps=[
                ([{"kind": "schedule", "ref": str(schedule.id)}], 600),
                ([{"kind": "user", "ref": str(alice.id)}], 900),
            ],
        )
        service = services.get_service(s, "checkout-api")
        service.escalation_policy_id = policy.id
        cm = contacts.add_contact_method(
            s, user_id=alice.id, name="mail", type="email", address="alice@example.com", now=now
        )
        contacts.add_rule(s, user_id=alice.id, urgency="high", contact_method_id=cm.id, delay_seconds=120)
        return {
            "alice": alice.id,
            "bob": bob.id,
            "schedule": schedule.id,
            "policy": policy.id,
            "service": service.id,
            "cm": cm.id,
        }


def test_service_page_shows_paste_ready_urls_and_sends_a_test_event(console: Console, org: dict[str, int]) -> None:
    console.login()
    listing = console.client.get("/services").text
    assert f'href="/services/{org["service"]}"' in listing
    page = console.client.get(f"/services/{org['service']}").text
    assert "http://tocsin.test/v2/enqueue" in page
    assert f"routing_key: {console.key}" in page
    r = console.client.post(
        f"/services/{org['service']}/integrations/1/test",
        data={"csrf": console.csrf(f"/services/{org['service']}")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Test event sent" in console.client.get(r.headers["location"]).text
    assert "Test event from Alice via events" in console.client.get("/incidents").text


def test_observers_see_masked_integration_keys(console: Console, org: dict[str, int]) -> None:
    console.login("olga@example.com")
    page = console.client.get(f"/services/{org['service']}").text
    assert console.key not in page
    assert mask(console.key) in page  # as the API masks it


def test_oncall_page_names_who_is_on_call_now(console: Console, org: dict[str, int]) -> None:
    console.login()
    # 2026-11-02 08:00 UTC is 09:00 Berlin: the second shift (Bob) has just begun.
    page = console.client.get("/oncall").text
    assert re.search(r"Primary</a>.*?<strong>Bob</strong>", page, re.S)
    assert re.search(r"Default</a>:\s*<strong>Bob</strong>", page)
    console.clock.advance(timedelta(days=1))
    console.login()  # a day later the session has idled out
    assert re.search(r"Primary</a>.*?<strong>Alice</strong>", console.client.get("/oncall").text, re.S)


def test_schedule_page_draws_14_days_and_an_override_changes_the_final_row(
    console: Console, org: dict[str, int]
) -> None:
    console.login()
    path = f"/schedules/{org['schedule']}"
    page = console.client.get(path).text
    assert "Layer: daily" in page
    assert "Final schedule" in page
    assert "Gaps: nobody is on call" not in page
    assert page.count('class="tl-shift"') >= 28  # 14 days in the layer row and again in the final row
    r = console.client.post(
        f"{path}/overrides",
        data={
            "csrf": console.csrf(path),
            "user": str(org["alice"]),
            "start": "2026-11-03T09:00",
            "end": "2026-11-03T21:00",
        },
        follow_redirects=False,
    )
    assert "Override+created" in r.headers["location"]
    page = console.client.get(path).text
    assert 'class="tl-override"' in page
    assert "Alice: Tue 03 Nov 09:00 to Tue 03 Nov 21:00" in page
    with console.db.reader() as s:
        at = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
        assert oncall.users_on_call(s, org["schedule"], at) == (str(org["alice"]),)


def test_an_override_with_its_end_before_its_start_is_refused_with_a_reason(
    console: Console, org: dict[str, int]
) -> None:
    console.login()
    path = f"/schedules/{org['schedule']}"
    r = console.client.post(
        f"{path}/overrides",
        data={
            "csrf": console.csrf(path),
            "user": str(org["alice"]),
            "start": "2026-11-03T21:00",
            "end": "2026-11-03T09:00",
        },
    )
    assert "an override must end after it starts" in r.text


def test_schedule_with_a_gap_is_flagged(console: Console, org: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        schedule = oncall.get_schedule(s, org["schedule"])
        oncall.set_layers(
            s,
            schedule,
            [
                {
                    "name": "business",
                    "rotation": "daily",
                    "start": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
                    "users": [org["alice"]],
                    "restrictions": [{"start": "09:00", "end": "17:00"}],
                }
            ],
        )
    console.login()
    page = console.client.get(f"/schedules/{org['schedule']}").text
    assert "Gaps: nobody is on call" in page
    assert 'class="tl-gap"' in page


def test_admin_edits_policy_steps_and_repeats(console: Console, org: dict[str, int]) -> None:
    console.login()
    path = f"/escalation-policies/{org['policy']}"
    page = console.client.get(path).text
    assert "within <strong>10m</strong>" in page
    r = console.client.post(
        path,
        data={
            "csrf": console.csrf(path),
            "step-0-targets": [f"user:{org['bob']}"],
            "step-0-delay": "5m",
            "step-1-targets": [],
            "step-1-delay": "15m",  # no targets: the step is removed
            "step-2-targets": [f"schedule:{org['schedule']}", f"user:{org['alice']}"],
            "step-2-delay": "1h",
            "repeat": "2",
        },
        follow_redirects=False,
    )
    assert "Saved" in r.headers["location"]
    with console.db.reader() as s:
        policy = escalation.get_policy(s, org["policy"])
        steps = escalation.steps_of(s, policy)
    assert policy.repeat == 2
    assert [(st.delay_seconds, [t["kind"] for t in st.targets]) for st in steps] == [
        (300, ["user"]),
        (3600, ["schedule", "user"]),
    ]


def test_bad_policy_input_is_explained_and_nothing_changes(console: Console, org: dict[str, int]) -> None:
    console.login()
    path = f"/escalation-policies/{org['policy']}"
    r = console.client.post(
        path,
        data={
            "csrf": console.csrf(path),
            "step-0-targets": [f"user:{org['bob']}"],
            "step-0-delay": "soon",
            "repeat": "0",
        },
    )
    assert "step 1: not a duration" in r.text
    with console.db.reader() as s:
        assert len(escalation.steps_of(s, escalation.get_policy(s, org["policy"]))) == 2


def test_only_admins_edit_policies(console: Console, org: dict[str, int]) -> None:
    console.login("olga@example.com")
    path = f"/escalation-policies/{org['policy']}"
    assert "Save policy" not in console.client.get(path).text
    r = console.client.post(path, data={"csrf": console.csrf(path), "repeat": "0"})
    assert r.status_code == 403


def test_people_and_send_test_notification(console: Console, org: dict[str, int]) -> None:
    console.login()
    people = console.client.get("/people").text
    assert "Bob" in people
    me = console.client.get("/me").text
    assert "high urgency: mail (email) after 2m" in me
    r = console.client.post(
        f"/people/{org['alice']}/contact-methods/{org['cm']}/test",
        data={"csrf": console.csrf("/me")},
        follow_redirects=False,
    )
    assert "Test+notification+queued" in r.headers["location"]
    with console.db.reader() as s:
        queued = s.query(Notification).filter_by(kind="test", contact_method_id=org["cm"]).count()
    assert queued == 1


def test_profile_lists_my_shifts_and_open_incidents(console: Console, org: dict[str, int]) -> None:
    console.login()
    page = console.client.get("/me").text
    assert "My on-call shifts" in page
    assert page.count(f'href="/schedules/{org["schedule"]}"') >= 6  # every other day for 14 days
    assert "/ical/users/" in page


def test_api_token_is_shown_once_and_can_be_revoked(console: Console, org: dict[str, int]) -> None:
    console.login()
    r = console.client.post("/me/tokens", data={"csrf": console.csrf("/me"), "name": "deploy"}, follow_redirects=False)
    assert r.headers["location"] == "/me?token=new#tokens"
    page = console.client.get("/me?token=new").text
    token = re.search(r'id="new-token" value="([^"]+)"|value="(tocsin_[^"]+)"', page)
    assert token
    secret = token.group(1) or token.group(2)
    assert console.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in console.client.get("/me?token=new").text  # shown once
    token_id = re.search(r'data-token="(\d+)"', page).group(1)
    console.client.post(f"/me/tokens/{token_id}/revoke", data={"csrf": console.csrf("/me")})
    assert console.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
