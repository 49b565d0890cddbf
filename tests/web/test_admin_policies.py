"""Escalation policies created and edited from the console, through the real app and database."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Console
from tocsin.escalation import service as escalation
from tocsin.oncall import service as oncall
from tocsin.teams import service as teams
from tocsin.users import service as users


@pytest.fixture
def ids(console: Console) -> dict[str, int]:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        return {
            "alice": users.get_user(s, "alice@example.com").id,
            "schedule": oncall.create_schedule(s, name="Primary", timezone="UTC", now=now).id,
            "team": teams.create_team(s, name="Payments", now=now).id,
        }


def test_admin_creates_a_policy_with_steps_targets_and_repeats(console: Console, ids: dict[str, int]) -> None:
    console.login()
    assert 'href="/escalation-policies/new"' in console.client.get("/escalation-policies").text
    r = console.client.post(
        "/escalation-policies/new",
        data={
            "csrf": console.csrf("/escalation-policies/new"),
            "name": "Payments default",
            "description": "Who answers for payments",
            "step-0-targets": [f"schedule:{ids['schedule']}"],
            "step-0-delay": "10m",
            "step-1-targets": [],  # left out
            "step-1-delay": "5m",
            "step-2-targets": [f"user:{ids['alice']}", f"team:{ids['team']}"],
            "step-2-delay": "1h",
            "repeat": "2",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        policy = escalation.get_policy(s, "Payments default")
        steps = [(st.delay_seconds, st.targets) for st in escalation.steps_of(s, policy)]
    assert r.headers["location"].startswith(f"/escalation-policies/{policy.id}?")
    assert (policy.description, policy.repeat) == ("Who answers for payments", 2)
    assert steps == [
        (600, [{"kind": "schedule", "ref": str(ids["schedule"])}]),
        (3600, [{"kind": "user", "ref": str(ids["alice"])}, {"kind": "team", "ref": str(ids["team"])}]),
    ]


def test_bad_policy_input_is_refused_in_the_apis_words_beside_its_field(console: Console, ids: dict[str, int]) -> None:
    console.login()
    csrf = console.csrf("/escalation-policies/new")
    target = f"user:{ids['alice']}"
    r = console.client.post(
        "/escalation-policies/new",
        data={"csrf": csrf, "name": "", "description": "kept", "step-0-delay": "5m", "repeat": "12"},
    )
    assert r.status_code == 422
    assert "name: String should have at least 1 character" in r.text
    assert "repeat: Input should be less than or equal to 9" in r.text
    assert "steps: List should have at least 1 item" in r.text
    assert re.search(r'id="repeat-error">Input should be less than or equal to 9', r.text)
    assert ">kept</textarea>" in r.text
    r = console.client.post(
        "/escalation-policies/new",
        data={
            "csrf": csrf,
            "name": "P",
            "step-0-targets": [target],
            "step-0-delay": "5m",
            "step-1-targets": [],
            "step-1-delay": "5m",
            "step-2-targets": [target],
            "step-2-delay": "soon",
        },
    )
    assert r.status_code == 422
    assert "step 3: not a duration" in r.text
    assert re.search(r'id="step-2-delay-error">not a duration', r.text)
    assert 'value="soon"' in r.text
    assert f'<option value="{target}" selected>' in r.text
    r = console.client.post(
        "/escalation-policies/new",
        data={"csrf": csrf, "name": "P", "step-0-targets": ["pager:1"], "step-0-delay": "5m"},
    )
    assert r.status_code == 422
    assert "Input should be &#39;user&#39;, &#39;schedule&#39; or &#39;team&#39;" in r.text
    assert re.search(r'id="step-0-targets-error">', r.text)
    with console.db.unit_of_work() as s:
        escalation.create_policy(
            s, name="Taken", now=console.clock.now(), steps=[([{"kind": "user", "ref": ids["alice"]}], 60)]
        )
    r = console.client.post(
        "/escalation-policies/new",
        data={"csrf": csrf, "name": "Taken", "step-0-targets": [target], "step-0-delay": "5m"},
    )
    assert r.status_code == 409
    assert "an escalation policy named &#39;Taken&#39; already exists" in r.text
    with console.db.reader() as s:
        assert [p.name for p in escalation.list_policies(s)] == ["Taken"]


def test_editing_changes_description_steps_and_repeats(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        policy_id = escalation.create_policy(
            s, name="Default", now=console.clock.now(), steps=[([{"kind": "user", "ref": ids["alice"]}], 60)]
        ).id
    console.login()
    path = f"/escalation-policies/{policy_id}"
    csrf = console.csrf(path)
    r = console.client.post(
        path,
        data={
            "csrf": csrf,
            "description": "nights too",
            "step-0-targets": [f"team:{ids['team']}"],
            "step-0-delay": "2m",
            "repeat": "x",
        },
    )
    assert r.status_code == 422
    assert "repeat: Input should be a valid integer" in r.text
    assert ">nights too</textarea>" in r.text
    r = console.client.post(
        path,
        data={
            "csrf": csrf,
            "description": "nights too",
            "step-0-targets": [f"team:{ids['team']}"],
            "step-0-delay": "2m",
            "repeat": "3",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        policy = escalation.get_policy(s, policy_id)
        steps = [(st.delay_seconds, st.targets) for st in escalation.steps_of(s, policy)]
    assert (policy.name, policy.description, policy.repeat) == ("Default", "nights too", 3)
    assert steps == [(120, [{"kind": "team", "ref": str(ids["team"])}])]


def test_observers_and_responders_get_403_and_csrf_is_checked(console: Console, ids: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        policy_id = escalation.create_policy(
            s, name="Default", now=console.clock.now(), steps=[([{"kind": "user", "ref": ids["alice"]}], 60)]
        ).id
        known = users.get_user(s, "alice@example.com").password_hash
        users.create_user(s, email="rita@example.com", name="Rita", now=console.clock.now(), password_hash=known)
    data = {"name": "Sneaky", "step-0-targets": [f"user:{ids['alice']}"], "step-0-delay": "1m", "repeat": "0"}
    for email in ("olga@example.com", "rita@example.com"):
        console.client.cookies.clear()
        console.login(email)
        csrf = console.csrf()
        assert console.client.get("/escalation-policies/new").status_code == 403
        for path in ("/escalation-policies/new", f"/escalation-policies/{policy_id}"):
            r = console.client.post(path, data={"csrf": csrf, **data})
            assert r.status_code == 403, (email, path)
            assert "Only admins can change escalation policies" in r.text
    console.client.cookies.clear()
    console.login()
    for path in ("/escalation-policies/new", f"/escalation-policies/{policy_id}"):
        r = console.client.post(path, data=data)
        assert r.status_code == 403
        assert "expired or came from another site" in r.text
    with console.db.reader() as s:
        assert [p.name for p in escalation.list_policies(s)] == ["Default"]
        assert escalation.steps_of(s, escalation.get_policy(s, policy_id))[0].delay_seconds == 60
