from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scenarios.harness import World
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database


@pytest.fixture
def world(db: Database, clock: FakeClock) -> Iterator[World]:
    w = World(db=db, clock=clock)
    yield w
    # Every scenario ends the same way: nothing was sent that the scenario did not expect.
    w.nothing_more()
