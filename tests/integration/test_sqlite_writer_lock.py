"""The writer gate across processes on a SQLite file: an exclusive flock of ``<database>-writer.lock``, taken by
the outermost unit of work of a thread, released after its commit or rollback."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.sqlite_procs import spawn
from tocsin.db import migrate
from tocsin.db.session import Database, sqlite_file_path


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    migrate.upgrade(url)
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE gate_rows (id INTEGER PRIMARY KEY, label TEXT NOT NULL, n INTEGER)"))
    yield db
    db.dispose()


def lock_is_free(path: str) -> bool:
    """Whether another open file (as another process would have) gets the flock at once."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def line_from(proc: subprocess.Popen[str], word: str) -> float:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(word):
        _, err = finish(proc)
        raise AssertionError(f"expected {word!r} from the child, got {line!r}:\n{err}")
    return float(line.split()[1])


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait for the child (killed if it is still running after 10 s) and close its pipes."""
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=10)


# --- the path of the lock file ------------------------------------------------------------------------------------


def test_lock_file_of_a_relative_url_is_next_to_the_database_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_file_path("sqlite:///relative.db") == str(tmp_path / "relative.db")
    assert sqlite_file_path("sqlite:///./sub/x.db") == str(tmp_path / "sub" / "x.db")
    db = Database("sqlite:///relative.db")
    try:
        assert db.writer_lock_path == str(tmp_path / "relative.db-writer.lock")
    finally:
        db.dispose()


def test_lock_file_of_an_absolute_url_ignores_the_query_string() -> None:
    assert sqlite_file_path("sqlite:////var/lib/tocsin/t.db") == "/var/lib/tocsin/t.db"
    assert sqlite_file_path("sqlite:////var/lib/tocsin/t.db?timeout=5&check_same_thread=false") == (
        "/var/lib/tocsin/t.db"
    )
    assert sqlite_file_path("sqlite+pysqlite:////srv/t.db") == "/srv/t.db"
    assert sqlite_file_path("sqlite:///file:/srv/u.db?mode=rwc&uri=true") == "/srv/u.db"


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file:mem?mode=memory&cache=shared&uri=true"],
)
def test_an_in_memory_database_has_no_lock_file(url: str) -> None:
    assert sqlite_file_path(url) is None


def test_postgresql_has_no_lock_file() -> None:
    assert sqlite_file_path("postgresql+psycopg://postgres@127.0.0.1:5432/tocsin") is None


# --- in one process -----------------------------------------------------------------------------------------------


def test_the_lock_is_held_for_the_whole_unit_of_work_and_released_after_commit(file_db: Database) -> None:
    path = file_db.writer_lock_path
    assert path is not None
    with file_db.unit_of_work() as session:
        session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('a', 1)"))
        assert not lock_is_free(path)
    assert lock_is_free(path)
    # The database file itself is never locked or opened by the gate, only the side file.
    assert Path(path).exists()
    assert path != file_db.sqlite_path


def test_nested_units_of_work_in_one_thread_keep_the_lock_until_the_outermost_ends(file_db: Database) -> None:
    path = file_db.writer_lock_path
    assert path is not None
    with file_db.unit_of_work() as outer:
        with file_db.unit_of_work() as inner:
            inner.execute(text("INSERT INTO gate_rows (label, n) VALUES ('inner', 1)"))
        # The inner one's end must not release the outer one's lock.
        assert not lock_is_free(path)
        outer.execute(text("INSERT INTO gate_rows (label, n) VALUES ('outer', 2)"))
    assert lock_is_free(path)
    with file_db.reader() as session:
        assert session.execute(text("SELECT count(*) FROM gate_rows")).scalar_one() == 2


def test_an_exception_releases_the_lock_and_rolls_back(file_db: Database) -> None:
    path = file_db.writer_lock_path
    assert path is not None

    def fail(nested: bool) -> None:
        with file_db.unit_of_work() as session:
            session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('lost', 1)"))
            if nested:
                with file_db.unit_of_work():
                    raise RuntimeError("inner boom")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match=r"^boom"):
        fail(nested=False)
    assert lock_is_free(path)
    with pytest.raises(RuntimeError, match="inner boom"):
        fail(nested=True)
    assert lock_is_free(path)
    with file_db.reader() as session:
        assert session.execute(text("SELECT count(*) FROM gate_rows")).scalar_one() == 0
    # And the gate still works afterwards.
    with file_db.unit_of_work() as session:
        session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('kept', 1)"))
    assert lock_is_free(path)


# --- across processes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("write", [False, True], ids=["before-its-first-statement", "holding-sqlite-write-lock"])
def test_a_unit_of_work_waits_for_another_process_and_starts_as_soon_as_it_commits(
    file_db: Database, write: bool
) -> None:
    hold = 0.6
    child = spawn("hold", file_db.url, str(hold), "1" if write else "0")
    try:
        held_at = line_from(child, "holding")
        assert not lock_is_free(file_db.writer_lock_path or "")
        started = time.time()
        with file_db.unit_of_work() as session:
            # The body runs once the gate is ours: without the cross-process lock it would run at once (SQLite's
            # write lock is only taken by the first statement).
            entered = time.time()
            session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('parent', 1)"))
        released_at = line_from(child, "released")
    finally:
        finish(child)
    assert child.returncode == 0
    assert entered - started > hold / 2, "the unit of work did not wait for the other process"
    assert entered >= released_at - 0.005
    assert entered - released_at < 0.1, f"started {entered - released_at:.3f} s after the other process committed"
    assert held_at < entered


def test_two_processes_writing_at_once_lose_nothing_and_never_see_a_locked_database(
    file_db: Database, tmp_path: Path
) -> None:
    count = 200
    go = tmp_path / "go"
    children = [spawn("write", file_db.url, str(count), label, str(go)) for label in ("a", "b")]
    try:
        time.sleep(1.5)  # both interpreters up and waiting
        started = time.monotonic()
        go.touch()
        outputs = [child.communicate(timeout=120) for child in children]
        elapsed = time.monotonic() - started
    finally:
        for child in children:
            finish(child)
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert "database is locked" not in err
        assert out.strip() == "done"
    with file_db.reader() as session:
        rows = session.execute(text("SELECT label, n FROM gate_rows")).all()
    assert sorted(rows) == sorted((label, n) for label in ("a", "b") for n in range(count))
    print(f"2 processes x {count} write transactions in {elapsed:.2f} s")


def test_a_process_that_writes_back_to_back_does_not_starve_another(file_db: Database) -> None:
    """flock wakes waiters without handing the lock over: without the queue lock, a process committing back to
    back takes the lock straight back and the other process waits for seconds."""
    hold = 0.005
    child = spawn("hog", file_db.url, "3", str(hold))
    try:
        line_from(child, "hogging")
        time.sleep(0.2)
        waits = []
        for n in range(40):
            started = time.monotonic()
            with file_db.unit_of_work() as session:
                waits.append(time.monotonic() - started)
                session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('turn', :n)"), {"n": n})
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert out.split()[-2] == "done", out
    # Taking turns, each wait is about one of the other's units of work; a generous bound for a busy machine.
    assert max(waits) < 0.25, f"waited up to {max(waits):.3f} s for a turn (median {sorted(waits)[20]:.4f} s)"
