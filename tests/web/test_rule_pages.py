"""Event rules and inhibit rules managed from the console, through the real app and database."""

from __future__ import annotations

import re

from markupsafe import escape

from tests.web.conftest import Console
from tocsin.alerts import routing_service as routing
from tocsin.users import service as users

PROD = '[{"field": "labels.env", "op": "=", "value": "prod"}]'


def test_admin_creates_edits_and_deletes_an_event_rule(console: Console) -> None:
    console.login()
    assert 'href="/rules"' in console.client.get("/incidents").text
    csrf = console.csrf("/rules/event/new")
    r = console.client.post(
        "/rules/event/new",
        data={
            "csrf": csrf,
            "name": "prod to checkout",
            "integration_key": console.key,
            "enabled": "on",
            "matchers": PROD,
            "actions": '{"service": "checkout-api", "severity": "critical"}',
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        (rule,) = routing.list_event_rules(s)
    assert (rule.name, rule.enabled, rule.position) == ("prod to checkout", True, 0)
    assert rule.matchers == [{"field": "labels.env", "op": "=", "value": "prod"}]
    assert rule.actions == {"service": "checkout-api", "severity": "critical"}
    assert rule.integration_id is not None

    edit = f"/rules/event/{rule.id}/edit"
    page = console.client.get(edit).text
    assert f'value="{console.key}" selected' in page
    assert "&#34;severity&#34;: &#34;critical&#34;" in page
    r = console.client.post(
        edit, data={"csrf": csrf, "position": "4", "actions": '{"drop": true}'}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        (rule,) = routing.list_event_rules(s)
    assert (rule.name, rule.enabled, rule.position, rule.integration_id) == ("prod to checkout", False, 4, None)
    assert (rule.matchers, rule.actions) == ([], {"drop": True})
    assert "prod to checkout" in console.client.get("/rules").text

    r = console.client.post(f"/rules/event/{rule.id}/delete", data={"csrf": csrf})
    assert "Event rule prod to checkout deleted" in r.text
    with console.db.reader() as s:
        assert routing.list_event_rules(s) == []
    assert console.client.get(edit).status_code == 404


def test_admin_creates_edits_and_deletes_an_inhibit_rule(console: Console) -> None:
    console.login()
    csrf = console.csrf("/rules/inhibit/new")
    r = console.client.post(
        "/rules/inhibit/new",
        data={
            "csrf": csrf,
            "name": "cluster down",
            "source": '[{"field": "labels.alertname", "op": "=", "value": "ClusterDown"}]',
            "target": PROD,
            "equal": "cluster, region",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        (rule,) = routing.list_inhibit_rules(s)
    assert rule.equal == ["cluster", "region"]
    assert rule.target_matchers == [{"field": "labels.env", "op": "=", "value": "prod"}]
    edit = f"/rules/inhibit/{rule.id}/edit"
    assert 'value="cluster region"' in console.client.get(edit).text
    r = console.client.post(
        edit,
        data={"csrf": csrf, "source": rule_source(), "target": PROD, "equal": "cluster"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        (rule,) = routing.list_inhibit_rules(s)
    assert (rule.name, rule.equal) == ("cluster down", ["cluster"])
    assert rule.source_matchers == [{"field": "severity", "op": "=", "value": "critical"}]
    r = console.client.post(f"/rules/inhibit/{rule.id}/delete", data={"csrf": csrf})
    assert "Inhibit rule cluster down deleted" in r.text
    with console.db.reader() as s:
        assert routing.list_inhibit_rules(s) == []


def rule_source() -> str:
    return '[{"field": "severity", "op": "=", "value": "critical"}]'


def test_bad_rule_input_gets_the_apis_message(console: Console) -> None:
    console.login()
    csrf = console.csrf("/rules/event/new")
    r = console.client.post(
        "/rules/event/new", data={"csrf": csrf, "name": "", "position": "first", "actions": '{"drop": true}'}
    )
    assert r.status_code == 422
    with console.db.unit_of_work() as s:
        _, token = users.create_token(s, users.get_user(s, "alice@example.com"), name="t", now=console.clock.now())
    api = console.client.put(
        "/api/v1/event-rules",
        json={"name": "", "position": "first", "enabled": False, "actions": {"drop": True}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert str(escape(api.json()["detail"])) in r.text
    assert re.search(r'id="name-error">String should have at least 1 character<', r.text)
    assert re.search(r'id="position-error">Input should be a valid integer', r.text)
    assert 'value="first"' in r.text

    r = console.client.post("/rules/event/new", data={"csrf": csrf, "name": "x", "actions": "{drop"})
    assert r.status_code == 422
    assert re.search(r'id="actions-error">not valid JSON', r.text)
    r = console.client.post(
        "/rules/event/new", data={"csrf": csrf, "name": "x", "matchers": '[{"field": "nope", "value": 1}]'}
    )
    assert r.status_code == 422
    api = console.client.put(
        "/api/v1/event-rules",
        json={"name": "x", "matchers": [{"field": "nope", "value": 1}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert str(escape(api.json()["detail"])) in r.text
    assert re.search(
        r'id="matchers-error">event rule &#39;x&#39;: rule &#39;x&#39;: unknown field &#39;nope&#39;', r.text
    )
    r = console.client.post(
        "/rules/event/new", data={"csrf": csrf, "name": "x", "matchers": PROD, "actions": '{"fly": 1}'}
    )
    assert r.status_code == 422
    assert re.search(r'id="actions-error">event rule &#39;x&#39;: rule &#39;x&#39;: unknown action\(s\) fly<', r.text)
    r = console.client.post(
        "/rules/inhibit/new", data={"csrf": csrf, "name": "i", "source": PROD, "target": '[{"field": "x"}]'}
    )
    assert r.status_code == 422
    assert re.search(r'id="target-error">inhibit rule &#39;i&#39;: ', r.text)
    assert 'id="source-error"' not in r.text
    r = console.client.post(
        "/rules/inhibit/new", data={"csrf": csrf, "name": "i", "source": '{"not": "a list"}', "target": PROD}
    )
    assert r.status_code == 422
    assert re.search(r'id="source-error">Input should be a valid list', r.text)
    with console.db.reader() as s:
        assert routing.list_event_rules(s) == []
        assert routing.list_inhibit_rules(s) == []


def test_a_new_rule_does_not_replace_one_of_the_same_name(console: Console) -> None:
    with console.db.unit_of_work() as s:
        routing.put_event_rule(s, name="kept", matchers=[], actions={"drop": True}, now=console.clock.now())
    console.login()
    r = console.client.post(
        "/rules/event/new", data={"csrf": console.csrf("/rules/event/new"), "name": "kept", "actions": "{}"}
    )
    assert r.status_code == 409
    assert "an event rule named &#39;kept&#39; already exists" in r.text
    with console.db.reader() as s:
        assert routing.get_event_rule(s, "kept").actions == {"drop": True}


def test_non_admins_get_403_and_csrf_is_checked(console: Console) -> None:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        users.create_user(s, email="rita@example.com", name="Rita", role="responder", now=now)
        users.get_user(s, "rita@example.com").password_hash = users.get_user(s, "alice@example.com").password_hash
        event_id = routing.put_event_rule(s, name="kept", matchers=[], actions={"drop": True}, now=now).id
        inhibit_id = routing.put_inhibit_rule(
            s,
            name="kept",
            source=[{"field": "severity", "value": "critical"}],
            target=[{"field": "severity", "value": "info"}],
            equal=[],
            now=now,
        ).id
    posts = [
        ("/rules/event/new", {"name": "sneaky"}),
        (f"/rules/event/{event_id}/edit", {"actions": "{}"}),
        (f"/rules/event/{event_id}/delete", {}),
        ("/rules/inhibit/new", {"name": "sneaky", "source": "[]", "target": "[]"}),
        (f"/rules/inhibit/{inhibit_id}/edit", {"source": "[]", "target": "[]"}),
        (f"/rules/inhibit/{inhibit_id}/delete", {}),
    ]
    for email in ("olga@example.com", "rita@example.com"):
        console.client.cookies.clear()
        console.login(email)
        csrf = console.csrf()
        assert "kept" in console.client.get("/rules").text
        assert console.client.get("/rules/event/new").status_code == 403
        for path, data in posts:
            r = console.client.post(path, data={"csrf": csrf, **data})
            assert r.status_code == 403, (email, path)
            assert "Only admins can change event and inhibit rules" in r.text
    console.client.cookies.clear()
    console.login()
    for path, data in posts:
        r = console.client.post(path, data=data)
        assert r.status_code == 403, path
        assert "expired or came from another site" in r.text
    with console.db.reader() as s:
        assert [(r.name, r.actions) for r in routing.list_event_rules(s)] == [("kept", {"drop": True})]
        assert [r.name for r in routing.list_inhibit_rules(s)] == ["kept"]
