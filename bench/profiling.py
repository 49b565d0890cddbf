"""Sampling profiles of a server under load (py-spy), folded into a short "where the time goes" summary."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

_LOCATION = re.compile(r" \((?P<file>[^()]*):\d+\)$")


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


@contextmanager
def sampling(pid: int, folded: Path, *, limit: float = 900) -> Iterator[None]:
    """Sample every thread of ``pid`` while the block runs (at most ``limit`` seconds); folded stacks go to
    ``folded``. py-spy writes its output when interrupted, so the block's end stops it."""
    binary = py_spy()
    if binary is None:
        yield
        return
    folded.parent.mkdir(parents=True, exist_ok=True)
    args = [binary, "record", "-p", str(pid), "-d", str(round(limit)), "-r", "200", "--format", "raw"]
    # Only the thread holding the GIL: where the interpreter spends its time, not where threads wait.
    args += ["--gil", "--nonblocking", "-o", str(folded)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def maybe(pid: int, profile_dir: Path | None, name: str) -> AbstractContextManager[None]:
    """``sampling`` into ``profile_dir/name.folded``, or nothing when profiles were not asked for."""
    return nullcontext() if profile_dir is None else sampling(pid, profile_dir / f"{name}.folded")


def _short(frame: str) -> str:
    match = _LOCATION.search(frame)
    if not match:
        return frame
    name = frame[: match.start()]
    path = match.group("file")
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise(folded: Path, *, top: int = 25) -> str:
    """Inclusive and self shares of the busiest functions, as plain text."""
    if not folded.exists():
        return "(no profile: py-spy is not installed or could not attach)\n"
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in folded.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            _short(f) for f in stack.split(";") if f and not f.startswith("thread ") and not f.startswith("process ")
        ]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "(empty profile)\n"
    lines = [f"{total} samples", "", "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self %       function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines) + "\n"
