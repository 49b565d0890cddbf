"""Datadog webhooks over HTTP: 202 after commit, trigger then recovery, clear 4xx."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "datadog"


def post(api: ApiHarness, key: str, body: bytes) -> tuple[int, dict[str, object]]:
    response = api.client.post(
        f"/integrations/{key}/datadog", content=body, headers={"Content-Type": "application/json"}
    )
    return response.status_code, response.json()


def test_trigger_then_recovery_opens_and_resolves_one_incident(api: ApiHarness) -> None:
    key = integration_key(api, "datadog")

    status, body = post(api, key, (SAMPLES / "triggered.json").read_bytes())
    assert (status, body["dedup_keys"]) == (202, ["7481952733071548411"])
    status, _ = post(api, key, (SAMPLES / "triggered.json").read_bytes())
    assert status == 202
    assert stored(api).incidents == ["triggered"]

    status, body = post(api, key, (SAMPLES / "recovered.json").read_bytes())
    assert (status, body["outcomes"]) == (202, ["resolved"])
    now = stored(api)
    assert now.events == 3
    assert now.alerts == [
        ("7481952733071548411", "resolved", "[Triggered on {host:web-04}] CPU load is very high on web-04")
    ]
    assert now.incidents == ["resolved"]


def test_bad_payload_names_the_field_and_stores_nothing(api: ApiHarness) -> None:
    key = integration_key(api, "datadog")

    status, body = post(api, key, (SAMPLES / "default_body.json").read_bytes())

    assert status == 400
    assert body["errors"] == ["'alert_transition' is required"]
    assert stored(api).events == 0


def test_unknown_key_and_oversized_body(api: ApiHarness) -> None:
    status, body = post(api, "no-such-integration-key", (SAMPLES / "triggered.json").read_bytes())
    assert status == 404
    assert "no-such-integration-key" in str(body["message"])

    key = integration_key(api, "datadog")
    status, _ = post(api, key, b"{" + b" " * (600 * 1024) + b"}")
    assert status == 413
    assert stored(api).events == 0
