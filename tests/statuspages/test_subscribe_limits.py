"""Subscription flood limits hold across processes: two connections pools on one database (as two processes or
nodes would have) share the count; a refusal says how long to wait (429 with Retry-After); the window slides."""

from __future__ import annotations

import threading
from datetime import timedelta

from tests.api.conftest import problem
from tests.conftest import ApiHarness
from tests.statuspages.conftest import make_page
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.statuspages import ratelimit

HOUR = timedelta(hours=1)


def test_two_processes_share_the_limit(db: Database, clock: FakeClock) -> None:
    other = Database(db.url)
    try:
        answers = []
        for i in range(6):
            pool = (db, other)[i % 2]
            with pool.unit_of_work() as s:
                answers.append(ratelimit.admit(s, [("address:1:a@example.com", 3)], now=clock.now(), window=HOUR))
        assert answers[:3] == [None, None, None]
        assert all(isinstance(wait, int) and 0 < wait <= 3600 for wait in answers[3:]), answers
        with other.unit_of_work() as s:
            assert ratelimit.admit(s, [("address:1:b@example.com", 3)], now=clock.now(), window=HOUR) is None

        clock.advance(HOUR + timedelta(minutes=6))
        with other.unit_of_work() as s:
            assert ratelimit.admit(s, [("address:1:a@example.com", 3)], now=clock.now(), window=HOUR) is None, (
                "refused requests were not counted, and old ones left the window"
            )
    finally:
        other.dispose()


def test_the_window_slides_and_the_wait_is_exact(db: Database, clock: FakeClock) -> None:
    key = [("ip:1:203.0.113.9", 2)]
    with db.unit_of_work() as s:
        assert ratelimit.admit(s, key, now=clock.now(), window=HOUR) is None
    clock.advance(timedelta(minutes=30))
    with db.unit_of_work() as s:
        assert ratelimit.admit(s, key, now=clock.now(), window=HOUR) is None
        wait = ratelimit.admit(s, key, now=clock.now(), window=HOUR)
    assert wait is not None
    assert 25 * 60 <= wait <= 30 * 60, "until the first request's slice leaves the window"
    clock.advance(timedelta(seconds=wait))
    with db.unit_of_work() as s:
        assert ratelimit.admit(s, key, now=clock.now(), window=HOUR) is None
        assert ratelimit.admit(s, key, now=clock.now(), window=HOUR) is not None


def test_a_refusal_on_one_key_counts_nothing_on_the_others(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        assert ratelimit.admit(s, [("ip:x", 1)], now=clock.now(), window=HOUR) is None
        assert ratelimit.admit(s, [("address:y", 1), ("ip:x", 1)], now=clock.now(), window=HOUR) is not None
        assert ratelimit.admit(s, [("address:y", 1)], now=clock.now(), window=HOUR) is None


def test_concurrent_requests_do_not_slip_under_the_limit(db: Database, clock: FakeClock) -> None:
    pools = [Database(db.url) for _ in range(4)]
    admitted: list[bool] = []
    lock = threading.Lock()

    def ask(pool: Database) -> None:
        for _ in range(5):
            with pool.unit_of_work() as s:
                ok = ratelimit.admit(s, [("address:race", 7)], now=clock.now(), window=HOUR) is None
            with lock:
                admitted.append(ok)

    try:
        threads = [threading.Thread(target=ask, args=(p,)) for p in pools]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for pool in pools:
            pool.dispose()
    assert len(admitted) == 20
    assert admitted.count(True) == 7


def test_the_subscribe_form_answers_429_with_retry_after(api: ApiHarness) -> None:
    make_page(api)
    codes = [api.client.post("/status/acme/subscribe", data={"email": "f@example.com"}) for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429]
    refused = codes[-1]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "too many subscription requests" in problem(refused, 429)["detail"]
