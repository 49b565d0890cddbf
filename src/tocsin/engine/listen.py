"""Cross-process wakeups on PostgreSQL: LISTEN on a channel that committers NOTIFY after new work.

On a SQLite file, ``engine/sqlite_signal.py`` plays this part.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from tocsin.db.session import WORK_CHANNEL
from tocsin.engine.wake import Wakeup

log = logging.getLogger(__name__)

CHANNEL = WORK_CHANNEL


def libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class PgListener:
    def __init__(self, url: str, wakeup: Wakeup) -> None:
        self.url = libpq_url(url)
        self.wakeup = wakeup
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tocsin-pg-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0, stop_after=1):
                            # The payload names the kind of work (empty: any kind).
                            self.wakeup.notify([note.payload] if note.payload else None)
            except psycopg.Error as exc:
                # The database is away: the engine's tick keeps working; try to listen again shortly.
                log.warning("LISTEN connection lost (%s); retrying", type(exc).__name__)
                self._stop.wait(1.0)


def notify_work(url: str) -> None:
    """Tell other processes' engines there is new work (best effort: they also tick every second)."""
    try:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(f"NOTIFY {CHANNEL}")
    except psycopg.Error as exc:
        log.debug("NOTIFY failed: %s", exc)
