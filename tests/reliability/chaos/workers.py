"""Engine workers as real processes: started like ``tocsin worker``, killed with SIGKILL, paused with SIGSTOP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class WorkerProcess:
    """One named worker. Restarting keeps the name, as a supervisor restarting ``tocsin worker --owner`` would."""

    database_url: str
    owner: str
    log_dir: Path
    lease_seconds: float = 30.0
    # Run this module instead of the ``tocsin`` CLI (a drill launcher with fault hooks), with these extra env vars.
    module: str = "tocsin"
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: list[datetime] = field(default_factory=list)
    kills: list[datetime] = field(default_factory=list)
    ready: list[datetime] = field(default_factory=list)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
        env.update(
            {
                "TOCSIN_DATABASE_URL": self.database_url,
                "TOCSIN_OUTBOUND_ALLOWLIST": "127.0.0.1",
                "TOCSIN_ENGINE_LEASE_SECONDS": str(self.lease_seconds),
                # INFO for the "worker started" line that tells the drill the engine is running.
                "TOCSIN_LOG_LEVEL": "INFO",
                "TOCSIN_LOG_FORMAT": "text",
                "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
                **self.env,
            }
        )
        log = (self.log_dir / f"{self.owner}.log").open("ab")
        self.starts.append(datetime.now(UTC))
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker", "--owner", self.owner],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no chance to finish a send or release a lease."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.kills.append(datetime.now(UTC))
        self.process.wait(10)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def state(self) -> str:
        """The kernel's one-letter process state ('T' when stopped)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0]

    def wait_ready(self, timeout: float = 60.0) -> datetime:
        """Block until the latest start has reached the engine loop; returns when that was seen."""
        expected = len(self.starts)
        deadline = time.monotonic() + timeout
        while self.log_text().count("worker started") < expected:
            if not self.alive():
                raise AssertionError(f"worker {self.owner} exited while starting:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.owner} not started after {timeout:.0f} s")
            time.sleep(0.02)
        seen = datetime.now(UTC)
        self.ready.append(seen)
        return seen

    def stop(self) -> None:
        """SIGTERM (the worker finishes its pass), SIGKILL if it does not exit in time. Always safe to call."""
        if self.process is None or self.process.poll() is not None:
            return
        with_cont = self.state() == "T"
        self.process.send_signal(signal.SIGTERM)
        if with_cont:
            os.kill(self.pid, signal.SIGCONT)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_text(self) -> str:
        path = self.log_dir / f"{self.owner}.log"
        return path.read_text(errors="replace") if path.exists() else ""
