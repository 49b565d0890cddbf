"""A phone number changed through the API is confirmed again when its owner set it, as when it was added."""

from __future__ import annotations

from tests.api.conftest import ok
from tests.conftest import ApiHarness


def test_a_phone_number_its_owner_changes_needs_the_code_again(api: ApiHarness) -> None:
    ann = api.token_for("ann@example.com")
    boss = api.token_for("boss@example.com", role="admin")
    body = {"name": "mobile", "type": "sms", "address": "+15551234567"}
    cm = ok(api.post("/api/v1/users/ann@example.com/contact-methods", json=body, token=boss), 201)
    assert cm["verified"] is True

    path = f"/api/v1/contact-methods/{cm['id']}"
    assert ok(api.patch(path, json={"address": "+15550000001"}, token=boss))["verified"] is True
    assert ok(api.patch(path, json={"name": "phone"}, token=ann))["verified"] is True
    changed = ok(api.patch(path, json={"address": "+15550000002"}, token=ann))
    assert (changed["address"], changed["verified"]) == ("+15550000002", False)
