"""Running the engine as its own process (``tocsin worker``): as many as you like on PostgreSQL."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from tocsin.engine.runner import Runner
from tocsin.runtime import Runtime
from tocsin.settings import Settings

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, *, owner: str | None = None, configure: Callable[[Runner], None] | None = None
) -> None:
    """Run the engine until SIGTERM or SIGINT; finishes the pass in progress, then returns.

    ``configure`` may adjust the engine before it starts (fault-injection drills install hooks this way).
    """
    runtime = Runtime.build(settings)
    runtime.check_secret_key()
    engine = runtime.build_engine(owner=owner)
    if configure is not None:
        configure(engine)
    # With a stable name (--owner or TOCSIN_WORKER_ID) a restarted worker resumes its own leases at once; with the
    # default host:pid name there is nothing of its own to find, and other workers wait for the leases to expire.
    stable_name = owner or settings.worker_id
    if stable_name:
        recovered = runtime.recover(stable_name)
        if recovered:
            log.warning("took back %d items left by this worker's previous run", recovered)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping on signal %d", signum)
        stop.set()
        engine.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    listener = runtime.start_listener()
    log.info("worker started", extra={"owner": owner or settings.worker_id})
    try:
        engine.loop()
    finally:
        if listener is not None:
            listener.stop()
        runtime.db.dispose()
