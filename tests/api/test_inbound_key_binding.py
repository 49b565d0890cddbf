"""An integration key opens incidents only through its own type's endpoint, signed whenever a secret is set.

The attack: the key of a signed source (Grafana, Sentry, CloudWatch) posted unsigned to another format's endpoint
(/generic, /datadog, /alertmanager, /v2/enqueue …) opened incidents without any signature. Every inbound route is
walked from the application's route table, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.api.conftest import make_integration, make_service, ok, sample
from tests.compat.sns_signer import sign, signing_key
from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored
from tocsin.alerts.models import ChangeEvent
from tocsin.integrations.sns_gateway import SnsGateway
from tocsin.services.models import SECRET_SIGNED_TYPES, Integration

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples"
SIGNED_SOURCES = ("grafana", "sentry", "cloudwatch")
SECRET = "correct horse battery staple"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:tocsin-alarms"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:210987654321:someone-elses-alarms"


class FakeSns:
    """Serves the test certificate, as SNS would; confirmations are recorded, not sent."""

    def __init__(self) -> None:
        self.confirmed: list[str] = []

    async def fetch(self, url: str) -> bytes:
        return signing_key()[1]

    async def confirm(self, url: str) -> None:
        self.confirmed.append(url)


@pytest.fixture
def sns(api: ApiHarness) -> FakeSns:
    fake = FakeSns()
    api.client.app.state.sns_gateway = SnsGateway(fetch=fake.fetch, confirm=fake.confirm)  # type: ignore[attr-defined]
    return fake


def _flat(routes: Iterable[Any]) -> Iterator[Any]:
    try:
        from fastapi.routing import iter_route_contexts  # included routers are nested in newer FastAPI
    except ImportError:
        yield from routes
    else:
        yield from iter_route_contexts(list(routes))


# Inbound routes that take no integration key: each is authenticated by its own connection's secret.
KEYLESS_PREFIXES = ("/hooks/trackers/",)


def inbound_routes(api: ApiHarness, *, keyed_only: bool = True) -> list[tuple[str, str]]:
    """Every (method, path) of the inbound endpoints (tagged "inbound"), read from the application itself."""
    app: FastAPI = api.client.app  # type: ignore[assignment]
    found = [
        (method, route.path)
        for route in _flat(app.routes)
        if "inbound" in (getattr(route, "tags", None) or []) and getattr(route, "methods", None)
        for method in sorted(route.methods)
        if not (keyed_only and route.path.startswith(KEYLESS_PREFIXES))
    ]
    assert len(found) >= 14, f"the route walk found too little to be trusted: {found}"
    return found


def route_type(path: str) -> str:
    """The integration type an endpoint serves; a route this does not know fails the tests that use it."""
    if path.startswith("/v2/"):
        return "pagerduty_v2"
    if path.startswith("/heartbeat/"):
        return "heartbeat"
    prefix = "/integrations/{key}/"
    assert path.startswith(prefix), f"an inbound route this test does not know: {path}"
    return path.removeprefix(prefix)


def sns_message(api: ApiHarness, name: str, **changes: Any) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / "cloudwatch" / f"{name}.json").read_bytes())
    stamp = api.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return sign(data, Timestamp=stamp, **changes)


def sns_request(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": orjson.dumps(body),
        "headers": {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": body["Type"]},
    }


def _pagerduty(name: str) -> Callable[[ApiHarness, str], dict[str, Any]]:
    return lambda api, key: {"json": {**sample(f"pagerduty/{name}"), "routing_key": key}}


def _sentry(api: ApiHarness, key: str) -> dict[str, Any]:
    body = (SAMPLES / "sentry" / "event_alert.json").read_bytes()
    return {"content": body, "headers": {"Content-Type": "application/json", "Sentry-Hook-Resource": "event_alert"}}


# A well-formed request of each endpoint: what it takes to get past parsing to the key.
VALID: dict[str, Callable[[ApiHarness, str], dict[str, Any]]] = {
    "/v2/enqueue": _pagerduty("trigger_minimal.json"),
    "/v2/change/enqueue": _pagerduty("change.json"),
    "/integrations/{key}/alertmanager": lambda api, key: {"json": sample("alertmanager/firing.json")},
    "/integrations/{key}/grafana": lambda api, key: {"json": sample("grafana/firing_values_image.json")},
    "/integrations/{key}/generic": lambda api, key: {"json": sample("generic/trigger.json")},
    "/integrations/{key}/datadog": lambda api, key: {"json": sample("datadog/triggered.json")},
    "/integrations/{key}/cloudwatch": lambda api, key: sns_request(sns_message(api, "alarm")),
    "/integrations/{key}/sentry": _sentry,
    "/integrations/{key}/zabbix": lambda api, key: {"json": sample("zabbix/problem.json")},
    "/heartbeat/{key}": lambda api, key: {},
    "/heartbeat/{key}/{signal}": lambda api, key: {},
}


def send(api: ApiHarness, method: str, path: str, key: str, request: dict[str, Any]) -> httpx.Response:
    url = path.replace("{key}", key).replace("{signal}", "fail")
    return api.client.request(method, url, **request)


@dataclass
class Counts:
    events: int
    alerts: int
    changes: int


def counts(api: ApiHarness) -> Counts:
    found = stored(api)
    with api.runtime.db.reader() as s:
        changes = s.execute(select(func.count()).select_from(ChangeEvent)).scalar_one()
    return Counts(events=found.events, alerts=len(found.alerts), changes=changes)


FOREIGN = [(t, p) for t in SIGNED_SOURCES for p in VALID if route_type(p) != t]


def test_the_cases_cover_every_inbound_route(api: ApiHarness) -> None:
    """The cases below are the application's own inbound routes: a new one fails here until it has a request."""
    assert {p for _, p in inbound_routes(api)} == set(VALID)


@pytest.mark.parametrize(("source", "path"), FOREIGN, ids=[f"{t}-{p}" for t, p in FOREIGN])
def test_a_signed_sources_key_on_another_endpoint_is_an_unknown_key(
    api: ApiHarness, sns: FakeSns, source: str, path: str
) -> None:
    key = integration_key(api, source, secret=SECRET if source in SECRET_SIGNED_TYPES else None)
    unknown = "u" * len(key)
    methods = [m for m, p in inbound_routes(api) if p == path]
    assert methods

    for method in methods:
        used = send(api, method, path, key, VALID[path](api, key))
        as_unknown = send(api, method, path, unknown, VALID[path](api, unknown))

        assert used.status_code == 404, (method, used.text)
        assert as_unknown.status_code == 404, (method, as_unknown.text)
        # The same answer as for a key nobody has: nothing tells the sender that the key exists.
        assert used.text.replace(key, "<key>") == as_unknown.text.replace(unknown, "<key>")
        assert used.headers.get("content-type") == as_unknown.headers.get("content-type")
    assert counts(api) == Counts(events=0, alerts=0, changes=0)
    assert sns.confirmed == []


@pytest.mark.parametrize("path", sorted(VALID))
def test_each_endpoint_still_takes_its_own_types_key(api: ApiHarness, sns: FakeSns, path: str) -> None:
    key = integration_key(api, route_type(path))
    sent = send(api, "POST", path, key, VALID[path](api, key))
    assert sent.status_code in (200, 202), sent.text
    if path != "/heartbeat/{key}":  # a plain ping of a new monitor stores no event
        after = counts(api)
        assert after.events + after.changes >= 1, f"{path} stored nothing for its own type's key"


def _grafana_signed(body: bytes, secret: str, now: int) -> dict[str, str]:
    stamp = str(now)
    mac = hmac.new(secret.encode(), stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Grafana-Alert-Signature": mac, "X-Grafana-Alert-Timestamp": stamp}


def _sentry_signed(body: bytes, secret: str, now: int) -> dict[str, str]:
    return {"Sentry-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


# How each type that takes a shared secret signs; a type added to SECRET_SIGNED_TYPES fails here until it has one.
SIGNERS: dict[str, tuple[Callable[[bytes, str, int], dict[str, str]], dict[str, str], str]] = {
    "grafana": (_grafana_signed, {}, "grafana/firing_values_image.json"),
    "sentry": (_sentry_signed, {"Sentry-Hook-Resource": "event_alert"}, "sentry/event_alert.json"),
}


@pytest.mark.parametrize("kind", SECRET_SIGNED_TYPES)
def test_a_secret_set_through_the_api_makes_the_signature_required(api: ApiHarness, kind: str) -> None:
    signer, headers, sample_name = SIGNERS[kind]
    make_service(api, "checkout")
    created = make_integration(api, "checkout", kind, signing_secret=SECRET)
    assert created["signing_secret_set"] is True
    assert SECRET not in json.dumps(created)
    url = f"/integrations/{created['key']}/{kind}"
    body = (SAMPLES / sample_name).read_bytes()
    now = int(api.clock.now().timestamp())
    plain = {"Content-Type": "application/json", **headers}

    unsigned = api.client.post(url, content=body, headers=plain)
    wrong = api.client.post(url, content=body, headers={**plain, **signer(body, "not the secret", now)})
    assert (unsigned.status_code, wrong.status_code) == (401, 401), (unsigned.text, wrong.text)
    assert counts(api).events == 0

    signed = api.client.post(url, content=body, headers={**plain, **signer(body, SECRET, now)})
    assert signed.status_code == 202, signed.text
    assert counts(api).events == 1


def test_a_signed_grafana_request_without_its_timestamp_is_refused(api: ApiHarness) -> None:
    key = integration_key(api, "grafana", secret=SECRET)
    body = json.dumps(sample("grafana/resolved.json")).encode()
    # Signed as Grafana signs without a timestamp header: valid, but replayable for ever.
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    sent = api.client.post(
        f"/integrations/{key}/grafana",
        content=body,
        headers={"Content-Type": "application/json", "X-Grafana-Alert-Signature": signature},
    )
    assert sent.status_code == 401
    assert "X-Grafana-Alert-Timestamp is required" in sent.json()["message"]
    assert counts(api).events == 0


def test_secrets_are_write_only_and_can_be_changed_and_cleared(api: ApiHarness) -> None:
    make_service(api, "checkout")
    created = make_integration(api, "checkout", "sentry")
    assert created["signing_secret_set"] is False
    url = f"/api/v1/integrations/{created['id']}"

    patched = ok(api.patch(url, json={"signing_secret": SECRET}))
    assert patched["signing_secret_set"] is True
    for shown in (
        api.patch(url, json={"name": "renamed"}),
        api.get(url),
        api.get("/api/v1/services/checkout/integrations"),
    ):
        assert shown.status_code == 200
        assert SECRET not in shown.text
    assert ok(api.get(url))["signing_secret_set"] is True
    unsigned = api.client.post(
        f"/integrations/{created['key']}/sentry", content=b"{}", headers={"Sentry-Hook-Resource": "event_alert"}
    )
    assert unsigned.status_code == 401

    cleared = ok(api.patch(url, json={"signing_secret": None}))
    assert cleared["signing_secret_set"] is False
    with api.runtime.db.reader() as s:
        assert s.get(Integration, created["id"]).signing_secret is None  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["generic", "alertmanager", "pagerduty_v2", "datadog", "zabbix", "cloudwatch"])
def test_a_secret_is_refused_on_a_type_that_never_checks_one(api: ApiHarness, kind: str) -> None:
    make_service(api, "checkout")
    refused = api.post(
        "/api/v1/services/checkout/integrations", json={"type": kind, "name": "x", "signing_secret": SECRET}
    )
    assert refused.status_code == 422, refused.text
    assert "not signed with a shared secret" in refused.text
    assert SECRET not in refused.text


def test_a_cloudwatch_integration_takes_only_its_first_topic(api: ApiHarness, sns: FakeSns) -> None:
    key = integration_key(api, "cloudwatch")
    url = f"/integrations/{key}/cloudwatch"

    confirmed = api.client.post(url, **sns_request(sns_message(api, "subscription_confirmation")))
    assert confirmed.status_code == 200, confirmed.text
    with api.runtime.db.reader() as s:
        recorded = s.execute(select(Integration.sns_topic_arn).where(Integration.key == key)).scalar_one()
    assert recorded == TOPIC

    # Properly signed by SNS, but for another AWS account's topic pointed at the same key.
    foreign = api.client.post(url, **sns_request(sns_message(api, "alarm", TopicArn=OTHER_TOPIC)))
    assert foreign.status_code == 403, foreign.text
    assert "TopicArn" in foreign.json()["message"]
    assert counts(api).events == 0

    own = api.client.post(url, **sns_request(sns_message(api, "alarm")))
    assert own.status_code == 202, own.text
    assert counts(api).events == 1


def test_a_configured_topic_refuses_even_the_first_message_of_another(api: ApiHarness, sns: FakeSns) -> None:
    make_service(api, "checkout")
    created = make_integration(api, "checkout", "cloudwatch", sns_topic_arn=TOPIC)
    assert created["sns_topic_arn"] == TOPIC
    url = f"/integrations/{created['key']}/cloudwatch"

    foreign = api.client.post(url, **sns_request(sns_message(api, "subscription_confirmation", TopicArn=OTHER_TOPIC)))
    assert foreign.status_code == 403, foreign.text
    assert sns.confirmed == [], "a foreign topic's subscription is not confirmed"
    own = api.client.post(url, **sns_request(sns_message(api, "alarm")))
    assert own.status_code == 202, own.text

    bad = api.patch(f"/api/v1/integrations/{created['id']}", json={"sns_topic_arn": "not an arn"})
    assert bad.status_code == 422
