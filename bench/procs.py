"""Subprocesses under test: free ports, start and wait until ready, peak memory, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _status_kb(pid: int, field_name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Process:
    """One subprocess; its output goes to a log file that is shown when it fails to start."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None
    peak_rss_kb: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def peak_rss_mb(self) -> float:
        """The high-water mark of resident memory (VmHWM) since the process started."""
        self.peak_rss_kb = max(self.peak_rss_kb, _status_kb(self.pid, "VmHWM"))
        return round(self.peak_rss_kb / 1024, 1)

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far, all threads."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # After the command name: state is field 3, utime and stime fields 14 and 15 (clock ticks).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_http(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.peak_rss_mb()
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def start(
    name: str, args: list[str], *, env: dict[str, str] | None = None, port: int | None = None, log_dir: Path
) -> Process:
    log_path = log_dir / f"{name}.log"
    # No TOCSIN_SECRET_KEY: the processes and the seeding share the key generated beside the database, and each
    # process loads the link key at start-up (``Runtime.preload_link_secret``), outside any send transaction.
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    with log_path.open("wb") as log:
        popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(ROOT))
    return Process(name=name, popen=popen, log_path=log_path, port=port)


def uvicorn(name: str, factory: str, *, env: dict[str, str], log_dir: Path) -> Process:
    """One uvicorn process serving an app factory: the way both the ceiling and Tocsin are measured."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = start(name, args, env=env, port=port, log_dir=log_dir)
    proc.wait_http("/healthz")
    return proc


def tocsin_serve(env: dict[str, str], *, log_dir: Path, wait: float = 60.0) -> Process:
    port = free_port()
    args = [sys.executable, "-m", "tocsin", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = start("tocsin-serve", args, env={"TOCSIN_LOG_LEVEL": "WARNING", **env}, port=port, log_dir=log_dir)
    proc.wait_http("/healthz", timeout=wait)
    return proc


def tocsin_worker(env: dict[str, str], *, log_dir: Path) -> Process:
    args = [sys.executable, "-m", "tocsin", "worker", "--owner", "bench-worker"]
    return start("tocsin-worker", args, env={"TOCSIN_LOG_LEVEL": "WARNING", **env}, log_dir=log_dir)


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"tocsin-bench-{prefix}-"))
