"""The contract of an engine module: a named unit of background work that processes what is due at ``now``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Module(Protocol):
    name: str

    def run_once(self, now: datetime) -> int:
        """Process what is due; return how many items were handled (0 means nothing was due).

        Modules get the database from their constructor rather than a session here, because a module spans
        several transactions: claim, act outside any transaction (a provider call), record the outcome.
        """
        ...

    def next_due(self) -> datetime | None:
        """When this module next has work, if it knows (lets the runner sleep exactly that long)."""
        ...
