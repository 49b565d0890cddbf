"""Dedup semantics as a Hypothesis state machine against a plain dict model (SQLite and PostgreSQL).

Invariant: at most one open incident per (integration, dedup key), and the database agrees with the model about
which keys are open, acknowledged or resolved — across clock moves and restarts of the database connection.
The real escalation engine runs after every step: no page ever goes out for an incident that the model says is
acknowledged or resolved at that moment, and every open, unacknowledged incident has been paged.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from tests.conftest import _wipe
from tests.scenarios.harness import World
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.incidents.models import Incident
from tocsin.notify.throttle import Throttle, Window
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
            # Rate limits are tested elsewhere; here every page must go out when it is due.
            unlimited = Throttle([Window(100_000, timedelta(minutes=1))])
            self.world = World(db=self.db, clock=self.clock, throttle=unlimited)
            self.world.user("oncall")
            # Step 1 pages at once, then every 5 minutes for a while: plenty of chances to page too late.
            policy = self.world.policy("p", [([{"kind": "user", "ref": str(self.world.users["oncall"].id)}], 300)], 9)
            self.keys = [self.world.service(f"svc{i}", policy) for i in range(2)]
            # (integration index, dedup key) -> "triggered" | "acknowledged"; absent means no open alert.
            self.model: dict[tuple[int, str], str] = {}
            # (integration index, dedup key) -> incident number of the open alert.
            self.numbers: dict[tuple[int, str], int] = {}
            self.created = 0

        @initialize()
        def start(self) -> None:
            pass

        def send(self, integ: int, event: NormalizedEvent) -> str:
            with self.db.unit_of_work() as s:
                (res,) = ingest_batch(s, [Submission(self.keys[integ], events=[event])], now=self.clock.now())
            return res.outcomes[0]

        def run_engine(self) -> None:
            before = len(self.world.email.sent)
            self.world.run()
            quiet = {n for k, n in self.numbers.items() if self.model.get(k) != "triggered"}
            for message in self.world.email.sent[before:]:
                assert message.incident is not None
                assert message.incident.number not in quiet, f"paged #{message.incident.number} after ack/resolve"

        @rule(integ=INTEGRATIONS, key=KEYS)
        def trigger(self, integ: int, key: str) -> None:
            outcome = self.send(integ, NormalizedEvent(action="trigger", dedup_key=key, summary="s"))
            if (integ, key) in self.model:
                assert outcome == "deduplicated"
            else:
                assert outcome == "created"
                self.model[(integ, key)] = "triggered"
                self.created += 1
                with self.db.reader() as s:
                    alert = (
                        s.execute(select(Alert).where(Alert.dedup_key == key).order_by(Alert.id.desc()))
                        .scalars()
                        .first()
                    )
                    assert alert is not None
                    assert alert.incident_id is not None
                    number = s.get(Incident, alert.incident_id).number  # type: ignore[union-attr]
                self.numbers[(integ, key)] = number
            self.run_engine()

        @rule(integ=INTEGRATIONS, key=KEYS)
        def acknowledge(self, integ: int, key: str) -> None:
            outcome = self.send(integ, NormalizedEvent(action="acknowledge", dedup_key=key))
            if self.model.get((integ, key)) == "triggered":
                assert outcome == "acknowledged"
                self.model[(integ, key)] = "acknowledged"
            else:
                assert outcome == "ignored"
            self.run_engine()

        @rule(integ=INTEGRATIONS, key=KEYS)
        def resolve(self, integ: int, key: str) -> None:
            outcome = self.send(integ, NormalizedEvent(action="resolve", dedup_key=key))
            if (integ, key) in self.model:
                assert outcome == "resolved"
                del self.model[(integ, key)]
            else:
                assert outcome == "ignored"
            self.run_engine()

        @rule(seconds=st.integers(min_value=1, max_value=3600))
        def advance(self, seconds: int) -> None:
            self.clock.advance(seconds)
            self.run_engine()

        @rule()
        def restart(self) -> None:
            # Every pooled connection is closed: the next unit of work, and the engine, start on new ones.
            self.db.engine.dispose()

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
            paged = {m.incident.number for m in self.world.email.sent if m.incident is not None}
            for k, status in self.model.items():
                if status == "triggered":
                    assert self.numbers[k] in paged, f"open incident #{self.numbers[k]} was never paged"

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
