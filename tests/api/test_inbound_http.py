"""Inbound HTTP endpoints: the exact answers senders rely on, limits, and signed Grafana requests."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests.api.conftest import make_integration, make_service, ok, sample
from tests.conftest import ApiHarness
from tocsin.alerts import repository as alert_repo

OVER_LIMIT = 512 * 1024 + 1


def pd_event(key: str, name: str = "pagerduty/trigger_minimal.json", **changes: Any) -> dict[str, Any]:
    event = sample(name)
    event["routing_key"] = key
    event.update(changes)
    return event


def open_incidents(api: ApiHarness) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(api.get("/api/v1/incidents?status=triggered"))["items"]
    return items


def alerts(api: ApiHarness) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(api.get("/api/v1/alerts"))["items"]
    return items


def test_pagerduty_success_body(api: ApiHarness) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "pagerduty_v2")["key"]
    sent = api.client.post("/v2/enqueue", json=pd_event(key))
    assert sent.status_code == 202
    body = sent.json()
    assert set(body) == {"status", "message", "dedup_key"}
    assert (body["status"], body["message"]) == ("success", "Event processed")
    assert len(body["dedup_key"]) >= 16
    assert [a["dedup_key"] for a in alerts(api)] == [body["dedup_key"]]

    again = api.client.post("/v2/enqueue", json=pd_event(key, "pagerduty/trigger_full.json"))
    assert again.status_code == 202
    assert again.json()["dedup_key"] == sample("pagerduty/trigger_full.json")["dedup_key"]
    resolve = pd_event(key, "pagerduty/resolve.json", dedup_key=again.json()["dedup_key"])
    assert api.client.post("/v2/enqueue", json=resolve).json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": again.json()["dedup_key"],
    }
    assert len(open_incidents(api)) == 1


def test_pagerduty_invalid_event_body_names_the_fields(api: ApiHarness) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "pagerduty_v2")["key"]
    sent = api.client.post("/v2/enqueue", json=pd_event(key, "pagerduty/missing_fields.json"))
    assert sent.status_code == 400
    body = sent.json()
    assert set(body) == {"status", "message", "errors"}
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    joined = " ".join(body["errors"])
    for field in ("payload.summary", "payload.source", "payload.severity"):
        assert field in joined, body
    wrong = api.client.post("/v2/enqueue", json=pd_event(key, "pagerduty/wrong_types.json"))
    assert wrong.status_code == 400
    assert wrong.json()["errors"]
    no_key = api.client.post("/v2/enqueue", json={"event_action": "trigger"})
    assert no_key.status_code == 400
    assert "routing_key" in " ".join(no_key.json()["errors"])
    not_json = api.client.post("/v2/enqueue", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["status"] == "invalid event"
    assert "JSON" in " ".join(not_json.json()["errors"])
    assert alerts(api) == []


def test_pagerduty_unknown_routing_key(api: ApiHarness) -> None:
    sent = api.client.post("/v2/enqueue", json=pd_event("f" * 32))
    assert sent.status_code == 404
    body = sent.json()
    assert body["status"] == "invalid event"
    assert "routing_key" in " ".join(body["errors"])
    assert alerts(api) == []


def test_bodies_over_512_kb_are_refused_with_a_content_length(api: ApiHarness) -> None:
    make_service(api, "checkout")
    pd_key = make_integration(api, "checkout", "pagerduty_v2")["key"]
    generic_key = make_integration(api, "checkout", "generic")["key"]
    big = pd_event(
        pd_key, payload={"summary": "x", "source": "y", "severity": "info", "custom_details": "z" * OVER_LIMIT}
    )
    sent = api.client.post("/v2/enqueue", json=big)
    assert sent.status_code == 413, sent.text
    assert sent.json()["status"] == "invalid event"
    just_under = {"summary": "big but fine", "details": {"blob": "z" * (500 * 1024)}}
    assert api.client.post(f"/integrations/{generic_key}/generic", json=just_under).status_code == 202
    too_big = {"summary": "too big", "details": {"blob": "z" * OVER_LIMIT}}
    assert api.client.post(f"/integrations/{generic_key}/generic", json=too_big).status_code == 413
    assert [a["summary"] for a in alerts(api)] == ["big but fine"]


def test_chunked_bodies_over_512_kb_are_refused(api: ApiHarness, live_url: str) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "generic")["key"]
    chunk = b" " * 65536

    def body() -> Iterator[bytes]:
        yield b'{"summary": "streamed", "pad": "'
        for _ in range(9):  # 576 KiB: past the limit, with no Content-Length to announce it
            yield chunk
        yield b'"}'

    with httpx.Client(base_url=live_url, timeout=30) as client:
        sent = client.post(f"/integrations/{key}/generic", content=body(), headers={"content-type": "application/json"})
        assert "content-length" not in {k.lower() for k in sent.request.headers}
        assert sent.request.headers["transfer-encoding"] == "chunked"
        assert sent.status_code == 413, sent.text
        small = client.post(f"/integrations/{key}/generic", content=iter([b'{"summary":', b' "fine"}']))
        assert small.status_code == 202, small.text
    assert [a["summary"] for a in alerts(api)] == ["fine"]


def test_change_events_are_recorded_and_open_nothing(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    key = make_integration(api, "checkout", "pagerduty_v2")["key"]
    sent = api.client.post("/v2/change/enqueue", json=pd_event(key, "pagerduty/change.json"))
    assert sent.status_code == 202
    assert sent.json()["status"] == "success"
    with api.runtime.db.reader() as session:
        changes = alert_repo.changes_of_service(session, service["id"])
    assert [c.summary for c in changes] == [sample("pagerduty/change.json")["payload"]["summary"]]
    assert ok(api.get("/api/v1/incidents"))["items"] == []
    assert alerts(api) == []
    unknown = api.client.post("/v2/change/enqueue", json=pd_event("e" * 32, "pagerduty/change.json"))
    assert unknown.status_code == 404
    invalid = api.client.post("/v2/change/enqueue", json={"routing_key": key, "payload": {}})
    assert invalid.status_code == 400
    assert "payload.summary" in " ".join(invalid.json()["errors"])


def test_alertmanager_grafana_generic_accept_their_samples(api: ApiHarness) -> None:
    make_service(api, "checkout")
    for kind, name in (
        ("alertmanager", "alertmanager/firing.json"),
        ("grafana", "grafana/firing_values_image.json"),
        ("generic", "generic/trigger.json"),
    ):
        key = make_integration(api, "checkout", kind)["key"]
        sent = api.client.post(f"/integrations/{key}/{kind}", json=sample(name))
        assert sent.status_code == 202, (kind, sent.text)
        assert sent.json()["status"] == "success"
        assert sent.json()["dedup_keys"]
    assert len(alerts(api)) == 3


def test_unknown_keys_and_malformed_bodies(api: ApiHarness) -> None:
    make_service(api, "checkout")
    for kind in ("alertmanager", "grafana", "generic"):
        missing = api.client.post(
            f"/integrations/no-such-key-0000000/{kind}",
            json=sample(
                f"{kind}/"
                + {"alertmanager": "firing.json", "grafana": "resolved.json", "generic": "trigger.json"}[kind]
            ),
        )
        assert missing.status_code == 404, kind
        assert "no-such-key-0000000" in missing.json()["message"]

        key = make_integration(api, "checkout", kind)["key"]
        broken = api.client.post(
            f"/integrations/{key}/{kind}", content=b'{"alerts": [', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400, kind
        assert "not valid JSON" in broken.json()["message"]
        array = api.client.post(f"/integrations/{key}/{kind}", json=[1, 2])
        assert array.status_code == 400
        assert "array" in array.json()["message"]
        wrong = api.client.post(f"/integrations/{key}/{kind}", json=sample(f"{kind}/wrong_types.json"))
        assert wrong.status_code == 400, (kind, wrong.text)
        assert wrong.json()["errors"], kind
    assert alerts(api) == []


def test_generic_form_posts(api: ApiHarness) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "generic")["key"]
    # What `curl -d summary=... -d severity=critical -d dedup_key=...` sends.
    sent = api.client.post(
        f"/integrations/{key}/generic",
        content=b"summary=Disk+full+on+db1&severity=critical&dedup_key=disk-db1&details.free=2%25",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert sent.status_code == 202, sent.text
    (alert,) = alerts(api)
    assert (alert["summary"], alert["severity"], alert["dedup_key"]) == ("Disk full on db1", "critical", "disk-db1")
    assert alert["details"]["free"] == "2%"
    resolved = api.client.post(f"/integrations/{key}/generic", data={"action": "resolve", "dedup_key": "disk-db1"})
    assert resolved.status_code == 202
    assert alerts(api)[0]["status"] == "resolved"
    empty = api.client.post(f"/integrations/{key}/generic", data={"severity": "info"})
    assert empty.status_code == 400
    assert "summary" in json.dumps(empty.json())


def _sign(secret: str, body: bytes, timestamp: str | None = None) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    if timestamp is not None:
        mac.update(timestamp.encode() + b":")
    mac.update(body)
    return mac.hexdigest()


def test_grafana_signatures(api: ApiHarness) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "grafana", signing_secret="correct horse")["key"]
    url = f"/integrations/{key}/grafana"
    body = json.dumps(sample("grafana/firing_values_image.json")).encode()
    now = str(int(api.clock.now().timestamp()))
    json_type = {"content-type": "application/json"}

    def post(payload: bytes, headers: dict[str, str]) -> httpx.Response:
        return api.client.post(url, content=payload, headers={**json_type, **headers})

    refused = [
        post(body, {}),
        post(body, {"X-Grafana-Alert-Signature": _sign("wrong secret", body)}),
        post(body.replace(b"93%", b"13%"), {"X-Grafana-Alert-Signature": _sign("correct horse", body)}),
        post(body, {"X-Grafana-Alert-Signature": _sign("correct horse", body, now)}),  # timestamp not sent
        post(
            body,
            {
                "X-Grafana-Alert-Signature": _sign("correct horse", body, str(int(now) - 600)),
                "X-Grafana-Alert-Timestamp": str(int(now) - 600),
            },
        ),
        post(body, {"X-Grafana-Alert-Signature": "zz-not-hex"}),
        # Signed right but without a timestamp: such a request could be replayed for ever, so it is refused.
        post(body, {"X-Grafana-Alert-Signature": _sign("correct horse", body)}),
    ]
    for n, response in enumerate(refused):
        assert response.status_code == 401, (n, response.text)
    assert "X-Grafana-Alert-Timestamp is required" in refused[-1].json()["message"]
    assert alerts(api) == [], "nothing is stored from a refused request"

    signed = post(
        body, {"X-Grafana-Alert-Signature": _sign("correct horse", body, now), "X-Grafana-Alert-Timestamp": now}
    )
    assert signed.status_code == 202, signed.text
    with_time = post(
        body,
        {"X-Grafana-Alerting-Signature": _sign("correct horse", body, now), "X-Grafana-Alert-Timestamp": now},
    )
    assert with_time.status_code == 202, with_time.text
    assert len(alerts(api)) == 1
    assert alerts(api)[0]["event_count"] == 2


def test_unsigned_grafana_integrations_need_no_signature(api: ApiHarness) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "grafana")["key"]
    assert api.client.post(f"/integrations/{key}/grafana", json=sample("grafana/resolved.json")).status_code == 202
