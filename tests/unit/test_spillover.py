"""Batches of blocking calls: in the caller's thread while calls are fast, with helpers while one is slow."""

from __future__ import annotations

import threading
import time

from tocsin.engine.spillover import Spillover


def test_fast_calls_run_one_after_another_on_one_thread_in_order() -> None:
    runner = Spillover(8, slow=0.5)
    seen: list[int] = []
    try:
        results, stragglers = runner.run(list(range(20)), lambda i: (seen.append(threading.get_ident()), i * i)[1])
    finally:
        runner.close()
    assert results == [i * i for i in range(20)]
    assert stragglers == set()
    assert len(set(seen)) == 1
    assert runner.helpers_started == 0


def test_a_hanging_call_does_not_hold_back_the_rest_of_the_batch() -> None:
    runner = Spillover(4, slow=0.02)
    release = threading.Event()
    done_while_hanging: list[int] = []

    def call(i: int) -> int:
        if i == 0:
            release.wait(10)
            return -1
        if not release.is_set():
            done_while_hanging.append(i)
        return i

    def let_go() -> None:
        deadline = time.monotonic() + 10
        while len(done_while_hanging) < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()

    watcher = threading.Thread(target=let_go)
    watcher.start()
    try:
        results, stragglers = runner.run(list(range(10)), call)
    finally:
        release.set()
        watcher.join()
        runner.close()
    assert results == [-1, *range(1, 10)]
    assert stragglers == set()
    # Everything else went out while the first call hung, through a helper the watchdog added.
    assert sorted(done_while_hanging) == list(range(1, 10))
    assert runner.helpers_started >= 1


def test_never_more_calls_at_once_than_threads() -> None:
    runner = Spillover(3, slow=0.01)
    lock = threading.Lock()
    now = {"in": 0, "most": 0}

    def call(i: int) -> int:
        with lock:
            now["in"] += 1
            now["most"] = max(now["most"], now["in"])
        time.sleep(0.05)  # every call is slow: helpers are added up to the limit
        with lock:
            now["in"] -= 1
        return i

    try:
        assert runner.run(list(range(12)), call) == (list(range(12)), set())
    finally:
        runner.close()
    assert now["most"] == 3


def test_one_thread_means_one_call_at_a_time() -> None:
    runner = Spillover(1, slow=0.001)
    try:
        assert runner.run([1, 2, 3], lambda i: time.sleep(0.01) or i) == ([1, 2, 3], set())
    finally:
        runner.close()
    assert runner.helpers_started == 0


def test_a_call_still_running_after_the_patience_is_left_behind_and_reported_late() -> None:
    runner = Spillover(4, slow=0.02, patience=0.2)
    release = threading.Event()
    late: list[tuple[int, int]] = []
    arrived = threading.Event()

    def call(i: int) -> int:
        if i == 2:
            release.wait(10)
        return i * 10

    def on_late(item: int, result: int) -> None:
        late.append((item, result))
        arrived.set()

    try:
        started = time.monotonic()
        results, stragglers = runner.run(list(range(5)), call, late=on_late)
        waited = time.monotonic() - started
        assert stragglers == {2}
        assert results == [0, 10, None, 30, 40]
        assert waited < 5, "the batch waited for its straggler"
        assert late == []
        release.set()
        assert arrived.wait(10)
        assert late == [(2, 20)]
    finally:
        release.set()
        runner.close()
