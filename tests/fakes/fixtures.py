"""Run a fake for the length of a fixture: ``yield from running(FakeTwilio())``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar


class Startable(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


F = TypeVar("F", bound=Startable)


def running(fake: F) -> Iterator[F]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
