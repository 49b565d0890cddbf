"""Property test over the OpenAPI description: generated requests never cause a 5xx, and answers match the spec.

Bounded for CI: a fixed, derandomized handful of examples per operation, valid (positive) and invalid (negative).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from tests.conftest import ApiHarness
from tocsin.users import service as users

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 2}
# Generated requests to these may revoke the caller's token or demote the caller.
SELF_AFFECTING = {("DELETE", "/api/v1/tokens/{token_id}"), ("PATCH", "/api/v1/users/{ref}")}


class Caller:
    """An admin token that is replaced whenever a generated request may have taken its power away."""

    def __init__(self, api: ApiHarness) -> None:
        self.api = api
        self.token = ""
        self.renew()

    def renew(self) -> None:
        with self.api.runtime.db.unit_of_work() as session:
            admin = users.get_user(session, self.api.admin_id)
            users.update_user(session, admin, role="admin")
            _, self.token = users.create_token(session, admin, name="fuzz", now=self.api.clock.now())

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def can_be_invalid(operation: Any) -> bool:
    """Whether a negative example exists: a body, or a parameter that is more than any string (e.g. an id)."""
    if operation.get_request_payload_content_types():
        return True
    for parameter in operation.iter_parameters():
        schema = {k: v for k, v in parameter.definition.get("schema", {}).items() if k not in ("title", "description")}
        if schema != {"type": "string"}:
            return True
    return False


def fuzz(operation: Any, mode: GenerationMode, caller: Caller, failures: list[str]) -> None:
    label = operation.label
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        headers = caller.headers
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process client re-raises what the server did not handle
            failures.append(f"{label}: server raised {type(exc).__name__}: {exc}\n{case.as_curl_command()}")
            return
        finally:
            if (case.method.upper(), operation.path) in SELF_AFFECTING:
                caller.renew()
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (Failure, FailureGroup) as exc:
            failures.append(f"{label} ({mode.value}): {str(exc)[:1500]}")

    try:
        run()
    except Unsatisfiable:
        failures.append(f"{label}: no {mode.value} example could be generated")


def test_generated_requests_get_documented_answers(api: ApiHarness) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app).include(path_regex="^/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    caller = Caller(api)
    failures: list[str] = []
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE, caller, failures)
        if can_be_invalid(operation):
            fuzz(operation, GenerationMode.NEGATIVE, caller, failures)
    assert not failures, "\n\n".join(failures)
