"""Archived policies and schedules and deactivated people on the paging path, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import make_service, make_user
from tocsin.admin import service as admin
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.escalation.snapshot import Target
from tocsin.incidents import service as incidents
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.users import service as users

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def _trigger(db: Database, key: str, number: int) -> int:
    with db.unit_of_work() as s:
        ingest_batch(s, [Submission(key, events=[NormalizedEvent("trigger", f"k{number}", summary="x")])], now=NOW)
    with db.reader() as s:
        return incidents.get(s, f"#{number}").id


def test_an_archived_policy_escalates_no_new_incident_but_a_running_one_keeps_its_snapshot(db: Database) -> None:
    with db.unit_of_work() as s:
        ann = make_user(s, NOW, "ann@example.com")
        policy = escalation.create_policy(s, name="db", steps=[([{"kind": "user", "ref": str(ann.id)}], 300)], now=NOW)
        service, integration = make_service(s, NOW, name="db")
        service.escalation_policy_id = policy.id
        key = integration.key
    running = _trigger(db, key, 1)
    with db.unit_of_work() as s:
        s.get(type(policy), policy.id).archived_at = NOW  # type: ignore[union-attr]
    later = _trigger(db, key, 2)
    with db.reader() as s:
        assert escalation.escalation_of(s, running) is not None
        assert escalation.escalation_of(s, later) is None


def test_deactivated_people_are_gaps_in_schedules_and_skipped_as_targets(db: Database) -> None:
    with db.unit_of_work() as s:
        make_user(s, NOW, "root@example.com")
        ann = make_user(s, NOW, "ann@example.com", role="responder")
        ben = make_user(s, NOW, "ben@example.com", role="responder")
        schedule = oncall.create_schedule(s, name="primary", timezone="UTC", now=NOW)
        # Ann has today (the first day from the start), Ben tomorrow.
        spec = oncall.layer_spec(s, rotation="daily", start=NOW - timedelta(hours=1), users=[ann.id, ben.id])
        oncall.set_layers(s, schedule, [spec])
        ann_id, ben_id, schedule_id = ann.id, ben.id, schedule.id
    with db.reader() as s:
        assert oncall.users_on_call(s, schedule_id, NOW) == (str(ann_id),)

    with db.unit_of_work() as s:
        admin.deactivate_user(s, users.get_user(s, ann_id), now=NOW)
    with db.reader() as s:
        resolve = escalation.resolver(s)
        assert resolve(Target("schedule", str(schedule_id)), NOW) == ()
        assert resolve(Target("user", str(ann_id)), NOW) == ()
        # The rotation keeps its order: Ben's day is still his, and Ann's turn is a gap on the schedule.
        assert resolve(Target("schedule", str(schedule_id)), NOW + timedelta(days=1)) == (str(ben_id),)
        gaps = oncall.gaps(s, schedule_id, NOW, NOW + timedelta(days=2))
        assert gaps == [(NOW, NOW + timedelta(hours=23)), (NOW + timedelta(days=1, hours=23), NOW + timedelta(days=2))]

    with db.unit_of_work() as s:
        schedules.archive_schedule(s, oncall.get_schedule(s, schedule_id), now=NOW)
    with db.reader() as s:
        assert escalation.resolver(s)(Target("schedule", str(schedule_id)), NOW + timedelta(days=1)) == ()
