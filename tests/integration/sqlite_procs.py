"""Child processes for the SQLite cross-process tests: ``python -m tests.integration.sqlite_procs COMMAND URL ...``.

``hold URL SECONDS WRITE``: open a unit of work (with one write if WRITE is 1), print ``holding <time>``, keep it
open for SECONDS, commit, print ``released <time>``.
``write URL COUNT LABEL GO_FILE``: wait for GO_FILE to exist, then commit COUNT units of work of one row each.
``signal URL``: commit one unit of work that notes new work and print ``committed <time>``.
``hog URL SECONDS HOLD``: for SECONDS, commit units of work back to back, each holding the gate HOLD seconds (a busy
ingest writer); print ``hogging`` when it starts and ``done COUNT`` at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from tocsin.db.session import Database, note_new_work

REPO_ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    """This module in a new interpreter, importing this checkout's sources first."""
    path = [str(REPO_ROOT / "src"), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sqlite_procs", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hold(db: Database, seconds: float, write: bool) -> None:
    with db.unit_of_work() as session:
        if write:
            session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('holder', 0)"))
        print(f"holding {time.time()!r}", flush=True)
        time.sleep(seconds)
    print(f"released {time.time()!r}", flush=True)


def _write(db: Database, count: int, label: str, go: Path) -> None:
    while not go.exists():
        time.sleep(0.001)
    for n in range(count):
        with db.unit_of_work() as session:
            session.execute(text("INSERT INTO gate_rows (label, n) VALUES (:label, :n)"), {"label": label, "n": n})
    print("done", flush=True)


def _signal(db: Database) -> None:
    with db.unit_of_work() as session:
        note_new_work(session)
    print(f"committed {time.time()!r}", flush=True)


def _hog(db: Database, seconds: float, hold: float) -> None:
    count = 0
    until = time.monotonic() + seconds
    print(f"hogging {time.time()!r}", flush=True)
    while time.monotonic() < until:
        with db.unit_of_work() as session:
            session.execute(text("INSERT INTO gate_rows (label, n) VALUES ('hog', :n)"), {"n": count})
            time.sleep(hold)
        count += 1
    print(f"done {count}", flush=True)


def main(argv: list[str]) -> None:
    command, url = argv[0], argv[1]
    db = Database(url)
    try:
        if command == "hold":
            _hold(db, float(argv[2]), argv[3] == "1")
        elif command == "write":
            _write(db, int(argv[2]), argv[3], Path(argv[4]))
        elif command == "signal":
            _signal(db)
        elif command == "hog":
            _hog(db, float(argv[2]), float(argv[3]))
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
