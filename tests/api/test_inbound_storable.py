"""Events a database cannot store, or a view cannot render, are refused with a 400 naming the field, and never
fail or slow the events they arrive beside."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.api.conftest import make_integration, make_service, ok, sample
from tests.conftest import ApiHarness
from tocsin.alerts.committer import _refusal
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.storable import MAX_DEPTH, check_submission
from tocsin.core.errors import BadRequest, Unavailable


def pd_event(key: str, **payload: Any) -> dict[str, Any]:
    event = sample("pagerduty/trigger_minimal.json")
    event["routing_key"] = key
    event["payload"] = {**event["payload"], **payload}
    return event


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def alert_count(api: ApiHarness) -> int:
    return len(ok(api.get("/api/v1/alerts"))["items"])


@pytest.fixture
def key(api: ApiHarness) -> str:
    make_service(api, "checkout")
    return str(make_integration(api, "checkout", "pagerduty_v2")["key"])


def test_a_nul_character_is_a_400_naming_the_field(api: ApiHarness, key: str) -> None:
    sent = api.client.post("/v2/enqueue", json=pd_event(key, summary="disk\u0000full"))
    assert sent.status_code == 400, sent.text
    assert "event.summary" in sent.text
    assert "NUL" in sent.text

    in_details = api.client.post("/v2/enqueue", json=pd_event(key, custom_details={"host": {"na\u0000me": "db1"}}))
    assert in_details.status_code == 400, in_details.text
    assert "event.details.host (a key)" in in_details.text
    assert alert_count(api) == 0

    assert api.client.post("/v2/enqueue", json=pd_event(key, summary="disk full")).status_code == 202
    assert alert_count(api) == 1


def test_one_bad_alert_of_an_alertmanager_group_names_its_index(api: ApiHarness) -> None:
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "alertmanager")["key"]
    group = sample("alertmanager/firing.json")
    second = {**group["alerts"][0], "labels": {**group["alerts"][0]["labels"], "instance": "db\u00001"}}
    second["fingerprint"] = "f00dfeedf00dfeed"
    group["alerts"].append(second)
    sent = api.client.post(f"/integrations/{key}/alertmanager", json=group)
    assert sent.status_code == 400, sent.text
    assert "events[1]" in sent.text
    assert "NUL" in sent.text
    assert alert_count(api) == 0


def test_details_nested_too_deep_are_refused_with_the_path(api: ApiHarness, key: str) -> None:
    deep = api.client.post("/v2/enqueue", json=pd_event(key, custom_details=nested(300)))
    assert deep.status_code == 400, deep.text
    assert f"deeper than {MAX_DEPTH} levels" in deep.text
    assert "event.details.a.a.a" in deep.text
    assert alert_count(api) == 0

    fits = api.client.post("/v2/enqueue", json=pd_event(key, custom_details=nested(MAX_DEPTH - 1)))
    assert fits.status_code == 202, fits.text
    alert = ok(api.get("/api/v1/alerts"))["items"][0]
    assert ok(api.get(f"/api/v1/alerts/{alert['id']}"))["id"] == alert["id"]


def test_oversized_details_are_refused() -> None:
    event = NormalizedEvent(action="trigger", dedup_key="k", details={"blob": "x" * (1100 * 1024)})
    with pytest.raises(BadRequest, match="the limit is"):
        check_submission(Submission(integration_key="k", events=[event]))


def test_good_events_beside_a_bad_one_are_stored(api: ApiHarness, live_url: str) -> None:
    """Concurrent senders share group commits: a refused event must not take its neighbours down with it."""
    make_service(api, "checkout")
    key = make_integration(api, "checkout", "pagerduty_v2")["key"]
    answers: list[int] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        summary = "bad\u0000event" if i % 5 == 0 else f"event {i}"
        body = pd_event(key, summary=summary)
        body["dedup_key"] = f"k{i}"
        status = httpx.post(f"{live_url}/v2/enqueue", json=body, timeout=30).status_code
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [202] * 16 + [400] * 4
    assert alert_count(api) == 16


def test_the_writer_tells_a_permanent_refusal_from_a_transient_one() -> None:
    from sqlalchemy.exc import DataError, OperationalError, StatementError

    value_error = StatementError("bad", "INSERT", {}, ValueError("PostgreSQL text fields cannot contain NUL"))
    assert isinstance(_refusal(value_error), BadRequest)
    assert isinstance(_refusal(DataError("INSERT", {}, Exception("value too long"))), BadRequest)
    assert isinstance(_refusal(OperationalError("INSERT", {}, Exception("server closed"))), Unavailable)
    assert isinstance(_refusal(RuntimeError("bug")), Unavailable)
