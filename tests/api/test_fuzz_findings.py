"""Server errors the OpenAPI fuzzing found, each reproduced as it was found."""

from __future__ import annotations

from tests.api.conftest import ok
from tests.conftest import ApiHarness


def test_two_tests_of_a_contact_method_at_the_same_instant_are_both_queued(api: ApiHarness) -> None:
    """Two test sends in the same microsecond (here: a clock that does not move) collided on the notification's
    idempotency key and answered 500."""
    method = ok(
        api.post(
            f"/api/v1/users/{api.admin_id}/contact-methods",
            json={"name": "mail", "type": "email", "address": "admin@example.com"},
        ),
        201,
    )
    first = ok(api.post(f"/api/v1/contact-methods/{method['id']}/test"), 202)
    second = ok(api.post(f"/api/v1/contact-methods/{method['id']}/test"), 202)
    assert first["notification_id"] != second["notification_id"]
