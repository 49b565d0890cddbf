"""Credentials in what the API shows (finding 8): integration keys whole only to admins and managers of the
service's team; contact addresses that are capability URLs (webhook, chat, ntfy) and webhook subscription URLs
whole only to their owner and admins. Emails and phone numbers stay readable by colleagues."""

from __future__ import annotations

from tests.conftest import ApiHarness
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

SLACK = "https://hooks.slack.test/services/T000/B000/the-secret-part-4321"
CHAT = "https://chat.test/hooks/subscription-secret-8765"


def _org(api: ApiHarness) -> dict[str, str]:
    tokens = {
        "mia": api.token_for("mia@example.com"),
        "max": api.token_for("max@example.com"),
        "olga": api.token_for("olga@example.com", role="observer"),
    }
    with api.runtime.db.unit_of_work() as s:
        ops = teams.create_team(s, name="ops", now=api.clock.now())
        teams.set_member(s, ops, users.get_user(s, "mia@example.com"), "manager")
        teams.set_member(s, ops, users.get_user(s, "max@example.com"), "member")
        services.create_service(s, name="checkout", team_id=ops.id, now=api.clock.now())
    return tokens


def test_integration_keys_are_whole_for_admins_and_the_teams_managers_only(api: ApiHarness) -> None:
    tokens = _org(api)
    created = api.post("/api/v1/services/checkout/integrations", json={"type": "pagerduty_v2", "name": "am"}).json()
    key = created["key"]
    for who, whole in (("mia", True), ("max", False), ("olga", False)):
        (shown,) = api.get("/api/v1/services/checkout/integrations", token=tokens[who]).json()
        one = api.get(f"/api/v1/integrations/{created['id']}", token=tokens[who]).json()
        for out in (shown, one):
            assert (out["key"] == key) is whole, who
            assert out["key_masked"] is not whole, who
            assert (key in out["url"]) is whole or key not in out["url"], who
            if not whole:
                assert key not in str(out), who


def test_capability_urls_of_contact_methods_are_masked_for_colleagues(api: ApiHarness) -> None:
    tokens = _org(api)
    for body in (
        {"type": "webhook", "address": SLACK, "name": "slack"},
        {"type": "email", "address": "mia@example.com", "name": "mail"},
    ):
        assert api.post("/api/v1/users/mia@example.com/contact-methods", json=body).status_code == 201
    by_owner = {
        m["name"]: m["address"]
        for m in api.get("/api/v1/users/mia@example.com/contact-methods", token=tokens["mia"]).json()
    }
    assert by_owner == {"slack": SLACK, "mail": "mia@example.com"}
    by_admin = {m["name"]: m["address"] for m in api.get("/api/v1/users/mia@example.com/contact-methods").json()}
    assert by_admin == by_owner
    for who in ("max", "olga"):
        shown = api.get("/api/v1/users/mia@example.com/contact-methods", token=tokens[who])
        addresses = {m["name"]: m["address"] for m in shown.json()}
        assert addresses == {"slack": "***4321", "mail": "mia@example.com"}, who
        assert "the-secret-part" not in shown.text


def test_webhook_subscription_urls_are_masked_but_for_their_owner_and_admins(api: ApiHarness) -> None:
    tokens = _org(api)
    created = api.post("/api/v1/webhook-subscriptions", json={"name": "chat", "url": CHAT}).json()
    assert api.get(f"/api/v1/webhook-subscriptions/{created['id']}").json()["url"] == CHAT
    for who in ("mia", "olga"):
        listed = api.get("/api/v1/webhook-subscriptions", token=tokens[who])
        assert [s["url"] for s in listed.json()] == ["https://chat.test/***"], who
        assert "subscription-secret" not in listed.text
        one = api.get(f"/api/v1/webhook-subscriptions/{created['id']}", token=tokens[who]).json()
        assert one["url"] == "https://chat.test/***"
