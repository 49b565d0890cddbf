"""The pure parts of war rooms: room names, the workflow step's definition, backoff and per-platform pacing."""

from __future__ import annotations

import pytest

from tocsin.chat.pacing import BACKOFF_CAP_SECONDS, Pacer, backoff
from tocsin.chat.platforms.base import Paced
from tocsin.chat.service import room_name
from tocsin.workflows.steps import DefinitionError, Refs, check_step


def test_room_names_follow_the_template_and_slacks_rules() -> None:
    assert room_name(12, "Database is DOWN!") == "inc-12-database-is-down"
    assert room_name(7, "Café · déjà vu") == "inc-7-cafe-deja-vu"
    assert room_name(3, "!!!") == "inc-3"
    long = room_name(123456, "x" * 200)
    assert len(long) == 80
    assert long.startswith("inc-123456-x")


def test_the_open_chat_room_step_needs_a_known_platform() -> None:
    assert check_step({"kind": "open_chat_room", "platform": "slack"}, "steps.0", Refs())["platform"] == "slack"
    with pytest.raises(DefinitionError, match=r"steps\.0\.platform"):
        check_step({"kind": "open_chat_room", "platform": "irc"}, "steps.0", Refs())
    with pytest.raises(DefinitionError, match="platform"):
        check_step({"kind": "open_chat_room"}, "steps.0", Refs())


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff(500) == BACKOFF_CAP_SECONDS


def test_pacing_is_per_platform() -> None:
    pacer = Pacer({"slack": 1.0}, burst=2)
    pacer.take("slack")
    pacer.take("slack")
    with pytest.raises(Paced) as dry:
        pacer.take("slack")
    assert dry.value.retry_after is not None
    assert 0 < dry.value.retry_after <= 1
    for _ in range(50):
        pacer.take("matrix")  # no limit set for it
