"""Helpers for tests that drive the real application over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ApiHarness

SAMPLES = Path(__file__).resolve().parent.parent / "compat" / "samples"
PROBLEM = "application/problem+json"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem answer and return its body."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def make_service(api: ApiHarness, name: str = "checkout", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(api.post("/api/v1/services", json={"name": name, **fields}), 201)
    return data


def make_integration(api: ApiHarness, service: str, type: str = "pagerduty_v2", **fields: Any) -> dict[str, Any]:
    body = {"type": type, "name": f"{service}-{type}", **fields}
    data: dict[str, Any] = ok(api.post(f"/api/v1/services/{service}/integrations", json=body), 201)
    return data


def declare(api: ApiHarness, service_id: int, title: str = "Checkout is down", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(
        api.post("/api/v1/incidents", json={"service_id": service_id, "title": title, **fields}), 201
    )
    return data
