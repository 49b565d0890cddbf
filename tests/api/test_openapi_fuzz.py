"""Property test over the OpenAPI description: generated requests never cause a 5xx, answers match the spec, and
every write operation is reached by an authenticated caller with a request that passes validation.

It runs once per database: the ``api`` fixture is parametrized over SQLite and PostgreSQL.

Reproducible: hypothesis runs with ``derandomize=True`` (examples are derived from each operation's schema, not
from a random seed, so every run on every machine sends the same requests) and no example database.

Bounded for CI: EXAMPLES valid (positive) and invalid (negative) requests per operation. Measured on a
development machine of 2 cores shared with other work: 75 s on SQLite and 62 s on PostgreSQL, 42 s of CPU for
both; the two runs are 9 % and 7 % of the whole suite's 14 minutes there.

Authenticated: every request carries an admin token (Caller), renewed after an operation that may revoke or
demote it. Generated requests to routes that revoke the caller's own token are kept (they are renewed after),
except that a valid request's path names the world's spare token rather than the caller's.

Reaching the handlers: before fuzzing, a small world is made through the API (a user, team, service with an
integration, schedule with an override, escalation policy, contact method, notification rule, silence, webhook
subscription with a delivery, an incident with two alerts, a spare token). A valid write request's path parameters
are pointed at that world's objects, so that the handler finds something to act on instead of answering 404 on a
random id; write operations run with deletions last. For each write operation the valid requests that got past
authentication and validation are counted (any answer but 401, 403, 422 or 5xx). Where schemathesis generates none
(bodies whose rules the schema cannot express), ``explicit_examples`` holds a request that passes, and it must
reach the handler; the test also fails when generation starts reaching an operation listed there, so the list stays
exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
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

from tests.audit.route_cases import LAYER, POLICY
from tests.conftest import ApiHarness
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.services import service as services
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 2}
# Generated requests to these may revoke the caller's token or demote the caller.
SELF_AFFECTING = {("DELETE", "/api/v1/tokens/{token_id}"), ("PATCH", "/api/v1/users/{ref}")}
SILENCE = {"matchers": [{"field": "labels.a", "value": "b"}], "ends_at": "2026-11-02T10:00:00Z", "comment": "fuzz"}
SUBSCRIPTION = {"name": "chat", "url": "https://hooks.example.com/fuzz"}
EVENT_RULE = {"name": "mute", "matchers": [{"field": "labels.env", "value": "dev"}], "actions": {"suppress": True}}
INHIBIT_RULE = {
    "name": "down",
    "source": [{"field": "labels.alertname", "value": "ClusterDown"}],
    "target": [{"field": "labels.alertname", "op": "!=", "value": "ClusterDown"}],
    "equal": ["labels.cluster"],
}


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


WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Answers that mean the request never reached the handler: refused by authentication or by validation.
TURNED_AWAY = {401, 403, 422}
FUZZ_PASSWORD = "the fuzz caller's own passphrase 1"


def world_parameters(path: str, world: dict[str, str]) -> dict[str, str]:
    """Path parameters naming the world's objects: each parameter takes the object its preceding segment names
    (``/services/{ref}`` the service, ``/teams/{ref}/members/{user}`` the team and the user)."""
    parts = path.strip("/").split("/")
    return {
        part[1:-1]: world[before]
        for before, part in itertools.pairwise(parts)
        if part.startswith("{") and before in world
    }


def fuzz(
    operation: Any,
    mode: GenerationMode,
    caller: Caller,
    failures: list[str],
    reached: dict[str, list[int]],
    world: dict[str, str],
) -> None:
    label = operation.label
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @settings(
        max_examples=EXAMPLES[mode],
        # The fixed seed: examples derive from the operation's schema alone, the same on every run.
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        headers = caller.headers
        if mode is GenerationMode.POSITIVE and case.method.upper() in WRITES and case.path_parameters:
            case.path_parameters.update(world_parameters(operation.path, world))
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process client re-raises what the server did not handle
            failures.append(f"{label}: server raised {type(exc).__name__}: {exc}\n{case.as_curl_command()}")
            return
        finally:
            if (case.method.upper(), operation.path) in SELF_AFFECTING:
                caller.renew()
        if mode is GenerationMode.POSITIVE:
            reached.setdefault(label, []).append(response.status_code)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (Failure, FailureGroup) as exc:
            failures.append(f"{label} ({mode.value}): {str(exc)[:1500]}")

    try:
        run()
    except Unsatisfiable:
        failures.append(f"{label}: no {mode.value} example could be generated")


def passed_validation(status: int) -> bool:
    return status not in TURNED_AWAY and status < 500


def made(response: Any) -> Any:
    assert response.status_code in (200, 201, 202), f"{response.status_code}: {response.text}"
    return response.json()


def make_world(api: ApiHarness) -> dict[str, str]:
    """Objects for valid write requests to act on, keyed by the path segment that names them."""
    bob = made(api.post("/api/v1/users", json={"email": "bob@example.com", "name": "Bob", "role": "responder"}))
    team = made(api.post("/api/v1/teams", json={"name": "ops"}))
    service = made(api.post("/api/v1/services", json={"name": "checkout"}))
    integration = made(
        api.post("/api/v1/services/checkout/integrations", json={"type": "pagerduty_v2", "name": "events"})
    )
    schedule = made(api.post("/api/v1/schedules", json={"name": "primary", "layers": [LAYER]}))
    override = made(
        api.post(
            "/api/v1/schedules/primary/overrides",
            json={"user": "bob@example.com", "start": "2026-11-03T09:00:00Z", "end": "2026-11-03T17:00:00Z"},
        )
    )
    policy = made(api.post("/api/v1/escalation-policies", json=POLICY))
    method = made(
        api.post(
            "/api/v1/users/bob@example.com/contact-methods",
            json={"name": "mail", "type": "email", "address": "bob@example.com"},
        )
    )
    rule = made(
        api.post(
            "/api/v1/users/bob@example.com/notification-rules",
            json={"urgency": "high", "contact_method_id": method["id"]},
        )
    )
    silence = made(api.post("/api/v1/silences", json=SILENCE))
    subscription = made(api.post("/api/v1/webhook-subscriptions", json=SUBSCRIPTION))
    delivery = made(api.post(f"/api/v1/webhook-subscriptions/{subscription['id']}/test"))
    incident, _ = incident_with_two_alerts(api, integration["key"])
    token = made(api.post("/api/v1/tokens", json={"name": "spare"}))
    made(api.client.put("/api/v1/event-rules", json=EVENT_RULE, headers=api.headers()))
    made(api.client.put("/api/v1/inhibit-rules", json=INHIBIT_RULE, headers=api.headers()))
    made(api.client.put("/api/v1/drill-scenarios/fuzz-drill", json={"service": "checkout"}, headers=api.headers()))
    drill = made(api.post("/api/v1/drills", json={"scenario": "fuzz-drill"}))
    return {
        "users": str(bob["id"]),
        "members": str(bob["id"]),
        "teams": str(team["id"]),
        "services": str(service["id"]),
        "integrations": str(integration["id"]),
        "schedules": str(schedule["id"]),
        "overrides": str(override["id"]),
        "escalation-policies": str(policy["id"]),
        "contact-methods": str(method["id"]),
        "notification-rules": str(rule["id"]),
        "silences": str(silence["id"]),
        "webhook-subscriptions": str(subscription["id"]),
        "deliveries": str(delivery["id"]),
        "incidents": incident,
        "tokens": str(token["id"]),
        "event-rules": EVENT_RULE["name"],
        "inhibit-rules": INHIBIT_RULE["name"],
        "integration-key": integration["key"],
        "drill-scenarios": "fuzz-drill",
        "drills": str(drill["id"]),
    }


Explicit = Callable[[], tuple[dict[str, str], Any]]


def incident_with_two_alerts(api: ApiHarness, integration_key: str) -> tuple[str, int]:
    """A new open incident holding two alerts (two events' incidents merged); its number and one alert's id."""
    before = {i["number"] for i in made(api.get("/api/v1/incidents"))["items"]}
    keys = [f"explicit-{len(before)}-{n}" for n in (1, 2)]
    events = [NormalizedEvent(action="trigger", dedup_key=k, summary="ledger down", severity="critical") for k in keys]
    with api.runtime.db.unit_of_work() as s:
        ingest_batch(s, [Submission(integration_key=integration_key, events=events)], now=api.clock.now())
    listed = made(api.get("/api/v1/incidents"))["items"]
    first, second = sorted(i["number"] for i in listed if i["number"] not in before)
    made(api.post(f"/api/v1/incidents/{second}/merge", json={"into": str(first)}))
    alerts = made(api.get(f"/api/v1/incidents/{first}/alerts"))
    assert len(alerts) == 2
    return str(first), int(alerts[0]["id"])


def explicit_examples(api: ApiHarness, world: dict[str, str]) -> dict[str, Explicit]:
    """A request that passes validation for each write operation whose generated valid requests all got 422: its
    rules (an existing user's email, a rule's matcher grammar, a silence's end after its start, an open incident
    with more than one alert) are more than the schema can say. Each gives its path parameters (beyond the
    world's) and its body."""

    def plain(body: Any) -> Explicit:
        return lambda: ({}, body)

    def on_new_incident(body: Callable[[int], Any]) -> Explicit:
        def prepare() -> tuple[dict[str, str], Any]:
            number, alert = incident_with_two_alerts(api, world["integration-key"])
            return {"ref": number}, body(alert)

        return prepare

    def own_password() -> tuple[dict[str, str], Any]:
        # The caller's account gets a password to change (generated requests cannot know it: 422).
        with api.runtime.db.unit_of_work() as s:
            users.get_user(s, api.admin_id).password_hash = hash_password(FUZZ_PASSWORD)
        return {}, {"current_password": FUZZ_PASSWORD, "new_password": "a new and longer passphrase for the fuzz 7"}

    def on_new_milestone() -> tuple[dict[str, str], Any]:
        # A milestone name from the list and a time that keeps their order (impact began before detection).
        number, _ = incident_with_two_alerts(api, world["integration-key"])
        earlier = (api.clock.now() - timedelta(hours=1)).isoformat()
        return {"ref": number, "name": "impact_started"}, {"at": earlier, "reason": "graphs show it earlier"}

    def drill_scenario() -> tuple[dict[str, str], Any]:
        # A service of its own, which generated requests (renames, archives) have not touched.
        with api.runtime.db.unit_of_work() as s:
            service = services.create_service(s, name="drill-explicit", now=api.clock.now())
            services.add_integration(s, service, name="in", type="generic", now=api.clock.now())
            service_id = str(service.id)
        made(api.client.put("/api/v1/drill-scenarios/explicit", json={"service": service_id}, headers=api.headers()))
        return {}, {"scenario": "explicit"}

    return {
        "POST /api/v1/incidents": plain({"service_id": int(world["services"]), "title": "checkout slow"}),
        "POST /api/v1/incidents/{ref}/reassign": on_new_incident(lambda _: {"user": "bob@example.com"}),
        "POST /api/v1/incidents/{ref}/split": on_new_incident(lambda alert: {"alert_ids": [alert]}),
        "POST /api/v1/incidents/{ref}/responders": on_new_incident(
            lambda _: {"user": "bob@example.com", "message": "please join"}
        ),
        "PUT /api/v1/incidents/{ref}/milestones/{name}": on_new_milestone,
        # Exactly one of body and template, with text (the schema cannot say "one of").
        "POST /api/v1/incidents/{ref}/stakeholder-updates": on_new_incident(lambda _: {"body": "We are on it"}),
        "POST /api/v1/me/password": own_password,
        # A report must say what it is on a service that leaves the choice to the reporter.
        "POST /api/v1/reports": plain({"service_id": int(world["services"]), "summary": "printer jam", "kind": "need"}),
        "POST /api/v1/users": plain({"email": "carol@example.com", "name": "Carol", "role": "responder"}),
        "PUT /api/v1/inhibit-rules": plain(INHIBIT_RULE),
        "POST /api/v1/silences": plain(SILENCE),
        "PUT /api/v1/silences/{silence_id}": plain(SILENCE),
        "POST /api/v1/webhook-subscriptions": plain(SUBSCRIPTION),
        "POST /api/v1/users/{ref}/contact-methods": plain(
            {"name": "pager", "type": "email", "address": "b2@example.com"}
        ),
        # A drill names a scenario that exists, on a service with an integration (generated requests may have
        # moved the world's scenario to a service of their own).
        "POST /api/v1/drills": drill_scenario,
        "POST /api/v1/users/{ref}/notification-rules": plain(
            {"urgency": "low", "contact_method_id": int(world["contact-methods"])}
        ),
        # A workflow's steps, a playbook's steps and an action's URL follow a grammar of their own (step kinds,
        # references to roles and templates, an http URL).
        "PUT /api/v1/workflows/{name}": lambda: (
            {"name": "fuzz-flow"},
            {
                "trigger": {"event": "manual"},
                "steps": [{"kind": "stakeholder_update", "message": "{{incident.title}}"}],
            },
        ),
        "PUT /api/v1/playbooks/{name}": lambda: ({"name": "fuzz-book"}, {"steps": [{"title": "Open a bridge"}]}),
        "PUT /api/v1/remediation-actions/{name}": lambda: (
            {"name": "fuzz-action"},
            {"url": "https://automation.example.com/run", "body": "{{incident.title}}"},
        ),
    }


def send_explicit(api: ApiHarness, caller: Caller, operation: Any, example: Explicit, world: dict[str, str]) -> Any:
    overrides, body = example()
    path = operation.path
    for name, value in {**world_parameters(operation.path, world), **overrides}.items():
        path = path.replace("{" + name + "}", value)
    response = api.client.request(operation.method.upper(), path, json=body, headers=caller.headers)
    assert response.status_code < 500, f"{operation.label}: {response.status_code} {response.text}"
    return response


def test_generated_requests_get_documented_answers(api: ApiHarness) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app).include(path_regex="^/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    # Deletions last, so that the other writes find the world's objects still there.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    world = make_world(api)
    explicit = explicit_examples(api, world)
    caller = Caller(api)
    failures: list[str] = []
    reached: dict[str, list[int]] = {}
    explicit_answers: dict[str, Any] = {}
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE, caller, failures, reached, world)
        if operation.label in explicit:
            # Sent while the world is as the generated requests found it (before the deletions at the end).
            explicit_answers[operation.label] = send_explicit(api, caller, operation, explicit[operation.label], world)
        if can_be_invalid(operation):
            fuzz(operation, GenerationMode.NEGATIVE, caller, failures, reached, world)
    assert not failures, "\n\n".join(failures)

    writes = [op for op in operations if op.method.upper() in WRITES]
    unreached = [op.label for op in writes if not any(passed_validation(c) for c in reached.get(op.label, []))]
    # The explicit examples stand in exactly where generation falls short, and not elsewhere (kept honest).
    assert sorted(unreached) == sorted(explicit), f"generated requests reached no handler of {unreached}"
    refused = {
        label: f"{answer.status_code} {answer.text}"
        for label, answer in explicit_answers.items()
        if not passed_validation(answer.status_code)
    }
    assert refused == {}, f"explicit examples did not pass validation: {refused}"
