"""Helpers of the status page tests: a page with components made through the admin API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import ok
from tests.conftest import ApiHarness
from tocsin.statuspages import cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def make_page(api: ApiHarness, slug: str = "acme", **fields: Any) -> dict[str, Any]:
    body = {"slug": slug, "name": fields.pop("name", "Acme"), **fields}
    page: dict[str, Any] = ok(api.post("/api/v1/status-pages", json=body), 201)
    return page


def make_component(api: ApiHarness, slug: str, name: str, **fields: Any) -> dict[str, Any]:
    component: dict[str, Any] = ok(
        api.post(f"/api/v1/status-pages/{slug}/components", json={"name": name, **fields}), 201
    )
    return component


def publish(api: ApiHarness, slug: str, name: str, body: str, **fields: Any) -> dict[str, Any]:
    incident: dict[str, Any] = ok(
        api.post(f"/api/v1/status-pages/{slug}/incidents", json={"name": name, "body": body, **fields}), 201
    )
    return incident
