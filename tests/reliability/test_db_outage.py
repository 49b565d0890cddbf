"""Database outage on PostgreSQL while a server ingests and escalation steps fall due.

Faults come from an admin connection: ``pg_terminate_backend`` on every backend of the test's database, over and
over, first as short blips during an ingest burst, then as a hard outage (the database also refuses new
connections) spanning the moment escalation steps are due. Ingestion must answer 503 while the database is
away (never 2xx for an event that was not committed, never 500), recover within 10 s, and every step due during
the outage must page exactly once afterwards.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.conftest import PG_ADMIN_URL
from tests.scenarios.harness import World as ScenarioWorld
from tests.servers import (
    PostgresCluster,
    TocsinServer,
    WebhookSink,
    fresh_database,
    new_key,
    pg_database_name,
    seed_service,
    wait_for,
)
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.notify import contacts
from tocsin.notify import service as notify
from tocsin.services import service as services
from tocsin.users import service as users

STEP_DELAY = 3  # seconds between the first and the second step of the paging policy
RECOVERY = 10.0  # seconds within which ingestion and paging must be back after the database is
INCIDENTS = 8  # per test that pages


class Faults:
    """Kills the backends of one database from an admin connection, and can make it refuse new ones."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.killed = 0

    def terminate(self) -> int:
        with self.admin.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": self.database},
            ).scalar_one()
        self.killed += int(n)
        return int(n)

    def refuse_connections(self, refuse: bool) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS {str(not refuse).lower()}'))

    @contextmanager
    def repeatedly(self, every: float) -> Iterator[None]:
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                self.terminate()
                stop.wait(every)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(10)

    def close(self) -> None:
        self.refuse_connections(False)
        self.admin.dispose()


def seed_paging(url: str, sink: WebhookSink, group: str, count: int) -> list[str]:
    """``count`` services, each with its own two-step policy: step 1 pages ``first i`` at once, step 2 pages
    ``second i`` STEP_DELAY seconds later, through webhooks to ``/<group>/<step>/<i>`` on the sink. One page per
    person keeps throttling and bundling out of the count. Returns the integration keys."""
    now = datetime.now(UTC)
    keys = []
    db = Database(url)
    try:
        with db.unit_of_work() as s:
            for i in range(count):
                ids = {}
                for step in ("first", "second"):
                    user = users.create_user(s, email=f"{group}-{step}-{i}@example.com", name=f"{step} {i}", now=now)
                    hook = contacts.add_contact_method(
                        s,
                        user_id=user.id,
                        name="hook",
                        type="webhook",
                        address=f"{sink.base_url}/{group}/{step}/{i}",
                        now=now,
                    )
                    contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=hook.id, delay_seconds=0)
                    ids[step] = user.id
                policy = escalation.create_policy(
                    s,
                    name=f"{group} two steps {i}",
                    steps=[
                        ([{"kind": "user", "ref": ids["first"]}], STEP_DELAY),
                        ([{"kind": "user", "ref": ids["second"]}], 60),
                    ],
                    now=now,
                )
                service = services.create_service(s, name=f"{group}-{i}", now=now)
                service.escalation_policy_id = policy.id
                keys.append(new_key())
                services.add_integration(s, service, name="events", type="pagerduty_v2", now=now, key=keys[-1])
    finally:
        db.dispose()
    return keys


def trigger(client: httpx.Client, key: str, dedup: str) -> int:
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": f"{dedup} is down", "source": "outage-test", "severity": "critical"},
    }
    try:
        return client.post("/v2/enqueue", json=event).status_code
    except httpx.TransportError:
        return 0


def stored_keys(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT dedup_key FROM alert_events")).scalars())
    finally:
        engine.dispose()


def paging_state(url: str) -> str:
    """Notification and escalation states, for failure messages."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            notes = conn.execute(
                text("SELECT status, step_index, count(*) FROM notifications GROUP BY status, step_index")
            ).all()
            escs = conn.execute(
                text("SELECT status, step_index, lease_owner IS NOT NULL, count(*) FROM escalations GROUP BY 1, 2, 3")
            ).all()
    finally:
        engine.dispose()
    return f"notifications (status, step, n): {notes}; escalations (status, step, leased, n): {escs}"


def pages(sink: WebhookSink, group: str, step: str) -> Counter[str]:
    """How many pages each person of a step received (one incident per person)."""
    return Counter(m.path for m in sink.messages() if m.path.startswith(f"/{group}/{step}/"))


@dataclass
class OutageWorld:
    url: str
    sink: WebhookSink
    server: TocsinServer
    faults: Faults
    bulk_key: str
    paging_keys: dict[str, list[str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutageWorld]:
    """One server for the module: each test pages its own group of services and people."""
    tmp = tmp_path_factory.mktemp("outage")
    with fresh_database("postgres", tmp) as url, WebhookSink() as sink:
        bulk_key = new_key()
        seed_service(url, name="bulk", keys={"pagerduty_v2": bulk_key})
        paging = {group: seed_paging(url, sink, group, INCIDENTS) for group in ("hard", "blips")}
        faults = Faults(pg_database_name(url))
        server = TocsinServer(url, tmp / "server.log", env={"TOCSIN_OUTBOUND_ALLOWLIST": "127.0.0.1"})
        server.start()
        try:
            yield OutageWorld(url, sink, server, faults, bulk_key, paging)
        finally:
            faults.close()
            server.stop()


@pytest.mark.postgres
@pytest.mark.slow
def test_connection_blips_during_ingest_give_503_never_500_and_lose_nothing(world: OutageWorld) -> None:
    server, faults, key = world.server, world.faults, world.bulk_key
    faults.killed = 0
    results: dict[str, int] = {}
    lock = threading.Lock()

    def send(prefix: str) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for i in range(100):
                code = trigger(client, key, f"{prefix}-{i}")
                with lock:
                    results[f"{prefix}-{i}"] = code

    senders = [threading.Thread(target=send, args=(f"s{n}",)) for n in range(4)]
    with faults.repeatedly(every=0.15):
        for t in senders:
            t.start()
        for t in senders:
            t.join(120)
    assert faults.killed > 0
    codes = Counter(results.values())
    assert set(codes) <= {202, 503}, f"unexpected statuses under connection loss: {codes}; {server.tail()}"
    acknowledged = {k for k, c in results.items() if c == 202}
    assert acknowledged, codes
    missing = acknowledged - stored_keys(world.url)
    assert missing == set(), f"{len(missing)} acknowledged events are not stored"
    # Once the faults stop, everything is accepted again without a restart.
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert trigger(client, key, "after-blips") == 202
    print(f"blips: statuses {dict(codes)}, backends killed {faults.killed}")


@pytest.mark.postgres
@pytest.mark.slow
def test_hard_outage_answers_503_recovers_and_due_steps_fire_exactly_once(world: OutageWorld) -> None:
    server, faults, sink, bulk = world.server, world.faults, world.sink, world.bulk_key
    keys = world.paging_keys["hard"]
    faults.killed = 0
    incidents = len(keys)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for key in keys:
            assert trigger(client, key, "db-primary") == 202
        wait_for(lambda: len(pages(sink, "hard", "first")) == incidents, timeout=30, what="the first step's pages")
        opened_at = time.monotonic()

        # The second step falls due STEP_DELAY seconds after the first: the outage spans that moment.
        faults.refuse_connections(True)
        outage_codes: Counter[int] = Counter()
        with faults.repeatedly(every=0.2):
            outage_started = time.monotonic()
            n = 0
            while time.monotonic() < opened_at + STEP_DELAY + 3:
                n += 1
                outage_codes[trigger(client, bulk, f"during-{n}")] += 1
                time.sleep(0.05)
            # Detected: the server refuses with 503 while the database is away (it can take a moment to notice).
            assert outage_codes[503] > 0, f"no 503 during the outage: {outage_codes}"
            assert set(outage_codes) <= {202, 503}, outage_codes
            assert pages(sink, "hard", "second") == Counter(), (
                "the second step cannot have fired while the database was away"
            )
            outage_seconds = time.monotonic() - outage_started
        faults.refuse_connections(False)
        recovered_at = time.monotonic()

        wait_for(lambda: trigger(client, bulk, f"probe-{time.monotonic()}") == 202, timeout=RECOVERY, what="ingest")
        ingest_back = time.monotonic() - recovered_at
        try:
            wait_for(lambda: len(pages(sink, "hard", "second")) == incidents, timeout=RECOVERY, what="second pages")
        except AssertionError:
            raise AssertionError(
                f"{len(pages(sink, 'hard', 'second'))} of {incidents} second-step pages within {RECOVERY:.0f} s of "
                f"recovery; {paging_state(world.url)}"
            ) from None
        paging_back = time.monotonic() - recovered_at

    # Let the engine run several more passes: nothing may fire twice.
    time.sleep(2.5)
    assert set(pages(sink, "hard", "first").values()) == {1}, pages(sink, "hard", "first")
    assert set(pages(sink, "hard", "second").values()) == {1}, pages(sink, "hard", "second")
    assert len(pages(sink, "hard", "first")) == len(pages(sink, "hard", "second")) == incidents
    print(
        f"outage {outage_seconds:.1f} s, statuses {dict(outage_codes)}, backends killed {faults.killed}, "
        f"ingest back after {ingest_back:.2f} s, due steps paged {paging_back:.2f} s after recovery"
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_blips_while_steps_are_due_delay_nothing_and_fire_each_step_once(world: OutageWorld) -> None:
    server, faults, sink = world.server, world.faults, world.sink
    keys = world.paging_keys["blips"]
    faults.killed = 0
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for key in keys:
            assert trigger(client, key, "db-primary") == 202
    wait_for(lambda: len(pages(sink, "blips", "first")) == len(keys), timeout=30, what="the first step's pages")
    opened_at = time.monotonic()
    time.sleep(max(0.0, STEP_DELAY - 1.5))
    # Connections are killed every 100 ms from just before the second step is due until well after.
    with faults.repeatedly(every=0.1):
        wait_for(lambda: time.monotonic() > opened_at + STEP_DELAY + 3, timeout=30, what="the blips")
    blips_ended = time.monotonic()
    try:
        wait_for(lambda: len(pages(sink, "blips", "second")) == len(keys), timeout=RECOVERY, what="second pages")
    except AssertionError:
        raise AssertionError(
            f"{len(pages(sink, 'blips', 'second'))} of {len(keys)} second-step pages within {RECOVERY:.0f} s of "
            f"the last blip; {paging_state(world.url)}"
        ) from None
    late = time.monotonic() - blips_ended
    time.sleep(2.5)
    assert set(pages(sink, "blips", "first").values()) == {1}, pages(sink, "blips", "first")
    assert set(pages(sink, "blips", "second").values()) == {1}, pages(sink, "blips", "second")
    print(f"blips while due: backends killed {faults.killed}, last second-step page {late:.2f} s after the blips")


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("TOCSIN_CHAOS") != "1", reason="crashes and restarts a PostgreSQL cluster of its own: TOCSIN_CHAOS=1"
)
def test_postgres_crash_and_restart(tmp_path: Path) -> None:
    """A PostgreSQL crash (``pg_ctl stop -m immediate``) and restart during an ingest burst, spanning due steps."""
    cluster = PostgresCluster().init()
    cluster.start()
    try:
        url = cluster.create_database("tocsin")
        with WebhookSink() as sink:
            bulk = new_key()
            seed_service(url, name="bulk", keys={"pagerduty_v2": bulk})
            keys = seed_paging(url, sink, "restart", INCIDENTS)
            server = TocsinServer(url, tmp_path / "server.log", env={"TOCSIN_OUTBOUND_ALLOWLIST": "127.0.0.1"})
            server.start()
            try:
                crash_and_restart(cluster, server, sink, url, bulk, keys)
            finally:
                server.stop()
    finally:
        with suppress(subprocess.CalledProcessError):
            cluster.stop("fast")
        cluster.remove()


def crash_and_restart(
    cluster: PostgresCluster, server: TocsinServer, sink: WebhookSink, url: str, bulk: str, keys: list[str]
) -> None:
    results: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def burst(prefix: str) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            i = 0
            while not stop.is_set():
                i += 1
                code = trigger(client, bulk, f"{prefix}-{i}")
                with lock:
                    results[f"{prefix}-{i}"] = code
                if code != 202:
                    time.sleep(0.05)

    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for key in keys:
            assert trigger(client, key, "db-primary") == 202
    wait_for(lambda: len(pages(sink, "restart", "first")) == len(keys), timeout=30, what="the first step's pages")
    opened_at = time.monotonic()
    senders = [threading.Thread(target=burst, args=(f"b{n}",), daemon=True) for n in range(3)]
    for t in senders:
        t.start()
    time.sleep(max(0.5, STEP_DELAY - 2))
    cluster.stop("immediate")
    down_at = time.monotonic()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        wait_for(lambda: trigger(client, bulk, f"probe-{time.monotonic()}") == 503, timeout=15, what="a 503")
        detected = time.monotonic() - down_at
        wait_for(lambda: time.monotonic() > opened_at + STEP_DELAY + 2, timeout=30, what="the due time")
        assert pages(sink, "restart", "second") == Counter()
        cluster.start()
        up_at = time.monotonic()
        wait_for(lambda: trigger(client, bulk, f"probe-{time.monotonic()}") == 202, timeout=RECOVERY, what="ingest")
        ingest_back = time.monotonic() - up_at
    try:
        wait_for(lambda: len(pages(sink, "restart", "second")) == len(keys), timeout=RECOVERY, what="second pages")
    except AssertionError:
        raise AssertionError(f"second-step pages late after the restart; {paging_state(url)}") from None
    paging_back = time.monotonic() - up_at
    stop.set()
    for t in senders:
        t.join(30)
    time.sleep(2.5)
    assert set(pages(sink, "restart", "first").values()) == {1}
    assert set(pages(sink, "restart", "second").values()) == {1}
    codes = Counter(results.values())
    assert set(codes) <= {202, 503}, codes
    acknowledged = {k for k, c in results.items() if c == 202}
    missing = acknowledged - stored_keys(url)
    assert missing == set(), f"{len(missing)} acknowledged events lost in the crash"
    print(
        f"crash: statuses {dict(codes)}, 503 after {detected:.2f} s, ingest back {ingest_back:.2f} s and due "
        f"steps paged {paging_back:.2f} s after the restart"
    )


# --- the same interruptions, deterministic: a fake clock and one injected connection loss ---------------------


def _lost_once(real: Any) -> Any:
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    return flaky


def _paging_world(db: Database, clock: FakeClock) -> ScenarioWorld:
    w = ScenarioWorld(db=db, clock=clock)
    alice = w.user("alice")
    w.service("api", w.policy("p", [([{"kind": "user", "ref": alice.id}], 300)]))
    w.trigger("api", "k1")
    return w


def test_a_claim_cut_short_by_a_lost_connection_resumes_on_the_next_pass(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _paging_world(db, clock)
    monkeypatch.setattr(escalation, "fire_claimed_batch", _lost_once(escalation.fire_claimed_batch))
    w.run()  # the claim committed, then firing it failed
    assert w.runner.failures["escalation"] == 1
    w.run()  # the next pass, at the same instant: well inside the lease
    w.expect_email("alice")
    w.nothing_more()


def test_a_send_cut_short_before_the_provider_call_goes_out_on_the_next_pass(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _paging_world(db, clock)
    monkeypatch.setattr(notify, "sendable_now", _lost_once(notify.sendable_now))
    w.run()
    assert w.runner.failures["notification"] == 1
    w.expect_email("alice")
    with db.reader() as s:
        assert [n.status for n in notify.notifications_of(s, w.incident_by_key("k1").id)] == ["sent"]
    w.nothing_more()


def test_a_send_whose_outcome_could_not_be_recorded_is_recorded_not_resent(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _paging_world(db, clock)
    monkeypatch.setattr(notify, "record_batch", _lost_once(notify.record_batch))
    w.run()
    assert w.runner.failures["notification"] == 1
    w.expect_email("alice")
    incident = w.incident_by_key("k1")
    with db.reader() as s:
        assert [n.status for n in notify.notifications_of(s, incident.id)] == ["sent"]
    assert ("notified", "Notified email to Alice") in w.timeline(incident)
    w.nothing_more()


def test_a_send_resumed_after_an_acknowledgement_stays_unsent(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _paging_world(db, clock)
    monkeypatch.setattr(notify, "sendable_now", _lost_once(notify.sendable_now))
    w.runner.run_pass()  # escalation fires, the send is interrupted
    assert w.runner.failures["notification"] == 1
    w.ack(w.incident_by_key("k1"))  # acknowledged while the database was away for the sender
    w.run()
    w.nothing_more()
