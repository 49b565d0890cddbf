"""Escalations claimed together fire in one transaction; a bad one does not hold back the rest of its batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from tests.scenarios.harness import World
from tocsin.core.clock import FakeClock
from tocsin.db.claims import Claim
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.escalation.models import Escalation
from tocsin.incidents import service as incident_service
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.oncall import calculator
from tocsin.oncall import service as oncall
from tocsin.teams import service as teams
from tocsin.users import service as users


def test_a_batch_of_incidents_pages_each_once(world: World) -> None:
    alice = world.user("alice")
    world.service("api", world.policy("default", [([{"kind": "user", "ref": alice.id}], 300)]))
    opened = [world.trigger("api", f"k{i}") for i in range(5)]
    world.run()
    for incident in opened:
        world.expect_email("alice", number=incident.number)
        kinds = [k for k, _ in world.timeline(incident)]
        assert kinds.count("escalated") == 1


def test_an_escalation_that_cannot_fire_leaves_its_batch_to_fire(world: World) -> None:
    alice = world.user("alice")
    world.service("api", world.policy("default", [([{"kind": "user", "ref": alice.id}], 300)]))
    good, bad, other = (world.trigger("api", f"k{i}") for i in range(3))
    with world.db.unit_of_work() as s:
        # A snapshot this version cannot read: firing it raises.
        s.execute(update(Escalation).where(Escalation.incident_id == bad.id).values(snapshot={"version": 99}))
    world.run()
    world.expect_email("alice", number=good.number)
    world.expect_email("alice", number=other.number)
    assert "escalated" not in [k for k, _ in world.timeline(bad)]
    assert world.runner.failures["escalation"] >= 1


# --- a batch does what firing its escalations one by one does ----------------------------------------------


@dataclass
class Opened:
    """One set of incidents over the mixed world's services, in the order they were opened."""

    by_label: dict[str, Incident]

    def ids(self) -> list[int]:
        return [i.id for i in self.by_label.values()]


LABELS = (
    "user",
    "schedule-1",
    "schedule-2",
    "team",
    "empty-then-user",
    "nobody",
    "low",
    "mixed",
    "acked",
    "paused",
    "stale",
)
SERVICE_OF = {
    "user": "by-user",
    "schedule-1": "by-schedule",
    "schedule-2": "by-schedule",
    "team": "by-team",
    "empty-then-user": "empty-first",
    "nobody": "nobody",
    "low": "low",
    "mixed": "mixed",
    "acked": "by-user",
    "paused": "by-user",
    "stale": "by-user",
}


def _mixed_world(w: World) -> dict[str, int]:
    """Services whose policies page a user, a schedule, a team, an empty schedule then a user, someone with no
    rules then a deactivated user, a low-urgency service, and one step naming the same people three ways."""
    now = w.now()
    alice = w.user("alice")
    bob = w.user("bob")
    carol = w.person("carol", [])
    dave = w.user("dave")
    erin = w.user("erin", low=True)
    primary = w.schedule("primary", [{"rotation": "weekly", "start": now - timedelta(days=1), "users": ["bob"]}])
    ended = w.schedule(
        "ended",
        [
            {
                "rotation": "weekly",
                "start": now - timedelta(days=30),
                "end": now - timedelta(days=1),
                "users": ["alice"],
            }
        ],
    )
    with w.db.unit_of_work() as s:
        team = teams.create_team(s, name="dbas", now=now)
        for u in (erin, alice, dave):
            user = users.get_user(s, u.id)
            teams.set_member(s, team, user)
            if u is dave:
                user.deactivated_at = now
        team_id = team.id
    w.service("by-user", w.policy("by-user", [([{"kind": "user", "ref": alice.id}], 300)]))
    w.service("by-schedule", w.policy("by-schedule", [([{"kind": "schedule", "ref": primary}], 300)]))
    w.service("by-team", w.policy("by-team", [([{"kind": "team", "ref": team_id}], 300)]))
    w.service(
        "empty-first",
        w.policy(
            "empty-first",
            [([{"kind": "schedule", "ref": ended}], 300), ([{"kind": "user", "ref": bob.id}], 600)],
        ),
    )
    w.service(
        "nobody",
        w.policy("nobody", [([{"kind": "user", "ref": carol.id}], 0), ([{"kind": "user", "ref": dave.id}], 0)]),
    )
    w.service(
        "low",
        w.policy("low", [([{"kind": "user", "ref": alice.id}, {"kind": "user", "ref": erin.id}], 300)]),
        urgency="low",
    )
    w.service(
        "mixed",
        w.policy(
            "mixed",
            [
                (
                    [
                        {"kind": "user", "ref": bob.id},
                        {"kind": "schedule", "ref": primary},
                        {"kind": "team", "ref": team_id},
                    ],
                    120,
                )
            ],
            repeat=1,
        ),
    )
    return {"primary": primary, "ended": ended, "team": team_id}


def _open(w: World, prefix: str) -> Opened:
    return Opened({label: w.trigger(SERVICE_OF[label], f"{prefix}-{label}") for label in LABELS})


def _claim_all(w: World) -> list[tuple[int, Claim]]:
    """Claim every due escalation, as the engine does; returns (incident id, claim) in claim order."""
    with w.db.unit_of_work() as s:
        claims = escalation.claim(s, now=w.now(), owner="test", lease=timedelta(seconds=30), limit=500)
        owner = {e: i for e, i in s.execute(select(Escalation.id, Escalation.incident_id)).all()}
    return [(owner[c.id], c) for c in claims]


def _disturb(w: World, opened: Opened) -> None:
    """After the claim: one incident acknowledged, one that stopped paging without its timer being stopped,
    and one whose timer another worker took over."""
    w.ack(opened.by_label["acked"])
    with w.db.unit_of_work() as s:
        s.execute(update(Incident).where(Incident.id == opened.by_label["paused"].id).values(status="acknowledged"))
        s.execute(
            update(Escalation)
            .where(Escalation.incident_id == opened.by_label["stale"].id)
            .values(fence=Escalation.fence + 1)
        )


def _without_incident(key: str, incident_id: int) -> str:
    prefix, incident, rest = key.split(":", 2)
    assert incident == str(incident_id)
    return f"{prefix}:#:{rest}"


def _record(w: World, opened: Opened, after_entry: int) -> dict[str, Any]:
    """What firing wrote, per incident label, with the incident's own id taken out of idempotency keys."""
    out: dict[str, Any] = {}
    with w.db.reader() as s:
        for label, incident in opened.by_label.items():
            entries = [
                (e.kind, e.source, e.actor, e.message, e.data)
                for e in incident_service.timeline(s, incident.id)
                if e.id > after_entry
            ]
            pages = [
                (
                    _without_incident(n.idempotency_key, incident.id),
                    n.kind,
                    n.user_id,
                    n.contact_method_id,
                    n.step_index,
                    n.cycle,
                    n.status,
                    n.next_attempt_at,
                    n.payload,
                )
                for n in notify.notifications_of(s, incident.id)
            ]
            esc = s.execute(select(Escalation).where(Escalation.incident_id == incident.id)).scalar_one()
            timer = (esc.status, esc.step_index, esc.cycle, esc.next_fire_at, esc.lease_owner, esc.lease_until)
            out[label] = {"timeline": entries, "pages": pages, "timer": timer}
        label_of = {i.id: label for label, i in opened.by_label.items()}
        order = s.execute(
            select(Notification.incident_id, Notification.user_id)
            .where(Notification.incident_id.in_(opened.ids()))
            .order_by(Notification.id)
        ).all()
        out["page order"] = [(label_of[i], u) for i, u in order if i is not None]
    return out


def _last_entry(w: World) -> int:
    with w.db.reader() as s:
        return int(s.execute(select(func.max(TimelineEntry.id))).scalar_one() or 0)


def test_a_batch_writes_what_firing_one_by_one_writes(db: Database, clock: FakeClock) -> None:
    w = World(db=db, clock=clock)
    _mixed_world(w)
    batched, single = _open(w, "a"), _open(w, "b")
    clock.advance(timedelta(seconds=5))
    claims = _claim_all(w)
    _disturb(w, batched)
    _disturb(w, single)
    marker = _last_entry(w)
    now = clock.now()
    with db.unit_of_work() as s:
        ran = escalation.fire_claimed_batch(s, [c for i, c in claims if i in batched.ids()], now=now)
    ran_alone = 0
    for i, c in claims:
        if i in single.ids():
            with db.unit_of_work() as s:
                ran_alone += escalation.fire_claimed(s, c, now=now)
    assert ran == ran_alone == len(LABELS) - 2  # the acknowledged one and the stale one were not ours any more
    got, expected = _record(w, batched, marker), _record(w, single, marker)
    for label in (*LABELS, "page order"):
        assert got[label] == expected[label], label


def test_a_mixed_batch_pages_each_target_as_configured(db: Database, clock: FakeClock) -> None:
    w = World(db=db, clock=clock)
    refs = _mixed_world(w)
    opened = _open(w, "a")
    claims = _claim_all(w)
    _disturb(w, opened)
    marker = _last_entry(w)
    with db.unit_of_work() as s:
        assert escalation.fire_claimed_batch(s, [c for _, c in claims], now=clock.now()) == len(LABELS) - 2
    got = _record(w, opened, marker)
    ids = {name: w.users[name].id for name in ("alice", "bob", "carol", "dave", "erin")}

    def paged(label: str) -> list[int]:
        return [p[2] for p in got[label]["pages"]]

    def said(label: str) -> list[tuple[str, str]]:
        return [(kind, message) for kind, _, _, message, _ in got[label]["timeline"]]

    done = ("escalation_done", "Escalation policy finished")
    assert paged("user") == [ids["alice"]]
    assert said("user") == [("escalated", "Step 1: notifying Alice"), done]
    # Both incidents on the schedule reach whoever is on call in it.
    assert paged("schedule-1") == paged("schedule-2") == [ids["bob"]]
    # Team members in email order, without the deactivated one.
    assert paged("team") == [ids["alice"], ids["erin"]]
    assert said("team") == [("escalated", "Step 1: notifying Alice, Erin"), done]
    assert said("empty-then-user") == [
        ("escalation_empty", f"Step 1: no one to notify: schedule:{refs['ended']} resolved to no users; moving on"),
        ("escalated", "Step 2: notifying Bob"),
        done,
    ]
    assert paged("empty-then-user") == [ids["bob"]]
    assert said("nobody") == [
        ("escalated", "Step 1: notifying Carol"),
        ("notify_fallback", "Carol has no notification rules; not notified"),
        ("escalation_empty", f"Step 2: no one to notify: user:{ids['dave']} resolved to no users; moving on"),
        done,
    ]
    assert paged("nobody") == []
    assert said("low") == [
        ("escalated", "Step 1: notifying Alice, Erin"),
        ("notify_fallback", "Alice has no low-urgency rules; not notified"),
        done,
    ]
    assert paged("low") == [ids["erin"]]
    # One step naming bob directly and through the schedule, and the team: each person is paged once.
    assert said("mixed") == [("escalated", "Step 1: notifying Bob, Alice, Erin")]
    assert paged("mixed") == [ids["bob"], ids["alice"], ids["erin"]]
    for label in ("user", "schedule-1", "schedule-2", "team", "low"):
        assert got[label]["timer"] == ("done", 0, 0, None, None, None), label
    assert got["empty-then-user"]["timer"] == ("done", 1, 0, None, None, None)
    assert got["mixed"]["timer"] == ("active", 0, 1, clock.now() + timedelta(seconds=120), None, None)
    assert got["acked"]["pages"] == []
    assert got["acked"]["timer"][0] == "stopped"
    assert got["paused"]["pages"] == []
    assert said("paused") == []
    assert got["paused"]["timer"][:4] == ("stopped", 0, 0, None)
    # Another worker's timer is left as it was: still leased, still due, nothing written.
    assert got["stale"]["pages"] == []
    assert said("stale") == []
    status, step, cycle, due, owner, _ = got["stale"]["timer"]
    assert (status, step, cycle, owner) == ("active", 0, 0, "test")
    assert due is not None


def test_a_schedule_shared_by_a_batch_is_worked_out_once(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = World(db=db, clock=clock)
    _mixed_world(w)
    first, second = w.trigger("by-schedule", "s1"), w.trigger("by-schedule", "s2")
    worked_out: list[datetime] = []

    def counted(cal: Any, at: datetime) -> tuple[str, ...]:
        worked_out.append(at)
        return real(cal, at)

    real = calculator.on_call_at
    monkeypatch.setattr(calculator, "on_call_at", counted)
    claims = _claim_all(w)
    with db.unit_of_work() as s:
        assert escalation.fire_claimed_batch(s, [c for _, c in claims], now=clock.now()) == 2
    assert worked_out == [clock.now()]
    with db.reader() as s:
        for incident in (first, second):
            assert [n.user_id for n in notify.notifications_of(s, incident.id)] == [w.users["bob"].id]


def _statements_to_fire(w: World, count: int) -> int:
    for n in range(count):
        w.trigger("mixed", f"{count}-{n}")
    claims = _claim_all(w)
    assert len(claims) == count
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(w.db.engine, "before_cursor_execute", note)
    try:
        with w.db.unit_of_work() as s:
            assert escalation.fire_claimed_batch(s, [c for _, c in claims], now=w.now()) == count
    finally:
        event.remove(w.db.engine, "before_cursor_execute", note)
    return len(seen)


def test_a_batch_costs_the_same_statements_whatever_its_size(db: Database, clock: FakeClock) -> None:
    # Each of these steps pages a user, a schedule and a team: one statement per kind of lookup, not per incident.
    w = World(db=db, clock=clock)
    _mixed_world(w)
    two = _statements_to_fire(w, 2)
    eight = _statements_to_fire(w, 8)
    assert two == eight
    # Incidents, escalations, users, schedules, layers, overrides, team members, names, rules, the three writes,
    # and the incident events of the batch (one executemany; on PostgreSQL with the NOTIFY that wakes their lane).
    assert eight <= (14 if db.is_sqlite else 15)


def test_on_call_for_many_schedules_matches_each_alone(db: Database, clock: FakeClock) -> None:
    w = World(db=db, clock=clock)
    refs = _mixed_world(w)
    now = clock.now()
    w.override(refs["primary"], "erin", now - timedelta(hours=1), now + timedelta(hours=1))
    later = now + timedelta(hours=2)
    with db.reader() as s:
        wanted = [refs["primary"], refs["ended"], 999_999]
        assert oncall.users_on_call_many(s, wanted, now) == {
            refs["primary"]: (str(w.users["erin"].id),),
            refs["ended"]: (),
            999_999: (),
        }
        assert oncall.users_on_call_many(s, wanted, later)[refs["primary"]] == (str(w.users["bob"].id),)
        for sid in wanted:
            for at in (now, later):
                assert oncall.users_on_call(s, sid, at) == oncall.users_on_call_many(s, [sid], at)[sid]
