"""A ``tocsin worker`` whose notifier stops its own process (SIGSTOP) at the worst moment, on request.

The moment is between the last ownership check and the provider call: a worker frozen there and thawed after its
lease ran out is the case fencing exists for. The drill asks for a pause by creating the file named in
TOCSIN_DRILL_PAUSE_FILE; the worker removes it, writes TOCSIN_DRILL_PAUSED_FILE (the notification it was about to
send) and stops itself. Each finished engine pass appends a line to TOCSIN_DRILL_PASSES_FILE.

It sends one message at a time (``TOCSIN_NOTIFY_SENDERS=1``, set by the drill): the only send the pause catches is
then the one it holds before its provider call. A concurrent send caught in the middle of its request is a send in
flight, the case of the worker-killed drill, not the stale-fence case this worker exists for.

Run as ``python -m tests.reliability.chaos.pausing_worker worker --owner NAME``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tocsin.engine.main import run_worker
from tocsin.engine.runner import Runner
from tocsin.ops.logging import configure_logging
from tocsin.settings import load_settings


def install(engine: Runner) -> None:
    pause_file = Path(os.environ["TOCSIN_DRILL_PAUSE_FILE"])
    paused_file = Path(os.environ["TOCSIN_DRILL_PAUSED_FILE"])
    passes_file = Path(os.environ["TOCSIN_DRILL_PASSES_FILE"])

    # The pause comes between the other lanes' passes, as it did when one thread ran every module. Frozen inside a
    # transaction, a process keeps its row locks; PostgreSQL ends a session left idle in a transaction (the engine
    # sets idle_in_transaction_session_timeout to the lease), but not one frozen half-way through a pipelined
    # statement batch, and the others could then not take that work over until the thaw. That case delays pages;
    # it cannot duplicate them, and it is not the stale-fence case this drill exists for.
    between_passes = threading.Lock()

    def before_send(notification_id: int) -> None:
        if pause_file.exists():
            pause_file.unlink()
            paused_file.write_text(str(notification_id))
            with between_passes:
                # Sent to this thread: a stop sent to the process may be taken by another thread, and this one
                # would run on into the provider call before the whole process stops.
                signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)

    def guarded(run_once: Callable[[datetime], int]) -> Callable[[datetime], int]:
        def run(now: datetime) -> int:
            with between_passes:
                return run_once(now)

        return run

    for module in engine.modules:
        if module.name == "notification":
            module.before_send = before_send  # type: ignore[attr-defined]
        else:
            module.run_once = guarded(module.run_once)  # type: ignore[method-assign]

    def counted_pass(lane: str, handled: int) -> None:
        with passes_file.open("a") as f:
            f.write(f"{lane} {handled}\n")

    engine.on_pass = counted_pass


def main() -> None:
    args = sys.argv[1:]
    assert args[:2] == ["worker", "--owner"], "usage: worker --owner NAME"
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    run_worker(settings, owner=args[2], configure=install)


if __name__ == "__main__":
    main()
