"""The weekly digest with the fake clock: due at the organisation's weekday and hour, once per week, to each
responder with a week on call and to each team's managers, as notices through their contact method."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.analytics.conftest import DataSet
from tocsin.analytics import digest
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.analytics_digest import AnalyticsDigestModule
from tocsin.notify.models import ContactMethod, Notification
from tocsin.oncall import service as oncall
from tocsin.teams import service as teams
from tocsin.users import service as users


def _notices(db: Database) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    with db.reader() as s:
        for n in s.execute(select(Notification).where(Notification.kind == "notice")).scalars():
            found.setdefault(n.user_id, []).append(n.payload["text"])
    return found


def test_weekly_digest_once_a_week(db: Database, data: DataSet) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 7, 59, tzinfo=UTC))
    module = AnalyticsDigestModule(db, clock)
    assert module.next_due() == datetime(2026, 11, 2, 8, tzinfo=UTC)
    clock.set(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    # The week is 26 October 08:00 → 2 November 08:00: Alice was paged once (#7), Bob was on call from the
    # 26th 00:00 to 2 November 00:00 (160 h of it in the week) and paged once (#2).
    assert module.run_once(clock.now()) == 3
    sent = _notices(db)
    assert set(sent) == {data.alice, data.bob}
    (alice,) = sent[data.alice]
    assert "Incidents that paged you: 1 (business hours 0, off hours 0, sleep hours 1)" in alice
    assert " Wed " in alice
    assert "█" in alice
    bob = "\n".join(sent[data.bob])
    assert "Hours on call: 160.0" in bob
    assert "Team Core: the week on call" in bob
    assert "- Alice:" in bob
    # Once per week, however often the engine looks.
    clock.advance(timedelta(hours=3))
    assert module.run_once(clock.now()) == 0
    assert module.next_due() == datetime(2026, 11, 9, 8, tzinfo=UTC)


def test_due_moment() -> None:
    s = digest.Settings(digest_weekday=2, digest_hour=6)
    assert digest.due_at(s, datetime(2026, 11, 4, 6, 0, tzinfo=UTC)) == datetime(2026, 11, 4, 6, tzinfo=UTC)
    assert digest.due_at(s, datetime(2026, 11, 4, 5, 59, tzinfo=UTC)) == datetime(2026, 10, 28, 6, tzinfo=UTC)
    assert digest.bars([("Mon", 2), ("Tue", 0), ("Wed", 1)]).splitlines()[0].endswith(" 2")


def test_a_quiet_team_gets_no_digest(db: Database) -> None:
    """A team whose people had no hour on call, no page and no incident that week has nothing to report."""
    now = datetime(2026, 10, 1, tzinfo=UTC)
    with db.unit_of_work() as s:
        manager = users.create_user(s, email="dana@example.com", name="Dana", role="responder", now=now)
        member = users.create_user(s, email="eli@example.com", name="Eli", role="responder", now=now)
        team = teams.create_team(s, name="Quiet", now=now)
        teams.set_member(s, team, manager, "manager")
        teams.set_member(s, team, member)
        for u in (manager, member):
            s.add(ContactMethod(user_id=u.id, name="mail", type="email", address=u.email, created_at=now))
    clock = FakeClock(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    module = AnalyticsDigestModule(db, clock)

    assert module.run_once(clock.now()) == 0
    assert _notices(db) == {}
    # The week still counts as done: the engine does not look again until the next one.
    assert module.next_due() == datetime(2026, 11, 9, 8, tzinfo=UTC)


def test_a_new_installation_waits_for_its_first_whole_week(db: Database) -> None:
    """Installed on a Thursday: the Monday after reports nothing (the week is mostly before it), the next one does."""
    installed = datetime(2026, 10, 29, 12, tzinfo=UTC)
    with db.unit_of_work() as s:
        user = users.create_user(s, email="fay@example.com", name="Fay", role="responder", now=installed)
        s.add(ContactMethod(user_id=user.id, name="mail", type="email", address=user.email, created_at=installed))
        schedule = oncall.create_schedule(s, name="Fay", timezone="UTC", now=installed)
        start = datetime(2026, 10, 29, tzinfo=UTC)
        oncall.set_layers(s, schedule, [oncall.layer_spec(s, rotation="weekly", start=start, users=[user.id])])
    clock = FakeClock(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    module = AnalyticsDigestModule(db, clock)

    assert module.run_once(clock.now()) == 0
    assert module.next_due() == datetime(2026, 11, 9, 8, tzinfo=UTC)
    clock.set(datetime(2026, 11, 9, 8, 0, tzinfo=UTC))
    assert module.run_once(clock.now()) == 1
    (text,) = _notices(db)[user.id]
    assert "Hours on call: 168.0" in text
