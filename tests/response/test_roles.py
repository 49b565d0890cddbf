"""Incident roles: the shipped defaults, assigning and handing over with history, instructions sent to the holder."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.notify.models import Notification


def put(api: ApiHarness, url: str, **kw: Any) -> httpx.Response:
    return api.client.put(url, headers=api.headers(), **kw)


def person(api: ApiHarness, email: str, name: str) -> dict[str, Any]:
    user = ok(api.post("/api/v1/users", json={"email": email, "name": name}), 201)
    ok(
        api.post(f"/api/v1/users/{email}/contact-methods", json={"name": "mail", "type": "email", "address": email}),
        201,
    )
    return user  # type: ignore[no-any-return]


def test_the_four_default_roles_ship_with_instructions(api: ApiHarness) -> None:
    shipped = ok(api.get("/api/v1/incident-roles"))
    assert [r["name"] for r in shipped] == ["Incident Commander", "Technical Lead", "Communications Lead", "Scribe"]
    assert all(r["instructions"] for r in shipped)


def test_a_role_is_given_handed_over_and_released_with_its_history(api: ApiHarness) -> None:
    gina, hugo = person(api, "gina@example.com", "Gina"), person(api, "hugo@example.com", "Hugo")
    incident = declare(api, make_service(api, "checkout")["id"])
    base = f"/api/v1/incidents/{incident['id']}/roles"

    given = ok(api.post(base, json={"role": "Incident Commander", "user": "gina@example.com"}))
    assert given["current"]["Incident Commander"]["user_id"] == gina["id"]
    problem(api.post(base, json={"role": "Incident Commander", "user": "gina@example.com"}), 409)
    handed = ok(api.post(base, json={"role": "Incident Commander", "user": str(hugo["id"])}))
    assert handed["current"]["Incident Commander"]["user"] == "Hugo"
    assert [(h["user"], h["ended_at"] is None) for h in handed["history"]] == [("Gina", False), ("Hugo", True)]
    released = ok(api.delete(f"{base}/Incident Commander"))
    assert released["current"] == {}
    problem(api.delete(f"{base}/Incident Commander"), 409)

    timeline = [e["message"] for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]
    assert "Incident Commander given to Gina" in timeline
    assert "Incident Commander handed over to Hugo" in timeline
    assert "Incident Commander released" in timeline
    with api.runtime.db.reader() as s:
        sent = list(s.scalars(select(Notification).where(Notification.kind == "notice")))
    assert sorted(n.user_id for n in sent) == sorted([gina["id"], hugo["id"]])
    assert all("keep the response moving" in n.payload["text"] for n in sent)


def test_custom_roles_and_bad_input(api: ApiHarness) -> None:
    ok(put(api, "/api/v1/incident-roles/Liaison", json={"description": "Vendor contact", "instructions": "Call them"}))
    incident = declare(api, make_service(api, "checkout")["id"])
    base = f"/api/v1/incidents/{incident['id']}/roles"
    assert ok(api.post(base, json={"role": "Liaison", "user": "admin@example.com"}))["current"]["Liaison"]
    unknown = problem(api.post(base, json={"role": "Wizard", "user": "admin@example.com"}), 404)
    assert "Liaison" in unknown["detail"], "the known roles are named"
    problem(api.post(base, json={"role": "Scribe", "user": "nobody@example.com"}), 422)
    problem(api.delete("/api/v1/incident-roles/Liaison"), 409)
    ok(put(api, "/api/v1/incident-roles/Spare", json={}))
    assert api.delete("/api/v1/incident-roles/Spare").status_code == 204
    observer = api.token_for("olga@example.com", role="observer")
    problem(
        api.client.post(base, json={"role": "Scribe", "user": "admin@example.com"}, headers=api.headers(observer)), 403
    )
