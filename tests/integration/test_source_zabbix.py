"""Zabbix over HTTP: problem, acknowledgement, recovery on one alert; clear 4xx."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "zabbix"


def post(api: ApiHarness, key: str, name: str) -> httpx.Response:
    return api.client.post(f"/integrations/{key}/zabbix", content=(SAMPLES / f"{name}.json").read_bytes())


def test_problem_acknowledge_comment_recovery(api: ApiHarness) -> None:
    key = integration_key(api, "zabbix")

    outcomes = [post(api, key, name).json()["outcomes"] for name in ("problem", "acknowledge", "comment")]
    assert outcomes == [["created"], ["acknowledged"], []]
    assert stored(api).incidents == ["acknowledged"]

    assert post(api, key, "recovery").json()["outcomes"] == ["resolved"]
    now = stored(api)
    assert now.alerts == [("48213", "resolved", "High CPU utilization (over 90% for 5m)")]
    assert now.incidents == ["resolved"]


def test_wrong_fields_unknown_key(api: ApiHarness) -> None:
    key = integration_key(api, "zabbix")

    bad = post(api, key, "wrong_types")
    assert bad.status_code == 400
    assert "'event_nseverity' must be 0 to 5 ({EVENT.NSEVERITY})" in bad.json()["errors"]
    assert post(api, "no-such-integration-key", "problem").status_code == 404
    assert stored(api).events == 0
