"""A ``tocsin worker`` whose notifier stops its own process (SIGSTOP) at the worst moment, on request.

The moment is between the last ownership check and the provider call: a worker frozen there and thawed after its
lease ran out is the case fencing exists for. The drill asks for a pause by creating the file named in
TOCSIN_DRILL_PAUSE_FILE; the worker removes it, writes TOCSIN_DRILL_PAUSED_FILE (the notification it was about to
send) and stops itself. Each finished engine pass appends a line to TOCSIN_DRILL_PASSES_FILE.

Run as ``python -m tests.reliability.chaos.pausing_worker worker --owner NAME``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from tocsin.engine.main import run_worker
from tocsin.engine.runner import Runner
from tocsin.ops.logging import configure_logging
from tocsin.settings import load_settings


def install(engine: Runner) -> None:
    pause_file = Path(os.environ["TOCSIN_DRILL_PAUSE_FILE"])
    paused_file = Path(os.environ["TOCSIN_DRILL_PAUSED_FILE"])
    passes_file = Path(os.environ["TOCSIN_DRILL_PASSES_FILE"])

    def before_send(notification_id: int) -> None:
        if pause_file.exists():
            pause_file.unlink()
            paused_file.write_text(str(notification_id))
            os.kill(os.getpid(), signal.SIGSTOP)

    for module in engine.modules:
        if module.name == "notification":
            module.before_send = before_send  # type: ignore[attr-defined]

    run_pass = engine.run_pass

    def counted_pass() -> int:
        handled = run_pass()
        with passes_file.open("a") as f:
            f.write(f"{handled}\n")
        return handled

    engine.run_pass = counted_pass  # type: ignore[method-assign]


def main() -> None:
    args = sys.argv[1:]
    assert args[:2] == ["worker", "--owner"], "usage: worker --owner NAME"
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    run_worker(settings, owner=args[2], configure=install)


if __name__ == "__main__":
    main()
