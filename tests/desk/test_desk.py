"""The service desk: reports becoming incidents or requests, the request flow, paging only when asked, conversion
both ways keeping history, the public report link and who may see and act on requests (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.desk import flow
from tocsin.desk.flow import RequestStatus
from tocsin.notify.models import Notification


def put(api: ApiHarness, url: str, **kw: Any) -> httpx.Response:
    return api.client.put(url, headers=api.headers(kw.pop("token", None)), **kw)


def notifications(api: ApiHarness) -> list[Notification]:
    with api.runtime.db.reader() as s:
        return list(s.scalars(select(Notification)))


def on_call_service(api: ApiHarness, name: str = "checkout") -> dict[str, Any]:
    """A service whose policy pages Bob, who has an email contact method."""
    ok(api.post("/api/v1/users", json={"email": "bob@example.com", "name": "Bob"}), 201)
    method = {"name": "mail", "type": "email", "address": "bob@example.com"}
    ok(api.post("/api/v1/users/bob@example.com/contact-methods", json=method), 201)
    policy = {"name": "p1", "steps": [{"targets": [{"kind": "user", "ref": "bob@example.com"}]}]}
    ok(api.post("/api/v1/escalation-policies", json=policy), 201)
    service = make_service(api, name)
    ok(put(api, f"/api/v1/services/{name}/escalation-policy", json={"escalation_policy": "p1"}))
    return service


def report(api: ApiHarness, service_id: int, token: str | None = None, **fields: Any) -> httpx.Response:
    body = {"service_id": service_id, "summary": "VPN drops every hour", "symptoms": "disconnects", **fields}
    return api.post("/api/v1/reports", json=body, token=token)


def test_a_broken_report_opens_an_incident_in_triage_that_pages(api: ApiHarness) -> None:
    service = on_call_service(api)
    before = len(notifications(api))
    filed = ok(report(api, service["id"], kind="broken", impact="high", urgency="high"), 201)
    assert filed["became"] == "broken"
    assert filed["priority"] == "P1", "high impact x high urgency is P1 by the default matrix"
    assert filed["request"] is None
    incident = ok(api.get(f"/api/v1/incidents/{filed['incident']['id']}"))
    assert incident["response_status"] == "triage"
    assert incident["priority"] == "P1"
    timeline = ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))
    assert "reported by Admin <admin@example.com>" in timeline[0]["message"]
    api.runtime.build_engine(owner="t").run_until_idle()
    kinds = [e["kind"] for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]
    assert "escalated" in kinds, "the reported incident pages as its service says"
    assert len(notifications(api)) == before


def test_a_need_report_becomes_a_request_that_never_pages(api: ApiHarness) -> None:
    service = on_call_service(api)
    filed = ok(report(api, service["id"], kind="need", impact="low", urgency="low"), 201)
    assert filed["became"] == "need"
    assert filed["incident"] is None
    request = filed["request"]
    assert (request["ref"], request["status"], request["priority"]) == ("REQ-1", "new", "P5")
    assert request["requester_email"] == "admin@example.com"
    api.runtime.build_engine(owner="t").run_until_idle()
    assert notifications(api) == [], "a request pages nobody"
    ok(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": "in_progress"}))
    ok(api.patch("/api/v1/service-requests/REQ-1", json={"assignee": "bob@example.com"}))
    ok(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": "fulfilled"}))
    api.runtime.build_engine(owner="t").run_until_idle()
    assert notifications(api) == [], "moving and assigning a request pages nobody"
    problem(report(api, service["id"]), 422)  # the reporter's choice is needed on a "choice" service
    problem(report(api, service["id"], kind="need", impact="huge"), 422)
    problem(report(api, 424242, kind="need"), 422)


def test_the_service_rule_overrides_the_reporters_choice(api: ApiHarness) -> None:
    service = make_service(api, "laptops")
    assert ok(api.get("/api/v1/services/laptops/desk"))["desk_mode"] == "choice"
    ok(put(api, "/api/v1/services/laptops/desk", json={"desk_mode": "request"}))
    assert ok(report(api, service["id"], kind="broken"), 201)["became"] == "need"
    assert ok(report(api, service["id"]), 201)["became"] == "need"
    ok(put(api, "/api/v1/services/laptops/desk", json={"desk_mode": "incident"}))
    assert ok(report(api, service["id"], kind="need"), 201)["became"] == "broken"
    problem(put(api, "/api/v1/services/laptops/desk", json={"desk_mode": "sometimes"}), 422)


@pytest.mark.parametrize(("start", "target"), list(itertools.product(list(RequestStatus), list(RequestStatus))))
def test_every_move_of_the_request_flow(api: ApiHarness, start: RequestStatus, target: RequestStatus) -> None:
    service = make_service(api, "laptops")
    ok(api.post("/api/v1/service-requests", json={"service_id": service["id"], "title": "New laptop"}), 201)
    path = {
        RequestStatus.NEW: [],
        RequestStatus.IN_PROGRESS: ["in_progress"],
        RequestStatus.FULFILLED: ["fulfilled"],
        RequestStatus.REJECTED: ["rejected"],
    }
    if start == RequestStatus.CONVERTED:
        ok(api.post("/api/v1/service-requests/REQ-1/convert"), 201)
    else:
        for step in path[start]:
            ok(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": step}))
    history = len(ok(api.get("/api/v1/service-requests/REQ-1/timeline")))
    answer = api.post("/api/v1/service-requests/REQ-1/transition", json={"status": target.value})
    if (start, target) in flow.ALLOWED:
        assert ok(answer)["status"] == target.value
        assert len(ok(api.get("/api/v1/service-requests/REQ-1/timeline"))) == history + 1
    else:
        body = problem(answer, 409)
        assert str(start.value) in body["detail"] or "already" in body["detail"] or "converting" in body["detail"]
        assert ok(api.get("/api/v1/service-requests/REQ-1"))["status"] == start.value, "nothing changed"
        assert len(ok(api.get("/api/v1/service-requests/REQ-1/timeline"))) == history


def test_bad_request_input_is_refused_clearly(api: ApiHarness) -> None:
    service = make_service(api, "laptops")
    problem(api.post("/api/v1/service-requests", json={"service_id": service["id"], "title": "  "}), 422)
    problem(
        api.post("/api/v1/service-requests", json={"service_id": service["id"], "title": "x", "requester": "no@x.io"}),
        422,
    )
    problem(api.get("/api/v1/service-requests/REQ-9"), 404)
    problem(api.get("/api/v1/service-requests/REQ-x"), 400)
    ok(api.post("/api/v1/service-requests", json={"service_id": service["id"], "title": "x"}), 201)
    problem(api.post("/api/v1/service-requests/1/transition", json={"status": "done"}), 422)
    problem(api.patch("/api/v1/service-requests/1", json={"assignee": "nobody@example.com"}), 422)


def test_a_request_pages_its_on_call_only_when_asked(api: ApiHarness) -> None:
    service = on_call_service(api)
    ok(api.post("/api/v1/service-requests", json={"service_id": service["id"], "title": "Restore my mailbox"}), 201)
    assert notifications(api) == []
    paged = ok(api.post("/api/v1/service-requests/REQ-1/page", json={"message": "CEO waiting"}))
    bob = ok(api.get("/api/v1/users/bob@example.com"))
    assert paged["paged_user_ids"] == [bob["id"]]
    (notice,) = notifications(api)
    assert (notice.kind, notice.user_id, notice.incident_id) == ("notice", bob["id"], None)
    timeline = ok(api.get("/api/v1/service-requests/REQ-1/timeline"))
    assert timeline[-1]["kind"] == "paged"
    assert "Bob" in timeline[-1]["message"]
    lonely = make_service(api, "nobody-on-call")
    ok(api.post("/api/v1/service-requests", json={"service_id": lonely["id"], "title": "x"}), 201)
    problem(api.post("/api/v1/service-requests/REQ-2/page", json={}), 409)
    assert len(ok(api.get("/api/v1/service-requests/REQ-2/timeline"))) == 1, "a refused page leaves no entry"


def test_a_request_converted_into_an_incident_keeps_its_history_on_both_sides(api: ApiHarness) -> None:
    service = make_service(api, "laptops")
    ok(report(api, service["id"], kind="need", summary="Laptop will not boot"), 201)
    ok(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": "in_progress", "message": "looking"}))
    link = ok(api.post("/api/v1/service-requests/REQ-1/convert"), 201)
    request = ok(api.get("/api/v1/service-requests/REQ-1"))
    assert request["status"] == "converted"
    assert request["incident"] == link
    incident = ok(api.get(f"/api/v1/incidents/{link['id']}"))
    assert (incident["response_status"], incident["title"]) == ("triage", "Laptop will not boot")
    first = ok(api.get(f"/api/v1/incidents/{link['id']}/timeline"))[0]
    assert "from service request REQ-1" in first["message"]
    assert first["data"]["request"] == 1
    assert any("in_progress" in line and "looking" in line for line in first["data"]["history"])
    kinds = [e["kind"] for e in ok(api.get("/api/v1/service-requests/REQ-1/timeline"))]
    assert kinds == ["opened", "status", "converted"]
    problem(api.post("/api/v1/service-requests/REQ-1/convert"), 409)
    page = api.client.get(f"/incidents/{incident['number']}")
    del page  # the console pages are checked in tests/desk/test_desk_pages.py


def test_an_incident_in_triage_becomes_a_request_and_ends_declined(api: ApiHarness) -> None:
    service = make_service(api, "laptops")
    incident = declare(api, service["id"], "Need a new monitor")
    ok(api.post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": "this is a purchase"}), 201)
    request = ok(api.post(f"/api/v1/incidents/{incident['id']}/convert-to-request", json={"message": "routine"}), 201)
    assert request["from_incident"] == {"id": incident["id"], "number": incident["number"]}
    assert (request["status"], request["title"]) == ("new", "Need a new monitor")
    after = ok(api.get(f"/api/v1/incidents/{incident['id']}"))
    assert (after["response_status"], after["status"]) == ("declined", "resolved")
    kinds = [e["kind"] for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]
    assert kinds[-1] == "to_request"
    assert "response_changed" in kinds
    opened = ok(api.get(f"/api/v1/service-requests/{request['number']}/timeline"))[0]
    assert opened["data"]["incident"] == incident["number"]
    assert any("this is a purchase" in line for line in opened["data"]["history"])
    problem(api.post(f"/api/v1/incidents/{incident['id']}/convert-to-request", json={}), 409)
    working = declare(api, service["id"], "Real outage")
    ok(api.post(f"/api/v1/incidents/{working['id']}/acknowledge"))
    problem(api.post(f"/api/v1/incidents/{working['id']}/convert-to-request", json={}), 409)
    assert ok(api.get(f"/api/v1/incidents/{working['id']}"))["response_status"] == "investigating"
    secret = ok(
        api.post(
            "/api/v1/incidents",
            json={"service_id": service["id"], "title": "Suspicious logins", "private": True},
        ),
        201,
    )
    problem(api.post(f"/api/v1/incidents/{secret['id']}/convert-to-request", json={}), 409)
    assert ok(api.get(f"/api/v1/incidents/{secret['id']}"))["response_status"] == "triage"


def test_requests_follow_their_services_team_scoping(scoped_api: ApiHarness) -> None:
    api = scoped_api
    ok(api.post("/api/v1/teams", json={"name": "ops"}), 201)
    ok(api.post("/api/v1/teams", json={"name": "web"}), 201)
    member = api.token_for("mia@example.com")
    other = api.token_for("otto@example.com")
    observer = api.token_for("olga@example.com", role="observer")
    put(api, "/api/v1/teams/ops/members/mia@example.com", json={"role": "member"})
    put(api, "/api/v1/teams/web/members/otto@example.com", json={"role": "member"})
    put(api, "/api/v1/teams/ops/members/olga@example.com", json={"role": "member"})
    service = make_service(api, "checkout", team="ops")
    ok(api.post("/api/v1/service-requests", json={"service_id": service["id"], "title": "Access to prod"}), 201)
    ok(api.get("/api/v1/service-requests/REQ-1", token=member))
    problem(api.get("/api/v1/service-requests/REQ-1", token=other), 404)
    assert ok(api.get("/api/v1/service-requests", token=other)) == []
    assert [r["ref"] for r in ok(api.get("/api/v1/service-requests", token=member))] == ["REQ-1"]
    problem(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": "in_progress"}, token=other), 404)
    problem(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": "in_progress"}, token=observer), 403)
    ok(api.post("/api/v1/service-requests/REQ-1/transition", json={"status": "in_progress"}, token=member))
    # Anyone signed in may report on a service they can see; the requester then reads their own request.
    mine = ok(report(api, service["id"], kind="need", token=observer), 201)["request"]
    assert ok(api.get(f"/api/v1/service-requests/{mine['number']}", token=observer))["requester_email"] == (
        "olga@example.com"
    )
    problem(report(api, service["id"], kind="need", token=other), 422)
    assert len(ok(api.get("/api/v1/service-requests"))) == 2, "nothing filed by the refused report"


def test_the_public_link_takes_reports_from_people_without_an_account(api: ApiHarness) -> None:
    service = make_service(api, "wifi")
    made = ok(api.post("/api/v1/services/wifi/desk/public-link"), 201)
    url = made["url"].replace("http://tocsin.test", "")
    client = api.client
    client.cookies.clear()
    form = client.get(url)
    assert form.status_code == 200, form.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert csrf is not None
    body = {
        "csrf": csrf.group(1),
        "name": "Pat",
        "email": "pat@example.org",
        "summary": "No wifi on floor 3",
        "kind": "broken",
        "impact": "medium",
        "urgency": "high",
    }
    sent = client.post(url, data=body, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    incidents = ok(api.get("/api/v1/incidents"))
    assert [i["title"] for i in incidents["items"]] == ["No wifi on floor 3"]

    missing = client.post(url, data={**body, "email": ""})
    assert missing.status_code == 422
    assert "email" in missing.text
    forged = client.post(url, data={**body, "csrf": "0" * 64})
    assert forged.status_code == 403
    big = client.post(url, data={**body, "symptoms": "x" * 40_000})
    assert big.status_code == 413
    assert client.get(url[:-3] + "abc").status_code == 404
    assert client.get("/report/s/nonsense").status_code == 404

    ok(api.post("/api/v1/services/wifi/desk/public-link"), 201)
    assert client.get(url).status_code == 404, "a rotated link is dead"
    rotated = ok(api.post("/api/v1/services/wifi/desk/public-link"), 201)
    fresh = rotated["url"].replace("http://tocsin.test", "")
    assert client.get(fresh).status_code == 200
    assert api.delete("/api/v1/services/wifi/desk/public-link").status_code == 204
    assert client.get(fresh).status_code == 404
    assert client.post(fresh, data=body).status_code == 404
    problem(api.delete("/api/v1/services/wifi/desk/public-link"), 409)
    with api.runtime.db.reader() as s:
        from tocsin.desk.models import DeskSettings

        stored = s.scalars(select(DeskSettings)).one()
        assert stored.public_token_hash is None
    del service


def test_the_public_link_is_rate_limited_per_client(api: ApiHarness) -> None:
    make_service(api, "wifi")
    url = ok(api.post("/api/v1/services/wifi/desk/public-link"), 201)["url"].replace("http://tocsin.test", "")
    client = api.client
    client.cookies.clear()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(url).text)
    assert csrf is not None
    body = {"csrf": csrf.group(1), "name": "Pat", "email": "pat@example.org", "summary": "Printer jam", "kind": "need"}
    burst = api.runtime.settings.desk_public_report_burst
    answers = [client.post(url, data=body, follow_redirects=False).status_code for _ in range(burst + 1)]
    assert answers[:burst] == [303] * burst
    assert answers[burst] == 429
    assert len(ok(api.get("/api/v1/service-requests"))) == burst
