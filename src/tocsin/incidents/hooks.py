"""What the domains above incidents do, in the same transaction, when an incident opens or changes.

``incidents`` sits below ``alerts``, ``escalation`` and ``notify`` (ADR 0010) and may not import them, yet paging
has to follow every status change at once: an acknowledgement stops the escalation and cancels pending pages, a
re-trigger starts the policy over, chat messages already sent are edited. Those packages register their reactions
here, from one place that every process and the tests load (``tocsin.registry``), which then seals the registry.

A use case that needs the hooks before they are sealed raises ``HooksMissing`` instead of carrying on: paging must
never go on silently because the reaction that stops it was not registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.repository import OpenedIncident
from tocsin.incidents.schemas import Actor, TypeDefaults


class HooksMissing(RuntimeError):
    """The incident hooks were used before the composition (``tocsin.registry``) registered and sealed them."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move through the status table, handed to every status reaction after its timeline entry is written."""

    incident: Incident
    previous: IncidentStatus
    target: IncidentStatus
    actor: Actor
    now: datetime
    # Set by "escalate now": the caller pages the next step itself, so paging must not start the policy over.
    escalating_by_hand: bool = False


# Called once per batch of opened incidents (the ingest path opens many per transaction): keep them set-wise.
OnOpened = Callable[[Session, Sequence[OpenedIncident], datetime], None]
OnStatusChange = Callable[[Session, StatusChange], None]
# A person resolved the incident (the ``resolve`` use case): its open alerts are resolved with it.
OnResolvedByHand = Callable[[Session, Incident, datetime], None]
# A milestone was corrected by hand (``edit_milestone``): its name; the incident already holds the new time.
OnMilestoneEdited = Callable[[Session, Incident, str, datetime], None]


class Paging(Protocol):
    """What the incident use cases ask of the paging domain directly (escalate now, reassign)."""

    def fire_now(self, session: Session, incident: Incident, *, actor: Actor, now: datetime) -> None: ...

    def restart(self, session: Session, incident: Incident, *, now: datetime) -> None: ...

    def retarget_to_user(self, session: Session, incident: Incident, user_id: int, *, now: datetime) -> None: ...

    def retarget_to_policy(self, session: Session, incident: Incident, policy_id: int, *, now: datetime) -> str: ...


class TypeBook(Protocol):
    """The incident types, as the incident use cases read them (kept by ``response.types``; ADR 0021)."""

    def find(self, session: Session, name: str) -> TypeDefaults | None: ...

    def of_id(self, session: Session, type_id: int) -> TypeDefaults | None: ...

    def names(self, session: Session) -> list[str]: ...

    def silent_ids(self, session: Session) -> list[int]:
        """Ids of the types that do not page."""
        ...


@dataclass(slots=True)
class Hooks:
    """The registry. Reactions run in the order they were registered."""

    on_opened: list[OnOpened] = field(default_factory=list)
    on_status_change: list[OnStatusChange] = field(default_factory=list)
    on_resolved_by_hand: list[OnResolvedByHand] = field(default_factory=list)
    on_milestone_edited: list[OnMilestoneEdited] = field(default_factory=list)
    paging: Paging | None = None
    # Optional: without it no type is known and every incident behaves as Standard.
    types: TypeBook | None = None
    sealed: bool = False

    def register(
        self,
        *,
        on_opened: Sequence[OnOpened] = (),
        on_status_change: Sequence[OnStatusChange] = (),
        on_resolved_by_hand: Sequence[OnResolvedByHand] = (),
        on_milestone_edited: Sequence[OnMilestoneEdited] = (),
        paging: Paging | None = None,
        types: TypeBook | None = None,
    ) -> None:
        if self.sealed:
            raise HooksMissing("the incident hooks are sealed; register them in tocsin.registry")
        self.on_opened.extend(on_opened)
        self.on_status_change.extend(on_status_change)
        self.on_resolved_by_hand.extend(on_resolved_by_hand)
        self.on_milestone_edited.extend(on_milestone_edited)
        if paging is not None:
            self.paging = paging
        if types is not None:
            self.types = types

    def seal(self) -> None:
        """Close registration; refuses a registry that could not stop paging."""
        missing = [
            name
            for name, present in (
                ("on_opened", bool(self.on_opened)),
                ("on_status_change", bool(self.on_status_change)),
                ("paging", self.paging is not None),
            )
            if not present
        ]
        if missing:
            raise HooksMissing(f"incident hooks missing: {', '.join(missing)}")
        self.sealed = True

    def ready(self) -> Hooks:
        if not self.sealed:
            raise HooksMissing("incident hooks not installed: import tocsin.registry before changing incidents")
        return self

    def opened(self, session: Session, incidents: Sequence[OpenedIncident], now: datetime) -> None:
        for react in self.ready().on_opened:
            react(session, incidents, now)

    def status_changed(self, session: Session, change: StatusChange) -> None:
        for react in self.ready().on_status_change:
            react(session, change)

    def resolved_by_hand(self, session: Session, incident: Incident, now: datetime) -> None:
        for react in self.ready().on_resolved_by_hand:
            react(session, incident, now)

    def milestone_edited(self, session: Session, incident: Incident, name: str, now: datetime) -> None:
        for react in self.ready().on_milestone_edited:
            react(session, incident, name, now)

    def pager(self) -> Paging:
        paging = self.ready().paging
        assert paging is not None  # seal() refuses a registry without it
        return paging


HOOKS = Hooks()
