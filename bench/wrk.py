"""Closed-loop load with wrk: a fixed number of connections, each sending its next request when the last returns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    failed: int  # non-2xx/3xx answers, socket errors and timeouts
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ok(self) -> int:
        return max(0, self.requests - self.failed)

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> WrkResult:
    if not available():
        raise RuntimeError("wrk is not installed (make bench installs it: apt-get install -y wrk)")
    full_env = {
        **os.environ,
        "BENCH_LUA_DIR": str(LUA_DIR),
        "BENCH_RUN_ID": uuid.uuid4().hex[:8],
        **(env or {}),
    }
    duration = f"{max(1, round(seconds))}s"
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--timeout", "10s"]
    args += ["-s", str(LUA_DIR / script), url]
    done = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    failed = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["status_errors"]
    failed += data["timeouts"]
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        failed=failed,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
