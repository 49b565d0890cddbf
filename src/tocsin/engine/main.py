"""Running the engine as its own process (``tocsin worker``): as many as you like on PostgreSQL."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from tocsin.runtime import Runtime
from tocsin.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, owner: str | None = None) -> None:
    """Run the engine until SIGTERM or SIGINT; finishes the pass in progress, then returns."""
    runtime = Runtime.build(settings)
    engine = runtime.build_engine(owner=owner)
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
