"""Sentry webhooks over HTTP: signed by the integration's secret, alert then resolution, 401 on forgery."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import httpx

from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "sentry"
SECRET = "9f3c1d0e2b7a4c5d8e6f0a1b2c3d4e5f"


def post(
    api: ApiHarness, key: str, resource: str, body: bytes, *, secret: str | None = SECRET, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": resource, "Request-ID": "r-1"}
    if signature is None and secret is not None:
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature is not None:
        headers["Sentry-Hook-Signature"] = signature
    return api.client.post(f"/integrations/{key}/sentry", content=body, headers=headers)


def read(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


def test_issue_alert_then_issue_resolved(api: ApiHarness) -> None:
    key = integration_key(api, "sentry", secret=SECRET)

    first = post(api, key, "event_alert", read("event_alert"))
    assert (first.status_code, first.json()["dedup_keys"]) == (202, ["issue:1117540176"])
    assert post(api, key, "issue", read("issue_created")).json()["alerts"] == 0
    resolved = post(api, key, "issue", read("issue_resolved"))
    assert (resolved.status_code, resolved.json()["outcomes"]) == (202, ["resolved"])
    assert stored(api).incidents == ["resolved"]


def test_metric_alert_critical_warning_resolved(api: ApiHarness) -> None:
    key = integration_key(api, "sentry", secret=SECRET)

    outcomes = [
        post(api, key, "metric_alert", read(name)).json()["outcomes"]
        for name in ("metric_alert_critical", "metric_alert_warning", "metric_alert_resolved")
    ]

    assert outcomes == [["created"], ["deduplicated"], ["resolved"]]
    assert stored(api).alerts == [("metric_alert:7", "resolved", "Critical: Checkout error rate")]


def test_bad_signatures_are_refused_and_store_nothing(api: ApiHarness) -> None:
    key = integration_key(api, "sentry", secret=SECRET)
    body = read("event_alert")
    good = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    responses = [
        post(api, key, "event_alert", body, secret=None),
        post(api, key, "event_alert", body, secret="not-the-secret"),
        post(api, key, "event_alert", body.replace(b"web-04", b"web-05"), signature=good),
        post(api, key, "event_alert", body, signature="zz" * 32),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401, 401]
    assert "Sentry-Hook-Signature" in responses[0].json()["message"]
    assert stored(api).events == 0


def test_unsigned_integration_accepts_unsigned_requests_and_names_bad_fields(api: ApiHarness) -> None:
    key = integration_key(api, "sentry")

    assert post(api, key, "event_alert", read("event_alert"), secret=None).status_code == 202
    bad = post(api, key, "metric_alert", read("wrong_types"), secret=None)
    assert bad.status_code == 400
    assert "'data.metric_alert.id' must be a string, not boolean" in bad.json()["errors"]
    no_resource = api.client.post(f"/integrations/{key}/sentry", content=read("event_alert"))
    assert no_resource.json()["errors"] == ["header 'Sentry-Hook-Resource' is required"]
    assert post(api, "no-such-integration-key", "event_alert", read("event_alert")).status_code == 404
    assert stored(api).events == 1
