"""Loading, validating and caching the routing and noise-reduction rules.

Rules are compiled once per version: every change writes a new version token, and the ingest path compares
one token per batch with its cached copy, so evaluating rules costs no query per rule or per alert.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts import noise_repository as repo
from tocsin.alerts.noise_models import EventRuleRow, GroupingRuleRow, InhibitRuleRow, SilenceRow
from tocsin.alerts.rules.flapping import FlapPolicy, compile_flapping
from tocsin.alerts.rules.grouping import GroupingRule, compile_grouping
from tocsin.alerts.rules.inhibition import InhibitRule, compile_inhibit
from tocsin.alerts.rules.matchers import RuleError, compile_matchers
from tocsin.alerts.rules.priority_matrix import MajorCriteria, PriorityMatrix, compile_major, compile_matrix
from tocsin.alerts.rules.routing import EventRule, compile_rule
from tocsin.alerts.rules.ruleset import RuleSet
from tocsin.alerts.rules.silences import Silence, make_silence
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.services import repository as service_repo

log = logging.getLogger(__name__)

PRIORITY_MATRIX = "priority_matrix"
MAJOR = "major_incident"
FLAPPING = "flapping"

_lock = threading.Lock()
_cache: dict[str, RuleSet] = {}


def _cache_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def bump(session: Session, now: datetime) -> None:
    """Every rule change calls this: the next batch of every process compiles the rules afresh."""
    repo.put_setting(session, repo.VERSION, {"token": uuid.uuid4().hex}, now)


def ruleset(session: Session, now: datetime) -> RuleSet:
    token = repo.version(session)
    key = _cache_key(session)
    cached = _cache.get(key)
    if cached is not None and cached.version == token:
        return cached
    compiled = compile_all(session, token, now)
    with _lock:
        _cache[key] = compiled
    return compiled


def _invalid(what: str, exc: RuleError) -> InvalidInput:
    return InvalidInput(f"{what}: {exc}", errors=[str(exc)])


def compile_all(session: Session, token: str, now: datetime) -> RuleSet:
    """Compile every stored rule. A rule that no longer compiles (its service was deleted) is skipped with a
    warning: the ingest path never refuses an event because of a rule."""
    service_ids = repo.service_ids_by_name(session)
    chains: dict[int | None, list[EventRule]] = {}
    for row in repo.event_rules(session):
        if not row.enabled:
            continue
        try:
            rule = _event_rule(row, service_ids)
        except RuleError as exc:
            log.warning("event rule %r skipped: %s", row.name, exc)
            continue
        chains.setdefault(row.integration_id, []).append(rule)
    inhibit: list[InhibitRule] = []
    for irow in repo.inhibit_rules(session):
        try:
            inhibit.append(compile_inhibit(irow.name, irow.source_matchers, irow.target_matchers, irow.equal))
        except RuleError as exc:
            log.warning("inhibit rule %r skipped: %s", irow.name, exc)
    silences: list[Silence] = []
    for srow in repo.live_silences(session, now):
        try:
            silences.append(compile_silence(srow))
        except RuleError as exc:
            log.warning("silence %d skipped: %s", srow.id, exc)
    grouping: dict[int, GroupingRule] = {}
    for grow in repo.grouping_rules(session):
        grouping[grow.service_id] = _grouping(grow)
    return RuleSet(
        version=token,
        event_rules={k: tuple(v) for k, v in chains.items()},
        inhibit_rules=tuple(inhibit),
        silences=tuple(silences),
        grouping=grouping,
        matrix=_setting(session, PRIORITY_MATRIX, compile_matrix),
        major=_setting(session, MAJOR, compile_major),
        flapping=_setting(session, FLAPPING, compile_flapping),
    )


def _setting(session: Session, name: str, compile_fn: Any) -> Any:
    value = repo.setting(session, name)
    if value is None:
        return None
    try:
        return compile_fn(value)
    except RuleError as exc:
        log.warning("setting %s skipped: %s", name, exc)
        return None


def _event_rule(row: EventRuleRow, service_ids: Mapping[str, int]) -> EventRule:
    return compile_rule(
        name=row.name,
        matchers=row.matchers,
        actions=row.actions,
        service_ids=service_ids,
        integration_id=row.integration_id,
        position=row.position,
    )


def compile_silence(row: SilenceRow) -> Silence:
    return make_silence(
        id=row.id,
        matchers=compile_matchers(row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        service_id=row.service_id,
        recurrence=row.recurrence,
        duration=timedelta(seconds=row.duration_seconds) if row.duration_seconds else None,
    )


def _grouping(row: GroupingRuleRow) -> GroupingRule:
    return GroupingRule(
        service_id=row.service_id,
        group_by=tuple(row.group_by),
        window=timedelta(seconds=row.window_seconds),
        by_content=row.by_content,
        threshold=row.threshold,
    )


# --- event rules ------------------------------------------------------------------------------------------------


def _integration_id(session: Session, integration_key: str | None) -> int | None:
    if integration_key is None:
        return None
    integration = service_repo.integration_by_key(session, integration_key)
    if integration is None:
        raise InvalidInput(f"unknown integration key {integration_key!r}")
    return integration.id


def validate_event_rule(session: Session, *, name: str, matchers: Any, actions: Any) -> EventRule:
    try:
        return compile_rule(
            name=name, matchers=matchers, actions=actions, service_ids=repo.service_ids_by_name(session)
        )
    except RuleError as exc:
        raise _invalid(f"event rule {name!r}", exc) from None


def list_event_rules(session: Session) -> list[EventRuleRow]:
    return repo.event_rules(session)


def get_event_rule(session: Session, name: str) -> EventRuleRow:
    row = repo.event_rule_by_name(session, name)
    if row is None:
        raise NotFound(f"event rule {name!r} not found")
    return row


def put_event_rule(
    session: Session,
    *,
    name: str,
    matchers: Sequence[Mapping[str, Any]],
    actions: Mapping[str, Any],
    now: datetime,
    integration_key: str | None = None,
    position: int | None = None,
    enabled: bool = True,
) -> EventRuleRow:
    """Create or replace the rule of this name; refused with a message naming the rule if it cannot compile."""
    validate_event_rule(session, name=name, matchers=matchers, actions=actions)
    integration_id = _integration_id(session, integration_key)
    row = repo.event_rule_by_name(session, name)
    if position is None:
        position = row.position if row is not None else len(repo.event_rules(session))
    fresh = row is None
    if row is None:
        row = EventRuleRow(name=name, created_at=now)
    row.integration_id = integration_id
    row.position = position
    row.matchers = [dict(m) for m in matchers]
    row.actions = dict(actions)
    row.enabled = enabled
    row.updated_at = now
    if fresh:
        repo.add_row(session, row)
    bump(session, now)
    return row


def delete_event_rule(session: Session, name: str, *, now: datetime) -> None:
    repo.delete_row(session, get_event_rule(session, name))
    bump(session, now)


# --- inhibit rules ----------------------------------------------------------------------------------------------


def put_inhibit_rule(
    session: Session, *, name: str, source: Any, target: Any, equal: Any, now: datetime
) -> InhibitRuleRow:
    try:
        compile_inhibit(name, source, target, equal)
    except RuleError as exc:
        raise _invalid(f"inhibit rule {name!r}", exc) from None
    row = repo.inhibit_rule_by_name(session, name)
    fresh = row is None
    if row is None:
        row = InhibitRuleRow(name=name, created_at=now)
    row.source_matchers = [dict(m) for m in source]
    row.target_matchers = [dict(m) for m in target]
    row.equal = list(equal)
    if fresh:
        repo.add_row(session, row)
    bump(session, now)
    return row


def list_inhibit_rules(session: Session) -> list[InhibitRuleRow]:
    return repo.inhibit_rules(session)


def delete_inhibit_rule(session: Session, name: str, *, now: datetime) -> None:
    row = repo.inhibit_rule_by_name(session, name)
    if row is None:
        raise NotFound(f"inhibit rule {name!r} not found")
    repo.delete_row(session, row)
    bump(session, now)


# --- settings: priority matrix, major incidents, flapping, grouping ---------------------------------------------


def _put_named(session: Session, name: str, value: dict[str, Any] | None, compile_fn: Any, now: datetime) -> None:
    if value is not None:
        try:
            compile_fn(value)
        except RuleError as exc:
            raise _invalid(name.replace("_", " "), exc) from None
    repo.put_setting(session, name, value, now)
    bump(session, now)


def set_priority_matrix(session: Session, value: dict[str, Any] | None, *, now: datetime) -> None:
    _put_named(session, PRIORITY_MATRIX, value, compile_matrix, now)


def set_major_criteria(session: Session, value: dict[str, Any] | None, *, now: datetime) -> None:
    _put_named(session, MAJOR, value, compile_major, now)


def set_flapping(session: Session, value: dict[str, Any] | None, *, now: datetime) -> None:
    _put_named(session, FLAPPING, value, compile_flapping, now)


_COMPILERS: dict[str, Any] = {PRIORITY_MATRIX: compile_matrix, MAJOR: compile_major, FLAPPING: compile_flapping}


def canonical_setting(name: str, value: dict[str, Any]) -> dict[str, Any]:
    """The setting as ``settings`` shows it once stored, so that a file and the database compare equal."""
    try:
        compiled = _COMPILERS[name](value)
    except RuleError as exc:
        raise _invalid(name.replace("_", " "), exc) from None
    result: dict[str, Any] = compiled.to_dict()
    return result


def settings(session: Session) -> dict[str, Any]:
    matrix: PriorityMatrix | None = _setting(session, PRIORITY_MATRIX, compile_matrix)
    major: MajorCriteria | None = _setting(session, MAJOR, compile_major)
    flapping: FlapPolicy | None = _setting(session, FLAPPING, compile_flapping)
    return {
        PRIORITY_MATRIX: matrix.to_dict() if matrix else None,
        MAJOR: major.to_dict() if major else None,
        FLAPPING: flapping.to_dict() if flapping else None,
    }


def set_grouping(session: Session, *, service_id: int, spec: dict[str, Any] | None, now: datetime) -> None:
    row = repo.grouping_rule(session, service_id)
    if spec is None:
        if row is not None:
            repo.delete_row(session, row)
        bump(session, now)
        return
    try:
        rule = compile_grouping(service_id, spec)
    except RuleError as exc:
        raise _invalid(f"grouping of service {service_id}", exc) from None
    fresh = row is None
    if row is None:
        row = GroupingRuleRow(service_id=service_id)
    row.group_by = list(rule.group_by)
    row.window_seconds = int(rule.window.total_seconds())
    row.by_content = rule.by_content
    row.threshold = rule.threshold
    if fresh:
        repo.add_row(session, row)
    bump(session, now)


def list_grouping(session: Session) -> list[GroupingRuleRow]:
    return repo.grouping_rules(session)


def integration_type(session: Session, integration_key: str) -> str:
    integration = service_repo.integration_by_key(session, integration_key)
    if integration is None:
        raise InvalidInput(f"unknown integration key {integration_key!r}")
    return integration.type
