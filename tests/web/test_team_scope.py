"""Team scope in the console (ADR 0016): integration keys and webhook URLs masked as in the API, and another
team's responder refused on an incident page."""

from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import Console
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.webhooks import service as webhooks

HOOK = "https://chat.test/hooks/console-secret-1357"


def _org(console: Console) -> tuple[int, int]:
    """checkout-api goes to team ops (Mia manages, Max is a member); Wes is in team web. Returns the ids of the
    service and of the webhook subscription."""
    with console.db.unit_of_work() as s:
        hashed = users.get_user(s, "alice@example.com").password_hash
        for email in ("mia@example.com", "max@example.com", "wes@example.com"):
            user = users.create_user(
                s, email=email, name=email.split("@")[0], role="responder", now=console.clock.now()
            )
            user.password_hash = hashed
        ops = teams.create_team(s, name="ops", now=console.clock.now())
        web = teams.create_team(s, name="web", now=console.clock.now())
        teams.set_member(s, ops, users.get_user(s, "mia@example.com"), "manager")
        teams.set_member(s, ops, users.get_user(s, "max@example.com"), "member")
        teams.set_member(s, web, users.get_user(s, "wes@example.com"), "manager")
        service = services.get_service(s, "checkout-api")
        service.team_id = ops.id
        hook = webhooks.create(
            s,
            name="chat",
            url=HOOK,
            now=console.clock.now(),
            owner_user_id=users.get_user(s, "alice@example.com").id,
        )
        return service.id, hook.id


def test_integration_keys_are_whole_only_for_admins_and_the_teams_managers(console: Console) -> None:
    service_id, _ = _org(console)
    key = console.key
    for email, whole in (
        ("alice@example.com", True),
        ("mia@example.com", True),
        ("max@example.com", False),
        ("wes@example.com", False),
        ("olga@example.com", False),
    ):
        console.client.cookies.clear()
        console.login(email)
        page = console.client.get(f"/services/{service_id}").text
        assert (key in page) is whole, email


def test_webhook_urls_are_masked_for_everyone_but_admins_and_owners(console: Console) -> None:
    _, hook_id = _org(console)
    console.login("max@example.com")
    for path in ("/webhooks", f"/webhooks/{hook_id}"):
        page = console.client.get(path).text
        assert "console-secret" not in page, path
        assert "https://chat.test/***" in page, path
    console.client.cookies.clear()
    console.login()
    assert HOOK in console.client.get(f"/webhooks/{hook_id}").text


def test_another_teams_responder_cannot_act_on_an_incident(console: Console) -> None:
    _org(console)
    console.trigger("disk full")
    console.login("wes@example.com")
    csrf = console.csrf()
    r = console.client.post("/incidents/1", data={"csrf": csrf, "action": "acknowledge"}, follow_redirects=False)
    assert r.status_code == 403
    assert "team &#39;ops&#39;" in r.text or "team 'ops'" in r.text
    console.client.post("/incidents/bulk", data={"csrf": csrf, "action": "resolve", "incident": "1"})
    assert console.status_of(1) == "triggered"
    # Nor open one on that team's service with a test event.
    with console.db.reader() as s:
        service = services.get_service(s, "checkout-api")
        (integration,) = services.list_integrations(s, service.id)
    r = console.client.post(f"/services/{service.id}/integrations/{integration.id}/test", data={"csrf": csrf})
    assert r.status_code == 403
    console.client.cookies.clear()
    console.login("max@example.com")
    r = console.client.post(
        "/incidents/1", data={"csrf": console.csrf(), "action": "acknowledge"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert console.status_of(1) == "acknowledged"


def test_with_teams_see_all_off_another_teams_service_and_incidents_are_not_shown(console: Console) -> None:
    service_id, _ = _org(console)
    console.trigger("db1 is down")
    runtime = console.client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settings = runtime.settings.model_copy(update={"teams_see_all": False})
    console.login("wes@example.com")
    assert f'href="/services/{service_id}"' not in console.client.get("/services").text
    assert console.client.get(f"/services/{service_id}").status_code == 404
    assert "db1 is down" not in console.client.get("/incidents").text
    assert console.client.get("/incidents/1").status_code == 404
    console.client.cookies.clear()
    console.login("max@example.com")
    assert "db1 is down" in console.client.get("/incidents").text
    assert console.client.get("/incidents/1").status_code == 200
    assert console.client.get(f"/services/{service_id}").status_code == 200
    assert f'href="/services/{service_id}"' in console.client.get("/services").text


def test_with_teams_see_all_off_another_teams_schedules_policies_and_silences_are_not_shown(
    console: Console,
) -> None:
    from tocsin.alerts import silence_service as silences
    from tocsin.escalation import service as escalation
    from tocsin.oncall import service as oncall

    _org(console)
    with console.db.unit_of_work() as s:
        ops = teams.get_team(s, "ops")
        now = console.clock.now()
        schedule = oncall.create_schedule(s, name="ops-primary", timezone="UTC", now=now, team_id=ops.id)
        step = [{"kind": "schedule", "ref": str(schedule.id)}]
        policy = escalation.create_policy(s, name="ops-escalation", steps=[(step, 300)], now=now, team_id=ops.id)
        silences.create_silence(
            s,
            matchers=[],
            service="checkout-api",
            starts_at=now,
            ends_at=now + timedelta(hours=2),
            author="alice",
            comment="ops maintenance",
            now=now,
        )
        schedule_id, policy_id = schedule.id, policy.id
    runtime = console.client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settings = runtime.settings.model_copy(update={"teams_see_all": False})
    console.login("wes@example.com")
    for path, text in (("/oncall", "ops-primary"), ("/escalation-policies", "ops-escalation")):
        assert text not in console.client.get(path).text, path
    assert "ops maintenance" not in console.client.get("/silences").text
    assert console.client.get(f"/schedules/{schedule_id}").status_code == 404
    assert console.client.get(f"/escalation-policies/{policy_id}").status_code == 404
    console.client.cookies.clear()
    console.login("max@example.com")
    assert "ops-primary" in console.client.get("/oncall").text
    assert "ops-escalation" in console.client.get("/escalation-policies").text
    assert "ops maintenance" in console.client.get("/silences").text
    assert console.client.get(f"/schedules/{schedule_id}").status_code == 200
    assert console.client.get(f"/escalation-policies/{policy_id}").status_code == 200
