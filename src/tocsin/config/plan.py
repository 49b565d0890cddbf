"""What an apply does, object by object: created, updated (with the fields that change) or unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "unchanged", "archive", "deactivate", "disable", "delete"]
_MARK = {
    "create": "+",
    "update": "~",
    "unchanged": "=",
    "archive": "-",
    "deactivate": "-",
    "disable": "-",
    "delete": "-",
}
NOT_DELETED = "Objects that exist in Tocsin but not in the file are kept: apply never deletes."
PRUNED = (
    "With --prune, what the file no longer names is archived (users deactivated, teams deleted, contact methods "
    "disabled once paged); history stays."
)
_REMOVALS: tuple[Action, ...] = ("archive", "deactivate", "disable", "delete")


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    key: str
    action: Action
    fields: tuple[str, ...] = ()

    def line(self) -> str:
        detail = f" ({'; '.join(self.fields)})" if self.fields else ""
        return f"  {_MARK[self.action]} {self.action:<9} {self.kind} {self.key}{detail}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "action": self.action, "fields": list(self.fields)}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    prune: bool = False

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def find(self, kind: str, key: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind and c.key == key), None)

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def summary(self) -> str:
        counts = (
            f"{self.count('create')} to create, {self.count('update')} to update, {self.count('unchanged')} unchanged"
        )
        if self.prune:
            removed = sum(self.count(a) for a in _REMOVALS)
            counts += f", {removed} to archive, deactivate, disable or delete"
        return f"Plan: {counts}." + (" Dry run: nothing was written." if self.dry_run else "")

    def lines(self) -> list[str]:
        return [c.line() for c in self.changes] + [self.summary(), PRUNED if self.prune else NOT_DELETED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changes": [c.as_dict() for c in self.changes],
            "counts": {a: self.count(a) for a in ("create", "update", "unchanged", *(_REMOVALS if self.prune else ()))},
            "deletes": "archives what the file no longer names" if self.prune else "never",
        }


def describe(field_name: str, old: Any, new: Any) -> str:
    """A changed field as people read it: scalars with their old and new value, collections by name only."""
    if isinstance(old, list | tuple | set | dict) or isinstance(new, list | tuple | set | dict):
        return field_name
    return f"{field_name}: {_show(old)} → {_show(new)}"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(value)
    return str(value)
