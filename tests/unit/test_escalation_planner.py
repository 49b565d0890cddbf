from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.escalation.planner import (
    Action,
    EmptyStep,
    EscalationFinished,
    EscalationState,
    NotifyTargets,
    due,
    escalate_now,
    initial_state,
    start,
)
from tocsin.escalation.snapshot import PolicySnapshot, Step, Target

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

ALICE = Target("user", "alice")
BOB = Target("user", "bob")
CAROL = Target("user", "carol")
PRIMARY = Target("schedule", "primary")
DBTEAM = Target("team", "db")


def resolver(
    mapping: dict[Target, tuple[str, ...]] | None = None,
) -> Callable[[Target, datetime], tuple[str, ...]]:
    """Users resolve to themselves; schedules and teams to whatever ``mapping`` says (nobody by default)."""
    table = mapping or {}

    def resolve(target: Target, _now: datetime) -> tuple[str, ...]:
        if target in table:
            return table[target]
        return (target.ref,) if target.kind == "user" else ()

    return resolve


def policy(*delays_minutes: int, repeat: int = 0, targets: list[Target] | None = None) -> PolicySnapshot:
    people = targets or [ALICE, BOB, CAROL, Target("user", "dave")]
    steps = tuple(Step((people[i],), timedelta(minutes=d)) for i, d in enumerate(delays_minutes))
    return PolicySnapshot(policy_id=1, name="web", steps=steps, repeat=repeat)


def fired(actions: list[Action]) -> list[tuple[str, int, int]]:
    return [(type(a).__name__, a.step_index, a.cycle) for a in actions]


# -- timing -------------------------------------------------------------------------------------------


def test_start_fires_step_zero_at_once_and_schedules_step_one_after_its_delay() -> None:
    state, actions = start(policy(5, 10), T0, resolver())
    assert actions == [NotifyTargets(0, 0, (ALICE,), ("alice",))]
    assert state == EscalationState(step_index=1, cycle=0, next_fire_at=T0 + 5 * MIN, done=False)


def test_due_before_time_does_nothing() -> None:
    snap = policy(5, 10)
    state, _ = start(snap, T0, resolver())
    same, actions = due(snap, state, T0 + 5 * MIN - timedelta(microseconds=1), resolver())
    assert actions == []
    assert same is state


def test_steps_fire_at_their_delays_and_the_last_step_ends_the_escalation() -> None:
    snap = policy(5, 10, 15)
    state, _ = start(snap, T0, resolver())
    state, actions = due(snap, state, T0 + 5 * MIN, resolver())
    assert actions == [NotifyTargets(1, 0, (BOB,), ("bob",))]
    assert state.next_fire_at == T0 + 15 * MIN
    state, actions = due(snap, state, T0 + 15 * MIN, resolver())
    assert actions == [NotifyTargets(2, 0, (CAROL,), ("carol",))]
    # The last step's delay is not waited out when no cycle follows.
    assert state == EscalationState(step_index=2, cycle=0, next_fire_at=None, done=True)
    assert due(snap, state, T0 + 999 * MIN, resolver()) == (state, [])


def test_repeat_runs_the_whole_policy_again_after_the_last_steps_delay() -> None:
    snap = policy(5, 7, repeat=2)
    resolve = resolver()
    state, actions = start(snap, T0, resolve)
    log = [(T0, fired(actions))]
    while not state.done:
        assert state.next_fire_at is not None
        now = state.next_fire_at
        state, actions = due(snap, state, now, resolve)
        log.append((now, fired(actions)))
    assert log == [
        (T0, [("NotifyTargets", 0, 0)]),
        (T0 + 5 * MIN, [("NotifyTargets", 1, 0)]),
        (T0 + 12 * MIN, [("NotifyTargets", 0, 1)]),
        (T0 + 17 * MIN, [("NotifyTargets", 1, 1)]),
        (T0 + 24 * MIN, [("NotifyTargets", 0, 2)]),
        (T0 + 29 * MIN, [("NotifyTargets", 1, 2)]),
    ]
    assert (state.step_index, state.cycle) == (1, 2)


def test_single_step_without_repeat_is_done_after_start() -> None:
    state, actions = start(policy(5), T0, resolver())
    assert fired(actions) == [("NotifyTargets", 0, 0)]
    assert state.done
    assert state.next_fire_at is None


def test_zero_delay_chains_steps_inside_one_call() -> None:
    state, actions = start(policy(0, 0, 3), T0, resolver())
    assert fired(actions) == [("NotifyTargets", 0, 0), ("NotifyTargets", 1, 0), ("NotifyTargets", 2, 0)]
    assert state.done


def test_initial_state_lets_the_engine_fire_step_zero() -> None:
    snap = policy(5, 10)
    state, actions = due(snap, initial_state(T0), T0, resolver())
    assert fired(actions) == [("NotifyTargets", 0, 0)]
    assert state.next_fire_at == T0 + 5 * MIN


def test_users_reached_through_several_targets_are_paged_once_per_step() -> None:
    snap = PolicySnapshot(None, "p", (Step((PRIMARY, ALICE, DBTEAM), MIN),))
    _, actions = start(snap, T0, resolver({PRIMARY: ("alice", "bob"), DBTEAM: ("bob", "erin")}))
    assert actions == [NotifyTargets(0, 0, (PRIMARY, ALICE, DBTEAM), ("alice", "bob", "erin"))]


def test_targets_are_resolved_at_the_fire_time() -> None:
    seen: list[datetime] = []

    def resolve(target: Target, now: datetime) -> tuple[str, ...]:
        seen.append(now)
        return (target.ref,)

    snap = policy(5, 10)
    state, _ = start(snap, T0, resolve)
    due(snap, state, T0 + 6 * MIN, resolve)
    assert seen == [T0, T0 + 6 * MIN]


# -- escalate_now -------------------------------------------------------------------------------------


def test_escalate_now_fires_the_next_step_immediately_and_restarts_the_clock_from_now() -> None:
    snap = policy(30, 10, 5)
    state, _ = start(snap, T0, resolver())
    state, actions = escalate_now(snap, state, T0 + 2 * MIN, resolver())
    assert actions == [NotifyTargets(1, 0, (BOB,), ("bob",))]
    assert state == EscalationState(2, 0, T0 + 12 * MIN, False)
    # Step 2 now waits for bob's 10 minutes counted from the escalation, not from the original schedule.
    assert due(snap, state, T0 + 12 * MIN - timedelta(seconds=1), resolver())[1] == []
    assert fired(due(snap, state, T0 + 12 * MIN, resolver())[1]) == [("NotifyTargets", 2, 0)]


def test_escalate_now_past_the_last_step_wraps_into_the_next_cycle() -> None:
    snap = policy(30, 10, repeat=1)
    state, _ = start(snap, T0, resolver())
    state, _ = escalate_now(snap, state, T0 + MIN, resolver())
    assert (state.step_index, state.cycle) == (0, 1)
    state, actions = escalate_now(snap, state, T0 + 2 * MIN, resolver())
    assert fired(actions) == [("NotifyTargets", 0, 1)]


def test_escalate_now_when_done_raises() -> None:
    snap = policy(30)
    state, _ = start(snap, T0, resolver())
    with pytest.raises(EscalationFinished):
        escalate_now(snap, state, T0 + MIN, resolver())


# -- empty steps --------------------------------------------------------------------------------------


def test_empty_schedule_falls_through_to_the_next_step_at_once() -> None:
    snap = PolicySnapshot(1, "p", (Step((PRIMARY,), 10 * MIN), Step((BOB,), 5 * MIN), Step((CAROL,), MIN)))
    state, actions = start(snap, T0, resolver({PRIMARY: ()}))
    assert len(actions) == 2
    assert isinstance(actions[0], EmptyStep)
    assert (actions[0].step_index, actions[0].cycle) == (0, 0)
    assert "schedule:primary" in actions[0].reason
    assert actions[1] == NotifyTargets(1, 0, (BOB,), ("bob",))
    # The empty step's own 10 minutes are skipped; step 2 follows bob's 5 minutes.
    assert state == EscalationState(2, 0, T0 + 5 * MIN, False)


def test_empty_last_step_with_repeat_falls_through_to_the_next_cycle() -> None:
    snap = PolicySnapshot(1, "p", (Step((ALICE,), 5 * MIN), Step((PRIMARY,), 30 * MIN)), repeat=1)
    state, _ = start(snap, T0, resolver())
    state, actions = due(snap, state, T0 + 5 * MIN, resolver())
    assert fired(actions) == [("EmptyStep", 1, 0), ("NotifyTargets", 0, 1)]
    assert state == EscalationState(1, 1, T0 + 10 * MIN, False)


def test_policy_where_every_step_is_empty_stops_after_one_pass() -> None:
    snap = PolicySnapshot(
        1, "p", (Step((PRIMARY,), MIN), Step((DBTEAM,), MIN), Step((Target("schedule", "x"),), MIN)), repeat=9
    )
    state, actions = start(snap, T0, resolver())
    assert fired(actions) == [("EmptyStep", 0, 0), ("EmptyStep", 1, 0), ("EmptyStep", 2, 0)]
    assert state.done
    assert state.next_fire_at is None


def test_all_empty_pass_spanning_a_cycle_boundary_also_stops() -> None:
    # Alice is on the schedule only at the start; later every step is empty.
    def resolve(target: Target, now: datetime) -> tuple[str, ...]:
        return ("alice",) if now == T0 else ()

    snap = PolicySnapshot(1, "p", (Step((PRIMARY,), MIN), Step((DBTEAM,), MIN)), repeat=5)
    state, _ = start(snap, T0, resolve)
    state, actions = due(snap, state, T0 + MIN, resolve)
    assert fired(actions) == [("EmptyStep", 1, 0), ("EmptyStep", 0, 1)]
    assert state.done


# -- lateness -----------------------------------------------------------------------------------------


def test_late_call_fires_the_due_step_once_and_schedules_from_the_actual_fire_time() -> None:
    snap = policy(5, 5, 5, repeat=1)
    state, _ = start(snap, T0, resolver())
    late = T0 + 3 * 60 * MIN  # worker down for three hours: steps 1, 2 and the next cycle were all "due"
    state, actions = due(snap, state, late, resolver())
    assert fired(actions) == [("NotifyTargets", 1, 0)]
    assert state == EscalationState(2, 0, late + 5 * MIN, False)
    assert due(snap, state, late, resolver()) == (state, [])


def test_calling_due_twice_with_the_same_now_does_not_double_fire() -> None:
    snap = policy(5, 5)
    state, _ = start(snap, T0, resolver())
    state, first = due(snap, state, T0 + 5 * MIN, resolver())
    again, second = due(snap, state, T0 + 5 * MIN, resolver())
    assert len(first) == 1
    assert second == []
    assert again is state


# -- guards -------------------------------------------------------------------------------------------


def test_state_outside_the_snapshot_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the snapshot"):
        due(policy(5), EscalationState(3, 0, T0, False), T0, resolver())


def test_state_invariants() -> None:
    with pytest.raises(ValueError, match="next_fire_at"):
        EscalationState(0, 0, None, False)
    with pytest.raises(ValueError, match="next_fire_at"):
        EscalationState(0, 0, T0, True)
    with pytest.raises(ValueError, match="timezone-aware"):
        EscalationState(0, 0, datetime(2026, 1, 1), False)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        start(policy(5), datetime(2026, 1, 1), resolver())


# -- snapshot ------------------------------------------------------------------------------------------


def test_snapshot_json_round_trip() -> None:
    snap = PolicySnapshot(
        policy_id=42,
        name="Datenbank — nachts",
        steps=(
            Step((ALICE, PRIMARY), timedelta(minutes=5)),
            Step((DBTEAM,), timedelta(seconds=90, milliseconds=250)),
            Step((BOB,), timedelta(0)),
        ),
        repeat=3,
    )
    text = snap.to_json()
    assert PolicySnapshot.from_json(text) == snap
    assert PolicySnapshot.from_json(text.encode()) == snap
    assert PolicySnapshot.from_dict(json.loads(text)) == snap
    assert json.loads(text)["steps"][0]["delay_seconds"] == 300
    # Lists are accepted for convenience and stored as tuples, so the snapshot stays hashable.
    from_lists = PolicySnapshot(None, "", [Step([ALICE], MIN)])  # type: ignore[arg-type]
    assert from_lists == PolicySnapshot(None, "", (Step((ALICE,), MIN),))
    hash(from_lists)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PolicySnapshot(1, "p", ()), "at least one step"),
        (lambda: Step((), MIN), "at least one target"),
        (lambda: Step((ALICE,), timedelta(seconds=-1)), "zero or more"),
        (lambda: PolicySnapshot(1, "p", (Step((ALICE,), MIN),), repeat=10), "between 0 and 9"),
        (lambda: PolicySnapshot(1, "p", (Step((ALICE,), MIN),), repeat=-1), "between 0 and 9"),
        (lambda: PolicySnapshot(1, "p", (Step((ALICE,), MIN),), repeat=True), "repeat must be an int"),
        (lambda: Target("group", "x"), "target kind"),  # type: ignore[arg-type]
        (lambda: Target("user", " "), "non-empty ref"),
    ],
)
def test_snapshot_validation(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def _stored(**changes: object) -> str:
    data = PolicySnapshot(1, "p", (Step((ALICE,), MIN),), repeat=1).to_dict()
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "Expecting value"),
        ("[]", "JSON object"),
        (_stored(version=2), "unsupported policy snapshot version"),
        (_stored(steps=[]), "at least one step"),
        (_stored(repeat=12), "between 0 and 9"),
        (_stored(steps=[{"delay_seconds": 60, "targets": []}]), "step 0: an escalation step needs"),
        (
            _stored(steps=[{"delay_seconds": -5, "targets": [{"kind": "user", "ref": "a"}]}]),
            "step 0: step delay",
        ),
        (
            _stored(steps=[{"delay_seconds": "60", "targets": [{"kind": "user", "ref": "a"}]}]),
            "delay_seconds",
        ),
        (_stored(steps=[{"delay_seconds": 1, "targets": [{"kind": "robot", "ref": "a"}]}]), "target kind"),
        ('{"version":1,"name":"p","repeat":0,"steps":[{"delay_seconds":Infinity,"targets":[]}]}', "step 0"),
    ],
)
def test_snapshot_from_json_rejects_bad_rows(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolicySnapshot.from_json(text)


# -- property: simulated time -------------------------------------------------------------------------

TARGET_POOL = (ALICE, BOB, PRIMARY, DBTEAM, Target("schedule", "nights"))


@st.composite
def snapshots(draw: st.DrawFn) -> PolicySnapshot:
    steps = draw(
        st.lists(
            st.builds(
                Step,
                st.lists(st.sampled_from(TARGET_POOL), min_size=1, max_size=3).map(tuple),
                st.sampled_from([0, 1, 30, 300, 1800]).map(lambda s: timedelta(seconds=s)),
            ),
            min_size=1,
            max_size=5,
        )
    )
    return PolicySnapshot(None, "prop", tuple(steps), repeat=draw(st.integers(0, 3)))


@st.composite
def rotations(draw: st.DrawFn) -> Callable[[Target, datetime], tuple[str, ...]]:
    """Who is on call changes every minute: each target gets one roster per minute parity."""
    roster = st.sampled_from([(), ("u1",), ("u1", "u2")])
    rosters: dict[Target, tuple[tuple[str, ...], tuple[str, ...]]] = {
        t: draw(st.tuples(roster, roster)) for t in TARGET_POOL
    }

    def resolve(target: Target, now: datetime) -> tuple[str, ...]:
        return rosters[target][int(now.timestamp() // 60) % 2]

    return resolve


@settings(max_examples=300, deadline=None)
@given(
    snap=snapshots(),
    resolve=rotations(),
    calls=st.lists(st.tuples(st.sampled_from(["poll", "poll", "poll", "escalate"]), st.integers(0, 4000)), max_size=40),
)
def test_simulated_escalation_fires_each_step_once_in_order_and_never_early(
    snap: PolicySnapshot,
    resolve: Callable[[Target, datetime], tuple[str, ...]],
    calls: list[tuple[str, int]],
) -> None:
    walk = [(s, c) for c in range(snap.cycles) for s in range(len(snap.steps))]
    processed: list[tuple[int, int]] = []
    empty: list[bool] = []
    now = T0
    state, actions = start(snap, now, resolve)

    def record(before: EscalationState | None, after: EscalationState, acts: list[Action], forced: bool) -> None:
        if acts and before is not None and not forced:
            assert before.next_fire_at is not None
            assert before.next_fire_at <= now, "fired before its time"
        if before is not None and acts:
            assert (acts[0].step_index, acts[0].cycle) == (before.step_index, before.cycle)
        processed.extend((a.step_index, a.cycle) for a in acts)
        empty.extend(isinstance(a, EmptyStep) for a in acts)
        assert after.done or (after.next_fire_at is not None and after.next_fire_at > now)
        notified = [a for a in acts if isinstance(a, NotifyTargets)]
        assert all(a.user_ids for a in notified)
        if not after.done and acts:
            last = acts[-1]
            # The pending step waits exactly the delay of the last step that paged someone, from now.
            assert isinstance(last, NotifyTargets)
            assert after.next_fire_at == now + snap.steps[last.step_index].delay

    record(None, state, actions, forced=True)
    for kind, gap in calls:
        now += timedelta(seconds=gap)
        before = state
        if kind == "escalate" and not state.done:
            state, actions = escalate_now(snap, state, now, resolve)
        else:
            state, actions = due(snap, state, now, resolve)
        record(before, state, actions, forced=kind == "escalate")

    # Let the worker run until the escalation ends; it must end within the walk's length.
    for _ in range(len(walk) + 1):
        if state.done:
            break
        assert state.next_fire_at is not None
        now = state.next_fire_at + timedelta(seconds=7)
        before = state
        state, actions = due(snap, state, now, resolve)
        record(before, state, actions, forced=False)
    assert state.done

    # Processed positions are a prefix of the walk: in order, no repeats, none skipped.
    assert processed == walk[: len(processed)]
    if len(processed) < len(walk):
        # Stopping early is allowed only through the all-empty guard.
        assert len(processed) >= len(snap.steps)
        assert all(empty[-len(snap.steps) :])
    assert (state.step_index, state.cycle) == processed[-1]
