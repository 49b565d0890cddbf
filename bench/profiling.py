"""Sampling profiles of a server under load (py-spy), folded into a short "where the time goes" summary."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_LOCATION = re.compile(r" \((?P<file>[^()]*):\d+\)$")


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


@contextmanager
def sampling(pid: int, folded: Path, *, seconds: float) -> Iterator[None]:
    """Sample every thread of ``pid`` for ``seconds`` while the block runs; writes folded stacks to ``folded``."""
    binary = py_spy()
    if binary is None:
        yield
        return
    args = [binary, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", "200", "--format", "raw"]
    args += ["--nonblocking", "-o", str(folded)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        try:
            proc.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()


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
