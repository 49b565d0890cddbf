"""The escalation policy as it was when an incident started.

A running escalation reads only its snapshot, never the live policy, so editing a policy cannot reorder,
skip or repeat the steps of an incident that is already paging. ``to_json`` is what gets stored with the
escalation row; ``from_json`` reads it back and validates it again, because a row written by an older
version, or edited by hand, must fail loudly rather than page the wrong people.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal, cast, get_args

TargetKind = Literal["user", "schedule", "team"]
TARGET_KINDS: Final[tuple[str, ...]] = get_args(TargetKind)
MAX_REPEAT: Final = 9
# Bumped when the stored shape changes; from_json refuses versions it does not know.
FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Target:
    """Who a step pages: a user directly, whoever is on call in a schedule, or the members of a team."""

    kind: TargetKind
    ref: str

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ValueError(f"target kind must be one of {', '.join(TARGET_KINDS)}, not {self.kind!r}")
        if not isinstance(self.ref, str) or not self.ref.strip():
            raise ValueError(f"a {self.kind} target needs a non-empty ref")

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True, slots=True)
class Step:
    """One escalation level. ``delay`` is the wait after this step fires before the next one does."""

    targets: tuple[Target, ...]
    delay: timedelta

    def __post_init__(self) -> None:
        if isinstance(self.targets, list):
            # Lists are the natural literal in callers and tests; store a tuple so the step stays hashable.
            object.__setattr__(self, "targets", tuple(self.targets))
        if not isinstance(self.targets, tuple) or not self.targets:
            raise ValueError("an escalation step needs at least one target")
        for target in self.targets:
            if not isinstance(target, Target):
                raise ValueError(f"step targets must be Target values, not {type(target).__name__}")
        if not isinstance(self.delay, timedelta):
            raise ValueError(f"step delay must be a timedelta, not {type(self.delay).__name__}")
        if self.delay < timedelta(0):
            raise ValueError(f"step delay must be zero or more, not {self.delay}")


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """A frozen copy of an escalation policy.

    ``repeat`` is how many extra passes run after the first one: 0 runs the steps once, 2 runs them three
    times. ``policy_id`` is None for policies that only ever existed inside a snapshot (tests, ad-hoc pages).
    """

    policy_id: int | None
    name: str
    steps: tuple[Step, ...]
    repeat: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.steps, list):
            object.__setattr__(self, "steps", tuple(self.steps))
        if self.policy_id is not None and (isinstance(self.policy_id, bool) or not isinstance(self.policy_id, int)):
            raise ValueError(f"policy_id must be an int or None, not {self.policy_id!r}")
        if not isinstance(self.name, str):
            raise ValueError("policy name must be a string")
        if not isinstance(self.steps, tuple) or not self.steps:
            raise ValueError("an escalation policy needs at least one step")
        for step in self.steps:
            if not isinstance(step, Step):
                raise ValueError(f"policy steps must be Step values, not {type(step).__name__}")
        # bool is an int subclass; True as a repeat count is always a bug upstream.
        if isinstance(self.repeat, bool) or not isinstance(self.repeat, int):
            raise ValueError(f"repeat must be an int, not {self.repeat!r}")
        if not 0 <= self.repeat <= MAX_REPEAT:
            raise ValueError(f"repeat must be between 0 and {MAX_REPEAT}, not {self.repeat}")

    @property
    def cycles(self) -> int:
        """How many passes over the steps run in total."""
        return self.repeat + 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible mapping, for a JSON column."""
        return {
            "version": FORMAT_VERSION,
            "policy_id": self.policy_id,
            "name": self.name,
            "repeat": self.repeat,
            "steps": [
                {
                    "delay_seconds": _seconds(step.delay),
                    "targets": [{"kind": t.kind, "ref": t.ref} for t in step.targets],
                }
                for step in self.steps
            ],
        }

    def to_json(self) -> str:
        """Deterministic JSON text (sorted keys, no spaces), so equal snapshots store equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicySnapshot:
        if not isinstance(data, Mapping):
            raise ValueError("a policy snapshot must be a JSON object")
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported policy snapshot version {version!r} (expected {FORMAT_VERSION})")
        raw_steps = _field(data, "steps", list, "snapshot")
        steps = tuple(_step_from_dict(raw, i) for i, raw in enumerate(raw_steps))
        return cls(
            policy_id=data.get("policy_id"),
            name=_field(data, "name", str, "snapshot"),
            steps=steps,
            repeat=_field(data, "repeat", int, "snapshot"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PolicySnapshot:
        """Parse and validate; every problem is a ValueError (json.JSONDecodeError is one too)."""
        return cls.from_dict(json.loads(text))


def _seconds(delay: timedelta) -> int | float:
    # Whole seconds stay integers so the stored text reads naturally ("300", not "300.0").
    micros = delay // timedelta(microseconds=1)
    return micros // 1_000_000 if micros % 1_000_000 == 0 else micros / 1_000_000


def _field(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ValueError(f"{where} is missing {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where} field {key!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _step_from_dict(raw: Any, index: int) -> Step:
    where = f"step {index}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a JSON object")
    delay = raw.get("delay_seconds")
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise ValueError(f"{where} needs a numeric 'delay_seconds'")
    targets = []
    for t in _field(raw, "targets", list, where):
        if not isinstance(t, Mapping):
            raise ValueError(f"{where} targets must be JSON objects")
        targets.append(Target(kind=cast(TargetKind, t.get("kind")), ref=_field(t, "ref", str, f"{where} target")))
    try:
        return Step(targets=tuple(targets), delay=timedelta(seconds=delay))
    except (ValueError, OverflowError) as exc:  # NaN and Infinity are valid JSON to Python's parser
        raise ValueError(f"{where}: {exc}") from None


__all__ = ["FORMAT_VERSION", "MAX_REPEAT", "TARGET_KINDS", "PolicySnapshot", "Step", "Target", "TargetKind"]
