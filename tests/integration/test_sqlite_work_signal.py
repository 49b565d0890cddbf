"""Cross-process wakeups on a SQLite file: a commit that notes new work bumps the work signal row, and the watcher
of every other process (another Database object here, or another process) wakes its engine."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.sqlite_procs import spawn
from tocsin.db import migrate
from tocsin.db.session import ESCALATION_WORK, NOTIFICATION_WORK, Database, note_new_work
from tocsin.engine.sqlite_signal import SqliteWorkWatcher
from tocsin.engine.wake import WakeSignal, Wakeup
from tocsin.runtime import Runtime
from tocsin.settings import load_settings

WAKE_WITHIN = 0.2


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'signal.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def databases(url: str) -> Iterator[tuple[Database, Database]]:
    """Two Database objects on one file, as two processes would have."""
    committer, watcher = Database(url), Database(url)
    yield committer, watcher
    committer.dispose()
    watcher.dispose()


def watching(db: Database, wakeup: Wakeup, **kw: float) -> SqliteWorkWatcher:
    assert db.sqlite_path is not None
    watcher = SqliteWorkWatcher(db.sqlite_path, wakeup, written_here=db.wrote_signal, **kw)
    watcher.start()
    return watcher


def settle(event: WakeSignal) -> None:
    """Let the watcher make its first read (it wakes the engine once at start), then forget that wakeup."""
    assert event.wait(2), "the watcher never made its first read"
    time.sleep(0.05)
    event.clear()


def commit(db: Database, *, new_work: bool) -> None:
    with db.unit_of_work() as session:
        session.execute(text("SELECT 1"))
        if new_work:
            note_new_work(session)
            note_new_work(session)  # once per transaction, however often it is said


def roll_back_new_work(db: Database) -> None:
    with db.unit_of_work() as session:
        note_new_work(session)
        raise RuntimeError("rolled back")


def signal_version(db: Database) -> int:
    with db.reader() as session:
        return int(session.execute(text("SELECT version FROM work_signal WHERE id = 1")).scalar_one())


def test_a_commit_that_notes_new_work_wakes_another_database_and_one_that_does_not_stays_quiet(
    databases: tuple[Database, Database],
) -> None:
    committer, other = databases
    wakeup = Wakeup()
    woken = wakeup.listen()
    watcher = watching(other, wakeup)
    try:
        settle(woken)
        before = signal_version(committer)
        commit(committer, new_work=False)
        assert not woken.wait(0.3), "a commit without new work woke the engine"
        assert signal_version(committer) == before

        started = time.monotonic()
        commit(committer, new_work=True)
        assert woken.wait(WAKE_WITHIN), f"not woken within {WAKE_WITHIN} s"
        print(f"woken {1000 * (time.monotonic() - started):.1f} ms after the commit")
        assert signal_version(committer) == before + 1
        woken.clear()

        # A rolled-back transaction leaves no signal.
        with pytest.raises(RuntimeError):
            roll_back_new_work(committer)
        assert not woken.wait(0.3)
        assert signal_version(committer) == before + 1
    finally:
        watcher.stop()


def test_the_kind_of_work_travels_to_the_other_database(databases: tuple[Database, Database]) -> None:
    committer, other = databases
    wakeup = Wakeup()
    escalations = wakeup.listen([ESCALATION_WORK])
    notifications = wakeup.listen([NOTIFICATION_WORK])
    watcher = watching(other, wakeup)
    try:
        settle(escalations)
        settle(notifications)
        with committer.unit_of_work() as session:
            note_new_work(session, ESCALATION_WORK)
        assert escalations.wait(WAKE_WITHIN), "the lane for escalations was not woken"
        assert escalations.take() == frozenset({ESCALATION_WORK})
        assert not notifications.wait(0.2), "a lane the kind does not concern was woken"

        with committer.unit_of_work() as session:
            note_new_work(session, NOTIFICATION_WORK)
            note_new_work(session, ESCALATION_WORK)
        assert notifications.wait(WAKE_WITHIN)
        assert escalations.wait(WAKE_WITHIN)
        assert notifications.take() == frozenset({NOTIFICATION_WORK, ESCALATION_WORK})

        with committer.unit_of_work() as session:
            note_new_work(session)
        assert escalations.wait(WAKE_WITHIN)
        time.sleep(0.05)
        assert escalations.take() is None, "work of no particular kind wakes everything"
    finally:
        watcher.stop()


def test_this_processs_own_commits_do_not_wake_its_engine_a_second_time(
    databases: tuple[Database, Database],
) -> None:
    committer, _ = databases
    wakeup = Wakeup()
    woken = wakeup.listen()
    watcher = watching(committer, wakeup)
    try:
        settle(woken)
        for _ in range(3):
            commit(committer, new_work=True)
        time.sleep(0.2)
        # The in-process wakeup (Database.on_new_work) already told the engine; the watcher stays quiet.
        assert watcher.notified == 0
        assert not woken.is_set()
    finally:
        watcher.stop()


def test_a_commit_in_another_process_wakes_the_watcher(url: str) -> None:
    db = Database(url)
    wakeup = Wakeup()
    woken = wakeup.listen()
    heard: list[float] = []

    def record() -> None:
        while not woken.wait(0.01):
            pass
        heard.append(time.time())

    watcher = watching(db, wakeup)
    try:
        settle(woken)
        listener = threading.Thread(target=record, daemon=True)
        listener.start()
        child = spawn("signal", url)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        committed = float(out.split()[1])
        listener.join(WAKE_WITHIN + 1)
        assert heard, "never woken"
        assert heard[0] - committed < WAKE_WITHIN, f"woken {heard[0] - committed:.3f} s after the other commit"
    finally:
        watcher.stop()
        db.dispose()


def test_the_watcher_keeps_trying_until_the_table_appears(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    migrate.upgrade(url, "0004")
    db = Database(url)
    wakeup = Wakeup()
    woken = wakeup.listen()
    watcher = watching(db, wakeup, retry=0.1)
    try:
        time.sleep(0.3)
        # A commit of new work on the old schema still commits (the signal is skipped).
        with db.unit_of_work() as session:
            note_new_work(session)
            session.execute(text("INSERT INTO instance_secrets (name, value) VALUES ('probe', 'x')"))
        with db.reader() as session:
            assert session.execute(text("SELECT count(*) FROM instance_secrets")).scalar_one() == 1
        assert not woken.is_set()
        migrate.upgrade(url)
        settle(woken)
        other = Database(url)
        try:
            commit(other, new_work=True)
            assert woken.wait(WAKE_WITHIN)
        finally:
            other.dispose()
    finally:
        watcher.stop()
        db.dispose()


def test_the_watcher_does_not_create_a_missing_database_and_stops_promptly(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    watcher = SqliteWorkWatcher(str(path), Wakeup(), retry=0.05)
    watcher.start()
    time.sleep(0.2)
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 0.5
    assert not watcher._thread.is_alive()
    assert not path.exists()


def test_the_watcher_holds_no_read_transaction_between_reads(databases: tuple[Database, Database]) -> None:
    committer, other = databases
    wakeup = Wakeup()
    woken = wakeup.listen()
    watcher = watching(other, wakeup, poll=0.001)
    try:
        settle(woken)
        for _ in range(20):
            commit(committer, new_work=True)
        assert committer.sqlite_path is not None
        conn = sqlite3.connect(committer.sqlite_path, timeout=5)
        try:
            # A reader that kept its snapshot would make the checkpoint report itself busy (and the WAL grow).
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        assert busy == 0
    finally:
        watcher.stop()


def test_the_runtime_starts_the_watcher_on_a_sqlite_file_and_stops_it(url: str) -> None:
    runtime = Runtime.build(load_settings(database_url=url, run_worker=False, sqlite_wake_poll_seconds=0.02))
    try:
        listener = runtime.start_listener()
        assert isinstance(listener, SqliteWorkWatcher)
        assert listener.poll == 0.02
        assert runtime.start_listener() is listener
        runtime.stop()
        assert not listener._thread.is_alive()
    finally:
        runtime.db.dispose()
