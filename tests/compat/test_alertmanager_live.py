"""A real Prometheus Alertmanager delivering to a running Tocsin, through its webhook receiver and through its
PagerDuty receiver pointed at Tocsin's Events API v2 endpoint. An alert that fires opens an incident; the same
alert posted again with an end in the past resolves it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.servers import (
    AlertmanagerProcess,
    TocsinServer,
    fresh_database,
    new_key,
    require_binary,
    seed_service,
    wait_for,
)

pytestmark = [pytest.mark.compat, pytest.mark.slow]

CONFIG = """\
route:
  receiver: webhook
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 500ms
  repeat_interval: 1h
  routes:
    - receiver: pagerduty
      matchers: ['via="pagerduty"']
receivers:
  - name: webhook
    webhook_configs:
      - url: {base}/integrations/{webhook_key}/alertmanager
        send_resolved: true
  - name: pagerduty
    pagerduty_configs:
      - routing_key: {pd_key}
        url: {base}/v2/enqueue
        send_resolved: true
        description: '{{{{ .CommonAnnotations.summary }}}}'
"""


@dataclass
class Stack:
    url: str
    tocsin: TocsinServer
    alertmanager: AlertmanagerProcess
    webhook_key: str
    pd_key: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_binary("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("am")
    webhook_key, pd_key = new_key(), new_key()
    with fresh_database("sqlite", tmp) as url:
        seed_service(url, name="prometheus", keys={"alertmanager": webhook_key})
        seed_service(url, name="prometheus-pd", keys={"pagerduty_v2": pd_key})
        tocsin = TocsinServer(url, tmp / "tocsin.log").start()
        config = CONFIG.format(base=tocsin.base_url, webhook_key=webhook_key, pd_key=pd_key)
        alertmanager = AlertmanagerProcess(config, tmp)
        try:
            alertmanager.start()
            yield Stack(url, tocsin, alertmanager, webhook_key, pd_key)
        finally:
            alertmanager.stop()
            tocsin.stop()


def incidents_of(url: str, key: str) -> list[tuple[str, str, str]]:
    """(incident status, alert status, alert summary) of every alert that came through the integration ``key``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT i.status, a.status, a.summary FROM alerts a JOIN integrations g ON g.id = a.integration_id"
                    " JOIN incidents i ON i.id = a.incident_id WHERE g.key = :k ORDER BY a.id"
                ),
                {"k": key},
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]


def _alert(name: str, via: str, *, ends: datetime | None = None) -> dict[str, object]:
    now = datetime.now(UTC)
    alert: dict[str, object] = {
        "labels": {"alertname": name, "instance": "db1:9100", "severity": "critical", "via": via},
        "annotations": {"summary": f"{name} on db1"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://prometheus.test/graph",
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return alert


def _fire_then_resolve(stack: Stack, via: str, key: str) -> None:
    name = f"DiskFull{uuid.uuid4().hex[:6]}"
    stack.alertmanager.post_alerts([_alert(name, via)])
    opened = wait_for(
        lambda: [r for r in incidents_of(stack.url, key) if r[0] == "triggered"],
        timeout=30,
        what="the incident to open in Tocsin",
    )
    assert len(opened) == 1, opened
    assert name in opened[0][2]
    stack.alertmanager.post_alerts([_alert(name, via, ends=datetime.now(UTC) - timedelta(seconds=5))])
    wait_for(
        lambda: incidents_of(stack.url, key) and all(r[0] == "resolved" for r in incidents_of(stack.url, key)),
        timeout=30,
        what="the incident to resolve in Tocsin",
    )
    # Alertmanager's re-sends of the same group must not have opened a second incident.
    assert len(incidents_of(stack.url, key)) == 1


def test_webhook_receiver_opens_and_resolves_an_incident(stack: Stack) -> None:
    _fire_then_resolve(stack, "webhook", stack.webhook_key)


def test_pagerduty_receiver_pointed_at_tocsin_opens_and_resolves_an_incident(stack: Stack) -> None:
    _fire_then_resolve(stack, "pagerduty", stack.pd_key)
