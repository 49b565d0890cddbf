"""Time in each phase over a period, by hand: three incidents moved through their phases with the fake clock, one
of them on the NIST model, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_service
from tocsin.analytics import facts, metrics
from tocsin.analytics.periods import Period
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import ResponseStatus
from tocsin.incidents.schemas import Actor

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WHO = Actor("ana", "web")


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize("kept", [False, True], ids=["computed", "kept-facts"])
def test_time_in_each_phase_by_hand(db: Database, kept: bool) -> None:
    with db.unit_of_work() as s:
        service, _ = make_service(s, T0)
        # A: triage 10 min, investigating 30 min, identified 60 min, then resolved (counted until now: 80 min).
        a = incidents.declare(s, service_id=service.id, title="A", actor=WHO, now=_at(0)).id
        incidents.acknowledge(s, a, actor=WHO, now=_at(10))
        incidents.change_response(s, a, ResponseStatus.IDENTIFIED, actor=WHO, now=_at(40))
        incidents.resolve(s, a, actor=WHO, now=_at(100))
        # B: triage 5 min, then investigating until now (115 min).
        b = incidents.declare(s, service_id=service.id, title="B", actor=WHO, now=_at(60)).id
        incidents.acknowledge(s, b, actor=WHO, now=_at(65))
        # C, on the NIST model: triage and investigating are both Detection & Analysis (30 + 30 min).
        c = incidents.declare(s, service_id=service.id, title="C", actor=WHO, now=_at(120)).id
        incidents.set_phase_model(s, c, "nist", actor=WHO, now=_at(121))
        incidents.acknowledge(s, c, actor=WHO, now=_at(150))
        # Outside the period: not counted.
        incidents.declare(s, service_id=service.id, title="late", actor=WHO, now=_at(179))

    if kept:
        with db.unit_of_work() as s:
            assert facts.backfill(s, now=_at(179)) == (4, False)

    with db.reader() as s:
        found = metrics.phase_figures(s, Period(T0, _at(170)), now=_at(180))

    by_phase = {(f["model"], f["phase"]): f for f in found}
    assert list(by_phase) == [
        ("default", "Triage"),
        ("default", "Investigating"),
        ("default", "Identified"),
        ("default", "Resolved"),
        ("nist", "Detection & Analysis"),
    ]
    triage = by_phase[("default", "Triage")]
    assert (triage["count"], triage["median"], triage["p90"], triage["mean"]) == (2, 450.0, 570.0, 450.0)
    investigating = by_phase[("default", "Investigating")]
    assert (investigating["count"], investigating["median"], investigating["p90"]) == (2, 4350.0, 6390.0)
    assert by_phase[("default", "Identified")]["median"] == 3600.0
    assert by_phase[("default", "Resolved")]["median"] == 4800.0
    nist = by_phase[("nist", "Detection & Analysis")]
    assert (nist["count"], nist["median"]) == (1, 3600.0)
