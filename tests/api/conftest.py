"""Helpers for tests that drive the real application over HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

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
    assert body["title"]
    assert body["detail"]
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


@pytest.fixture
def live_url(api: ApiHarness) -> Iterator[str]:
    """The harness's application served by uvicorn on a free 127.0.0.1 port, for requests only a socket can send."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The harness already started the runtime; serve the same app without running its lifespan twice.
    config = uvicorn.Config(api.client.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
