"""Skills in configuration as code: applied, compared, refused when malformed, exported and round-tripped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.response import skills
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FILE = """
users:
  - {email: ana@example.com, name: Ana, skills: [postgres, networking]}
  - {email: ben@example.com, name: Ben}
"""


def apply(db: Database, text: str, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    with db.unit_of_work() as session:
        return apply_config(session, document.parse(text), now=NOW, dry_run=dry_run)


def skills_of(db: Database, email: str) -> list[str]:
    with db.reader() as s:
        return skills.skills_of(s, users.get_user(s, email).id)


def test_skills_are_applied_compared_and_round_trip(db: Database) -> None:
    apply(db, FILE)
    assert skills_of(db, "ana@example.com") == ["networking", "postgres"]
    assert skills_of(db, "ben@example.com") == []
    assert {c.action for c in apply(db, FILE).changes} == {"unchanged"}

    changed = FILE.replace("[postgres, networking]", "[postgres, forensics]")
    plan = apply(db, changed, dry_run=True)
    (ana,) = [c for c in plan.changes if c.key == "ana@example.com"]
    assert ana.action == "update"
    assert ana.fields
    assert "skills" in ana.fields[0]
    assert skills_of(db, "ana@example.com") == ["networking", "postgres"], "a dry run writes nothing"
    apply(db, changed)
    assert skills_of(db, "ana@example.com") == ["forensics", "postgres"]

    with db.reader() as s:
        exported = export_config(s, now=NOW)
    data = document.to_data(exported)
    by_email = {u["email"]: u for u in data["users"]}
    assert by_email["ana@example.com"]["skills"] == ["forensics", "postgres"]
    assert "skills" not in by_email["ben@example.com"], "people without skills export as before"
    for text in (document.to_yaml(exported), document.to_json(exported)):
        assert {c.action for c in apply(db, text).changes} == {"unchanged"}
    # Left out, skills are not managed; an empty list clears them.
    apply(db, "users:\n  - {email: ana@example.com}\n")
    assert skills_of(db, "ana@example.com") == ["forensics", "postgres"]
    apply(db, "users:\n  - {email: ana@example.com, skills: []}\n")
    assert skills_of(db, "ana@example.com") == []


def test_a_malformed_skill_names_its_place_and_writes_nothing(db: Database) -> None:
    with pytest.raises(InvalidInput) as raised:
        apply(db, "users:\n  - {email: ana@example.com, skills: [postgres, Big Data]}\n")
    messages = " ".join(str(m) for m in raised.value.errors)
    assert "skills" in messages, messages
    assert "lowercase slug" in messages, messages
    with db.reader() as s:
        assert users.list_users(s) == []
