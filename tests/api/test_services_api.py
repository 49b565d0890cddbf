"""/api/v1/services and integrations through the real application."""

from __future__ import annotations

from tests.api.conftest import declare, make_integration, make_service, ok, problem
from tests.conftest import ApiHarness


def test_create_get_list_patch_delete_service(api: ApiHarness) -> None:
    ok(api.post("/api/v1/teams", json={"name": "payments"}), 201)
    created = make_service(api, "checkout", description="the shop", team="payments", ack_timeout="30m", tier=1)
    assert created["team"]["name"] == "payments"
    assert created["ack_timeout_seconds"] == 1800
    assert created["urgency"] == "high"
    assert created["auto_resolve"] is True
    assert created["open_incidents"] == 0

    by_name = ok(api.get("/api/v1/services/checkout"))
    by_id = ok(api.get(f"/api/v1/services/{created['id']}"))
    assert by_name == by_id

    declare(api, created["id"], "one")
    declare(api, created["id"], "two")
    other = make_service(api, "search")
    listed = {s["name"]: s for s in ok(api.get("/api/v1/services"))}
    assert listed["checkout"]["open_incidents"] == 2
    assert listed["search"]["open_incidents"] == 0

    patched = ok(
        api.patch(
            "/api/v1/services/checkout",
            json={"name": "checkout-api", "urgency": "low", "auto_resolve": False, "team": None, "tier": None},
        )
    )
    assert (patched["name"], patched["urgency"], patched["auto_resolve"]) == ("checkout-api", "low", False)
    assert patched["team"] is None
    assert patched["tier"] is None
    assert patched["ack_timeout_seconds"] == 1800, "a field not sent must be kept"
    assert patched["description"] == "the shop"

    ok(api.delete(f"/api/v1/services/{other['id']}"), 204)
    problem(api.get(f"/api/v1/services/{other['id']}"), 404)


def test_service_errors_name_the_problem(api: ApiHarness) -> None:
    make_service(api, "checkout")
    assert "already exists" in problem(api.post("/api/v1/services", json={"name": "checkout"}), 409)["detail"]
    body = problem(api.post("/api/v1/services", json={"name": "x", "urgency": "urgent"}), 422)
    assert "urgency" in body["detail"]
    body = problem(api.post("/api/v1/services", json={"name": "x", "tier": 9}), 422)
    assert "tier" in body["detail"]
    body = problem(api.post("/api/v1/services", json={"name": "x", "ack_timeout": "soon"}), 422)
    assert "ack_timeout" in body["detail"]
    assert "soon" in body["detail"]
    assert "ack_timeout" in problem(api.post("/api/v1/services", json={"name": "x", "ack_timeout": 0}), 422)["detail"]
    body = problem(api.post("/api/v1/services", json={"name": "x", "colour": "red"}), 422)
    assert "colour" in body["detail"]
    assert "team" in problem(api.post("/api/v1/services", json={"name": "x", "team": "nobody"}), 404)["detail"]
    problem(api.patch("/api/v1/services/missing", json={"urgency": "low"}), 404)
    make_service(api, "search")
    problem(api.patch("/api/v1/services/search", json={"name": "checkout"}), 409)
    problem(api.delete("/api/v1/services/missing"), 404)


def test_a_service_with_incidents_is_never_deleted_with_its_history(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    assert "archive it instead" in problem(api.delete("/api/v1/services/checkout"), 409)["detail"]
    ok(api.post(f"/api/v1/incidents/{incident['id']}/resolve"))
    assert "archive it instead" in problem(api.delete("/api/v1/services/checkout"), 409)["detail"]
    assert ok(api.get(f"/api/v1/incidents/{incident['id']}"))["title"] == incident["title"]


def test_integrations_carry_the_url_to_paste(api: ApiHarness) -> None:
    make_service(api, "checkout")
    pd = make_integration(api, "checkout", "pagerduty_v2")
    am = make_integration(api, "checkout", "alertmanager", key="am-key-0123456789abcdef")
    gf = make_integration(api, "checkout", "grafana", signing_secret="s3cret")
    assert pd["url"] == "http://tocsin.test/v2/enqueue"
    assert len(pd["key"]) == 32
    assert pd["key_masked"] is False
    assert am["url"] == "http://tocsin.test/integrations/am-key-0123456789abcdef/alertmanager"
    assert gf["signed"] is True
    assert pd["signed"] is False
    assert "s3cret" not in str(gf)

    listed = ok(api.get("/api/v1/services/checkout/integrations"))
    assert sorted(i["id"] for i in listed) == sorted([pd["id"], am["id"], gf["id"]])
    assert ok(api.get(f"/api/v1/integrations/{am['id']}")) == am

    ok(api.delete(f"/api/v1/integrations/{am['id']}"), 204)
    problem(api.get(f"/api/v1/integrations/{am['id']}"), 404)
    problem(api.delete(f"/api/v1/integrations/{am['id']}"), 404)
    # The deleted key no longer opens anything.
    gone = api.client.post("/integrations/am-key-0123456789abcdef/alertmanager", json={"alerts": []})
    assert gone.status_code == 404


def test_integration_errors(api: ApiHarness) -> None:
    make_service(api, "checkout")
    make_integration(api, "checkout", "generic", key="generic-key-0123456789")
    url = "/api/v1/services/checkout/integrations"
    body = problem(api.post(url, json={"type": "smoke-signal", "name": "x"}), 422)
    assert "type" in body["detail"]
    body = problem(api.post(url, json={"type": "generic", "name": "x", "key": "short"}), 422)
    assert "key" in body["detail"]
    problem(api.post(url, json={"type": "generic", "name": "x", "key": "generic-key-0123456789"}), 409)
    problem(api.post("/api/v1/services/missing/integrations", json={"type": "generic", "name": "x"}), 404)
    problem(api.get("/api/v1/integrations/999999"), 404)


def test_keys_are_masked_for_non_admins(api: ApiHarness) -> None:
    make_service(api, "checkout")
    generic = make_integration(api, "checkout", "generic")
    key = generic["key"]
    for role in ("responder", "observer"):
        token = api.token_for(f"{role}@example.com", role)
        seen = ok(api.get(f"/api/v1/integrations/{generic['id']}", token=token))
        assert seen["key_masked"] is True
        assert key not in seen["key"]
        assert key not in seen["url"]
        assert seen["key"].startswith(key[:4])
        listed = ok(api.get("/api/v1/services/checkout/integrations", token=token))
        assert key not in str(listed)


def test_role_checks_on_services(api: ApiHarness) -> None:
    make_service(api, "checkout")
    responder = api.token_for("responder@example.com", "responder")
    observer = api.token_for("observer@example.com", "observer")
    for token in (responder, observer):
        ok(api.get("/api/v1/services", token=token))
        problem(api.post("/api/v1/services", json={"name": "x"}, token=token), 403)
        problem(api.patch("/api/v1/services/checkout", json={"tier": 2}, token=token), 403)
        problem(api.delete("/api/v1/services/checkout", token=token), 403)
        problem(
            api.post("/api/v1/services/checkout/integrations", json={"type": "generic", "name": "x"}, token=token),
            403,
        )
    assert ok(api.get("/api/v1/services/checkout"))["tier"] is None


def test_ids_beyond_64_bits_are_a_client_error(api: ApiHarness) -> None:
    huge = "9" * 25
    for url in (
        f"/api/v1/integrations/{huge}",
        f"/api/v1/services/{huge}",
        f"/api/v1/incidents/{huge}",
        f"/api/v1/users/{huge}",
        f"/api/v1/teams/{huge}",
    ):
        response = api.get(url)
        assert response.status_code in (404, 422), (url, response.status_code, response.text)
        problem(response, response.status_code)
    body = problem(api.post("/api/v1/incidents", json={"service_id": int(huge), "title": "x"}), 422)
    assert "service" in body["detail"] or "range" in body["detail"]


def test_nul_bytes_never_cause_a_server_error(api: ApiHarness) -> None:
    response = api.post("/api/v1/teams", json={"name": "pay\u0000ments"})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        problem(response, 422)
    lookup = api.get("/api/v1/services/a%00b")
    problem(lookup, 404 if lookup.status_code == 404 else 422)
