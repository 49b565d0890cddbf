"""Dedup semantics as a Hypothesis state machine against a plain dict model (SQLite and PostgreSQL).

Invariant: at most one open incident per (integration, dedup key), and the database agrees with the model about
which keys are open, acknowledged or resolved — across clock moves and restarts of the database connection.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from tests.conftest import _wipe
from tests.factories import make_service
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.incidents.models import Incident
from tocsin.services.models import Integration

KEYS = st.sampled_from(["a", "b", "c"])
INTEGRATIONS = st.sampled_from([0, 1])


def test_dedup_state_machine(db_url: str) -> None:
    class Dedup(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.db = Database(db_url)
            _wipe(self.db)
            self.clock = FakeClock()
            with self.db.unit_of_work() as s:
                self.keys = [make_service(s, self.clock.now(), name=f"svc{i}")[1].key for i in range(2)]
            # (integration index, dedup key) -> "triggered" | "acknowledged"; absent means no open alert.
            self.model: dict[tuple[int, str], str] = {}
            self.created = 0

        @initialize()
        def start(self) -> None:
            pass

        def send(self, integ: int, event: NormalizedEvent) -> str:
            with self.db.unit_of_work() as s:
                (res,) = ingest_batch(s, [Submission(self.keys[integ], events=[event])], now=self.clock.now())
            return res.outcomes[0]

        @rule(integ=INTEGRATIONS, key=KEYS)
        def trigger(self, integ: int, key: str) -> None:
            outcome = self.send(integ, NormalizedEvent(action="trigger", dedup_key=key, summary="s"))
            if (integ, key) in self.model:
                assert outcome == "deduplicated"
            else:
                assert outcome == "created"
                self.model[(integ, key)] = "triggered"
                self.created += 1

        @rule(integ=INTEGRATIONS, key=KEYS)
        def acknowledge(self, integ: int, key: str) -> None:
            outcome = self.send(integ, NormalizedEvent(action="acknowledge", dedup_key=key))
            if self.model.get((integ, key)) == "triggered":
                assert outcome == "acknowledged"
                self.model[(integ, key)] = "acknowledged"
            else:
                assert outcome == "ignored"

        @rule(integ=INTEGRATIONS, key=KEYS)
        def resolve(self, integ: int, key: str) -> None:
            outcome = self.send(integ, NormalizedEvent(action="resolve", dedup_key=key))
            if (integ, key) in self.model:
                assert outcome == "resolved"
                del self.model[(integ, key)]
            else:
                assert outcome == "ignored"

        @rule(seconds=st.integers(min_value=1, max_value=3600))
        def advance(self, seconds: int) -> None:
            self.clock.advance(seconds)

        @rule()
        def restart(self) -> None:
            self.db.dispose()
            self.db = Database(db_url)

        @invariant()
        def database_agrees(self) -> None:
            with self.db.reader() as s:
                open_alerts = s.execute(
                    select(Alert.integration_id, Alert.dedup_key, Alert.status).where(Alert.status != "resolved")
                ).all()
                incidents = s.execute(select(func.count()).select_from(Incident)).scalar_one()
                open_incidents = dict(
                    s.execute(
                        select(Incident.status, func.count())
                        .where(Incident.status != "resolved")
                        .group_by(Incident.status)
                    ).all()
                )
                index = {
                    i.id: n
                    for n, key in enumerate(self.keys)
                    for i in s.execute(select(Integration).where(Integration.key == key)).scalars()
                }
            seen = {(index[i], k): status for i, k, status in open_alerts}
            assert len(seen) == len(open_alerts), "two open alerts share an (integration, dedup key)"
            assert seen == self.model
            assert incidents == self.created
            assert sum(open_incidents.values()) == len(self.model)
            assert open_incidents.get("acknowledged", 0) == sum(1 for v in self.model.values() if v == "acknowledged")

        def teardown(self) -> None:
            self.db.dispose()

    run_state_machine_as_test(
        Dedup,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
