"""The hash chain and the masking rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tocsin.audit.catalog import mask, secret_columns
from tocsin.audit.chain import Head, link_hash, to_json_value, verify


def chain(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    prev = ""
    for i in range(1, n + 1):
        row: dict[str, Any] = {
            "id": i,
            "at": datetime(2026, 11, 2, 8, 0, i, 123456, tzinfo=UTC),
            "actor_user_id": 1,
            "actor": "Admin",
            "token_id": None,
            "channel": "api",
            "ip": "10.0.0.1",
            "user_agent": "curl/8",
            "action": "service.updated",
            "object_type": "service",
            "object_id": str(i),
            "data": to_json_value({"after": {"tier": i}}),
            "prev_hash": prev,
        }
        row["hash"] = link_hash(row)
        prev = row["hash"]
        rows.append(row)
    return rows


def head_of(rows: list[dict[str, Any]]) -> Head:
    return Head(last_id=rows[-1]["id"], last_hash=rows[-1]["hash"])


def test_an_intact_chain_holds() -> None:
    rows = chain(5)
    assert verify(rows, head_of(rows)) == (5, None)
    assert verify([], Head(0, "")) == (0, None)


def test_an_edited_entry_is_named() -> None:
    rows = chain(5)
    rows[2]["data"] = {"after": {"tier": 1}}
    _, broken = verify(rows, head_of(rows))
    assert broken is not None
    assert broken.entry_id == 3
    assert "does not match its hash" in broken.reason


def test_an_entry_rehashed_after_editing_breaks_the_next_link() -> None:
    rows = chain(5)
    rows[1]["actor"] = "Mallory"
    rows[1]["hash"] = link_hash(rows[1])
    _, broken = verify(rows, head_of(rows))
    assert broken is not None
    assert broken.entry_id == 3
    assert "entry 2" in broken.reason


def test_removed_entries_are_found_in_the_middle_and_at_the_end() -> None:
    rows = chain(5)
    head = head_of(rows)
    _, gap = verify(rows[:2] + rows[3:], head)
    assert gap is not None
    assert (gap.entry_id, gap.reason) == (4, "entries 3..3 are missing before it")
    _, cut = verify(rows[:4], head)
    assert cut is not None
    assert cut.entry_id == 5
    assert "ends at entry 4" in cut.reason


def test_every_hashed_field_counts() -> None:
    base = chain(1)[0]
    for name, other in (("ip", "10.0.0.2"), ("channel", "web"), ("token_id", 7), ("prev_hash", "x")):
        assert link_hash({**base, name: other}) != base["hash"], name


def test_secrets_are_masked_by_table_and_kind() -> None:
    assert mask("0123456789abcdef", "tail") == "***cdef"
    assert mask("short", "tail") == "***"
    assert mask("$argon2id$v=19$...", "hidden") == "***"
    assert mask(None, "hidden") is None
    assert secret_columns("users", {})["password_hash"] == "hidden"
    assert "address" in secret_columns("contact_methods", {"type": "slack"})
    assert "address" not in secret_columns("contact_methods", {"type": "email"})
    assert secret_columns("teams", {}) == {}
