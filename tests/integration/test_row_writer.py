"""Rows read into plain objects and written back column by column (db/rows.RowWriter), on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from tests.factories import make_user
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.notify import contacts
from tocsin.notify import repository as repo
from tocsin.notify.models import Notification


def _queued(db: Database, clock: FakeClock) -> int:
    with db.unit_of_work() as s:
        user = make_user(s, clock.now())
        cm = contacts.add_contact_method(
            s, user_id=user.id, name="hook", type="webhook", address="https://hooks.example.com/a", now=clock.now()
        )
        return contacts.send_test(s, cm.id, now=clock.now()).id


def _updates(db: Database) -> list[str]:
    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append(" ".join(statement.split()))

    return seen


def test_only_changed_columns_are_written(db: Database, clock: FakeClock) -> None:
    nid = _queued(db, clock)
    updates = _updates(db)
    with db.unit_of_work() as s:
        row = repo.rows_of(s, [nid])[nid]
        repo.save_rows(s, [row])  # nothing changed: no statement
        assert updates == []
        row.status = "sending"
        row.attempts += 1
        repo.save_rows(s, [row])
        repo.save_rows(s, [row])  # written once: what was written is what the row is remembered as
    assert len(updates) == 1
    set_clause = updates[0].split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert sorted(part.split("=")[0].strip() for part in set_clause.split(",")) == ["attempts", "status"]
    with db.reader() as s:
        stored = s.get(Notification, nid)
        assert stored is not None
        assert (stored.status, stored.attempts) == ("sending", 1)


def test_a_change_made_through_a_mapped_object_stands(db: Database, clock: FakeClock) -> None:
    nid = _queued(db, clock)
    later = clock.now() + timedelta(minutes=5)
    with db.unit_of_work() as s:
        row = repo.rows_of(s, [nid])[nid]
        mapped = s.get(Notification, nid)
        assert mapped is not None
        mapped.provider_ref = "set-elsewhere"
        s.flush()
        row.next_attempt_at = later
        repo.save_rows(s, [row])
    with db.reader() as s:
        stored = s.get(Notification, nid)
        assert stored is not None
        assert stored.provider_ref == "set-elsewhere"
        assert stored.next_attempt_at == later


def test_a_json_value_changed_in_place_is_written(db: Database, clock: FakeClock) -> None:
    nid = _queued(db, clock)
    with db.unit_of_work() as s:
        row = repo.rows_of(s, [nid])[nid]
        row.payload["bundled"] = [1, 2]
        repo.save_rows(s, [row])
    with db.reader() as s:
        stored = s.get(Notification, nid)
        assert stored is not None
        assert stored.payload == {"bundled": [1, 2]}
