"""Services and integrations administered from the console, through the real app and database."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from tests.web.conftest import Console
from tocsin.escalation import service as escalation
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users


@pytest.fixture
def refs(console: Console) -> dict[str, int]:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        team = teams.create_team(s, name="Payments", now=now)
        alice = users.get_user(s, "alice@example.com")
        policy = escalation.create_policy(
            s, name="Default", now=now, steps=[([{"kind": "user", "ref": alice.id}], 300)]
        )
        return {"team": team.id, "policy": policy.id, "service": services.get_service(s, "checkout-api").id}


def test_admin_creates_a_service_with_team_policy_and_timeout(console: Console, refs: dict[str, int]) -> None:
    console.login()
    assert 'href="/services/new"' in console.client.get("/services").text
    r = console.client.post(
        "/services/new",
        data={
            "csrf": console.csrf("/services/new"),
            "name": "ledger",
            "description": "Double-entry book",
            "team": str(refs["team"]),
            "escalation_policy": str(refs["policy"]),
            "urgency": "low",
            "ack_timeout": "30m",
            "tier": "2",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        service = services.get_service(s, "ledger")
    assert r.headers["location"].startswith(f"/services/{service.id}?")
    assert (service.description, service.team_id, service.escalation_policy_id) == (
        "Double-entry book",
        refs["team"],
        refs["policy"],
    )
    assert (service.urgency, service.auto_resolve, service.ack_timeout_seconds, service.tier) == ("low", False, 1800, 2)


def test_bad_service_input_is_refused_in_the_apis_words_and_keeps_what_was_typed(
    console: Console, refs: dict[str, int]
) -> None:
    console.login()
    csrf = console.csrf("/services/new")
    r = console.client.post(
        "/services/new", data={"csrf": csrf, "name": "", "description": "kept text", "urgency": "urgent"}
    )
    assert r.status_code == 422
    with console.db.unit_of_work() as s:
        _, token = users.create_token(s, users.get_user(s, "alice@example.com"), name="t", now=console.clock.now())
    api = console.client.post(
        "/api/v1/services",
        json={"name": "", "description": "kept text", "urgency": "urgent"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert str(escape(api.json()["detail"])) in r.text  # word for word what the API answers
    assert "name: String should have at least 1 character" in r.text
    assert re.search(r'id="name-error">String should have at least 1 character<', r.text)
    assert "urgency: Input should be &#39;high&#39;, &#39;low&#39; or &#39;severity_based&#39;" in r.text
    assert ">kept text</textarea>" in r.text
    r = console.client.post("/services/new", data={"csrf": csrf, "name": "x", "ack_timeout": "soon"})
    assert r.status_code == 422
    assert re.search(r'id="ack_timeout-error">not a duration', r.text)
    assert 'value="soon"' in r.text
    r = console.client.post("/services/new", data={"csrf": csrf, "name": "checkout-api"})
    assert r.status_code == 409
    assert "a service named &#39;checkout-api&#39; already exists" in r.text
    with console.db.reader() as s:
        assert [x.name for x in services.list_services(s)] == ["checkout-api"]


def test_admin_edits_a_service_and_clears_optional_fields(console: Console, refs: dict[str, int]) -> None:
    console.login()
    path = f"/services/{refs['service']}/edit"
    page = console.client.get(path).text
    assert 'value="checkout-api"' in page
    form = {"csrf": console.csrf(path), "name": "checkout", "urgency": "high", "auto_resolve": "on"}
    r = console.client.post(
        path,
        data={**form, "team": str(refs["team"]), "ack_timeout": "1h", "tier": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        service = services.get_service(s, refs["service"])
        assert (service.name, service.team_id, service.ack_timeout_seconds, service.tier) == (
            "checkout",
            refs["team"],
            3600,
            1,
        )
    r = console.client.post(path, data=form, follow_redirects=False)
    assert r.status_code == 303
    with console.db.reader() as s:
        service = services.get_service(s, refs["service"])
        assert (service.team_id, service.ack_timeout_seconds, service.tier, service.auto_resolve) == (
            None,
            None,
            None,
            True,
        )
    r = console.client.post(path, data={**form, "tier": "9"})
    assert r.status_code == 422
    assert "tier: Input should be less than or equal to 5" in r.text


def test_integrations_are_added_renamed_rekeyed_and_removed(console: Console, refs: dict[str, int]) -> None:
    console.login()
    service_id = refs["service"]
    new = f"/services/{service_id}/integrations/new"
    csrf = console.csrf(new)
    r = console.client.post(
        new, data={"csrf": csrf, "type": "grafana", "name": "dashboards", "signing_secret": "s3cret"}
    )
    assert r.status_code == 200  # followed to the service page
    assert "Integration dashboards added" in r.text
    with console.db.reader() as s:
        added = next(i for i in services.list_integrations(s, service_id) if i.name == "dashboards")
    assert (added.type, added.signing_secret) == ("grafana", "s3cret")
    edit = f"/services/{service_id}/integrations/{added.id}/edit"
    assert console.client.post(edit, data={"csrf": csrf, "name": "grafana prod"}).status_code == 200
    old_key = added.key
    r = console.client.post(f"/services/{service_id}/integrations/{added.id}/rotate-key", data={"csrf": csrf})
    assert "New key made" in r.text
    with console.db.reader() as s:
        renamed = services.get_integration(s, added.id)
        assert services.integration_type_of(s, old_key) is None
    assert renamed.name == "grafana prod"
    assert renamed.key != old_key
    r = console.client.post(f"/services/{service_id}/integrations/{added.id}/remove", data={"csrf": csrf})
    assert "Integration grafana prod removed" in r.text
    with console.db.reader() as s:
        assert [i.name for i in services.list_integrations(s, service_id)] == ["events"]


def test_bad_integration_input_is_explained_beside_its_field(console: Console, refs: dict[str, int]) -> None:
    console.login()
    new = f"/services/{refs['service']}/integrations/new"
    csrf = console.csrf(new)
    r = console.client.post(
        new, data={"csrf": csrf, "type": "carrier-pigeon", "name": "typed name", "signing_secret": "hush-hush"}
    )
    assert r.status_code == 422
    assert re.search(r'id="type-error">Input should be &#39;pagerduty_v2&#39;', r.text)
    assert 'value="typed name"' in r.text
    assert "hush-hush" not in r.text
    r = console.client.post(new, data={"csrf": csrf, "type": "generic", "name": "n", "key": "short"})
    assert r.status_code == 422
    assert "an integration key is 16 to 64 letters" in r.text
    r = console.client.post(new, data={"csrf": csrf, "type": "generic", "name": "n", "key": console.key})
    assert r.status_code == 409
    edit = f"/services/{refs['service']}/integrations/1/edit"
    r = console.client.post(edit, data={"csrf": csrf, "name": "  "})
    assert r.status_code == 422
    assert "an integration needs a name" in r.text
    assert console.client.get(f"/services/{refs['service']}/integrations/999/edit").status_code == 404


def test_observers_and_responders_get_403_and_csrf_is_checked(console: Console, refs: dict[str, int]) -> None:
    with console.db.unit_of_work() as s:
        users.create_user(s, email="rita@example.com", name="Rita", role="responder", now=console.clock.now())
        users.get_user(s, "rita@example.com").password_hash = users.get_user(s, "alice@example.com").password_hash
    service_id = refs["service"]
    posts = [
        ("/services/new", {"name": "sneaky"}),
        (f"/services/{service_id}/edit", {"name": "sneaky"}),
        (f"/services/{service_id}/integrations/new", {"type": "generic", "name": "sneaky"}),
        (f"/services/{service_id}/integrations/1/rotate-key", {}),
        (f"/services/{service_id}/integrations/1/remove", {}),
    ]
    for email in ("olga@example.com", "rita@example.com"):
        console.client.cookies.clear()
        console.login(email)
        csrf = console.csrf()
        assert console.client.get("/services/new").status_code == 403
        assert "Edit service" not in console.client.get(f"/services/{service_id}").text
        for path, data in posts:
            r = console.client.post(path, data={"csrf": csrf, **data})
            assert r.status_code == 403, (email, path)
            assert "Only admins can change services" in r.text
    console.client.cookies.clear()
    console.login()
    for path, data in posts:
        r = console.client.post(path, data=data)
        assert r.status_code == 403, path
        assert "expired or came from another site" in r.text
    with console.db.reader() as s:
        assert [x.name for x in services.list_services(s)] == ["checkout-api"]
        assert len(services.list_integrations(s, service_id)) == 1


def test_a_signing_secret_is_set_and_cleared_from_the_integration_page(console: Console, refs: dict[str, int]) -> None:
    console.login()
    service_id = refs["service"]
    with console.db.unit_of_work() as s:
        service = services.get_service(s, service_id)
        sentry = services.add_integration(s, service, name="errors", type="sentry", now=console.clock.now())
        other = next(i for i in services.list_integrations(s, service_id) if i.type not in ("sentry", "grafana"))
        sentry_id, other_id = sentry.id, other.id
    base = f"/services/{service_id}/integrations/{sentry_id}"
    page = console.client.get(f"{base}/edit")
    assert "No secret is set" in page.text
    csrf = console.csrf(f"{base}/edit")

    r = console.client.post(f"{base}/signing-secret", data={"csrf": csrf, "signing_secret": "whisper-1234"})
    assert r.status_code == 200
    assert "Signing secret set" in r.text
    page = console.client.get(f"{base}/edit")
    assert "A secret is set" in page.text
    assert "whisper-1234" not in page.text
    with console.db.reader() as s:
        assert services.get_integration(s, sentry_id).signing_secret == "whisper-1234"
    unsigned = console.client.post(
        f"/integrations/{sentry.key}/sentry", content=b"{}", headers={"Sentry-Hook-Resource": "event_alert"}
    )
    assert unsigned.status_code == 401

    r = console.client.post(f"{base}/signing-secret", data={"csrf": csrf, "clear": "1"})
    assert "Signing secret cleared" in r.text
    with console.db.reader() as s:
        assert services.get_integration(s, sentry_id).signing_secret is None

    refused = console.client.post(
        f"/services/{service_id}/integrations/{other_id}/signing-secret",
        data={"csrf": csrf, "signing_secret": "whisper-5678"},
    )
    assert refused.status_code == 422
    assert "not signed with a shared secret" in refused.text
    assert "whisper-5678" not in refused.text
