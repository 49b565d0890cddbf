"""A batch of delivery outcomes recorded at once: delivered ones done and their subscribers' failure counts reset,
a retry rescheduled, a bounce failed and counted on its subscriber; a delivery no longer pending is left alone."""

from __future__ import annotations

from datetime import timedelta

from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.incidents.schemas import Actor
from tocsin.statuspages import service as statuspages


def test_a_batch_of_outcomes(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="acme", name="Acme", now=now)
        for n in range(3):
            row, _ = statuspages.subscribe_email(s, page, f"r{n}@example.com", now=now)
            row.confirmed_at = now
            row.failures = 2
        statuspages.create_incident(s, page, name="Down", body="Looking", actor=Actor(label="a", source="api"), now=now)
    with db.unit_of_work() as s:
        claimed = statuspages.claim_deliveries(s, now=now, lease=timedelta(minutes=2))
    assert len(claimed) == 3
    ok, retry, bounce = sorted(claimed, key=lambda d: d.address)
    outcomes = [(ok.id, "delivered", None), (retry.id, "retry", "SMTP 451"), (bounce.id, "failed", "SMTP 550")]
    with db.unit_of_work() as s:
        statuspages.record_deliveries(s, outcomes, now=now)
    with db.unit_of_work() as s:
        statuspages.record_deliveries(s, [(ok.id, "failed", "late duplicate")], now=now)
    with db.reader() as s:
        rows = {r.address: r for r in statuspages.list_subscribers(s, statuspages.get_page(s, "acme"))}
        done = {a: statuspages.deliveries_of(s, rows[a].id)[0] for a in rows}
    assert (done["r0@example.com"].status, done["r0@example.com"].error) == ("delivered", None)
    assert rows["r0@example.com"].failures == 0
    assert done["r1@example.com"].status == "pending"
    assert done["r1@example.com"].due_at > now
    assert (rows["r1@example.com"].failures, rows["r1@example.com"].last_error) == (3, "SMTP 451")
    assert done["r2@example.com"].status == "failed"
    assert rows["r2@example.com"].failures == 3
