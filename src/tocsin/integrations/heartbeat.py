"""Heartbeat pings, Healthchecks-style: ``/heartbeat/<KEY>`` and its suffixes.

=====================  ==========================================================
``/heartbeat/<KEY>``   success: the job ran; resolves an open heartbeat alert
``…/start``            the job started (recorded; does not change the state)
``…/fail``             the job failed: opens an alert at once
``…/<exit status>``    0 is success, 1 to 255 is failure (``cmd; curl …/$?``)
=====================  ==========================================================

GET, POST and HEAD all work; a POST body (the job's output, say) is kept with a failure.
"""

from __future__ import annotations

from typing import Literal

from tocsin.core.errors import BadRequest

PingKind = Literal["success", "start", "fail"]


def parse_signal(signal: str | None) -> PingKind:
    if signal is None:
        return "success"
    if signal == "start":
        return "start"
    if signal == "fail":
        return "fail"
    if signal.isascii() and signal.isdigit() and len(signal) <= 3 and int(signal) <= 255:
        return "success" if int(signal) == 0 else "fail"
    raise BadRequest(
        "unknown heartbeat signal",
        errors=[f"the path after the key must be start, fail or an exit status 0-255, not {signal[:32]!r}"],
    )
