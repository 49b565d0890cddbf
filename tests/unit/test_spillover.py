"""Batches of blocking calls: in the caller's thread while calls are fast, with helpers while one is slow."""

from __future__ import annotations

import threading
import time

from tocsin.engine.spillover import Spillover


def test_fast_calls_run_in_the_callers_thread_in_order() -> None:
    runner = Spillover(8, slow=0.5)
    caller = threading.get_ident()
    seen: list[int] = []
    try:
        results = runner.run(list(range(20)), lambda i: (seen.append(threading.get_ident()), i * i)[1])
    finally:
        runner.close()
    assert results == [i * i for i in range(20)]
    assert set(seen) == {caller}
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
        results = runner.run(list(range(10)), call)
    finally:
        release.set()
        watcher.join()
        runner.close()
    assert results == [-1, *range(1, 10)]
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
        assert runner.run(list(range(12)), call) == list(range(12))
    finally:
        runner.close()
    assert now["most"] == 3


def test_one_thread_means_one_call_at_a_time() -> None:
    runner = Spillover(1, slow=0.001)
    try:
        assert runner.run([1, 2, 3], lambda i: time.sleep(0.01) or i) == [1, 2, 3]
    finally:
        runner.close()
    assert runner.helpers_started == 0
