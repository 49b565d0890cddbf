"""The routing and noise sections of the configuration file: event rules, priority matrix, major-incident
criteria, flapping, grouping, inhibit rules, silences and maintenance windows.

Like the rest of apply, objects are matched by name, created or updated, never deleted. Each goes through the
same validation as the API, so a bad rule is refused at apply time with its place in the file and its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts import routing_service as routing
from tocsin.alerts import silence_service
from tocsin.config import current as stored
from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.services import service as services


@contextmanager
def _at(path: str) -> Iterator[None]:
    try:
        yield
    except TocsinError as exc:
        raise type(exc)(f"{path}: {exc.detail}", errors=exc.errors) from None


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


def _record(changes: list[Change], kind: str, key: str, before: Any, after: Any) -> bool:
    if before is None:
        changes.append(Change(kind, key, "create"))
        return True
    if before == after:
        changes.append(Change(kind, key, "unchanged"))
        return False
    changes.append(Change(kind, key, "update"))
    return True


def apply_noise(session: Session, config: ConfigFile, current: stored.Current, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    rules = {r.name: r for r in routing.list_event_rules(session)}
    keys = {row.id: where for where, row in current.integration_rows.items()}
    for i, spec in enumerate(config.event_rules):
        path = f"event_rules[{i}]"
        integration_key = None
        if spec.integration is not None:
            service_name, _, name = spec.integration.partition("/")
            found = current.integration_rows.get((service_name, name))
            if found is None:
                raise InvalidInput(f"{path}: unknown integration {spec.integration!r} (use service/integration)")
            integration_key = found.key
        old = rules.get(spec.name)
        wanted = (spec.matchers, spec.actions, spec.enabled, integration_key, i)
        before = None
        if old is not None:
            where = keys.get(old.integration_id) if old.integration_id else None
            before = (
                old.matchers,
                old.actions,
                old.enabled,
                current.integration_rows[where].key if where else None,
                old.position,
            )
        if _record(changes, "event_rule", spec.name, before, wanted):
            with _at(path):
                routing.put_event_rule(
                    session,
                    name=spec.name,
                    matchers=spec.matchers,
                    actions=spec.actions,
                    integration_key=integration_key,
                    position=i,
                    enabled=spec.enabled,
                    now=now,
                )
    settings = routing.settings(session)
    setters: dict[str, Callable[..., None]] = {
        routing.PRIORITY_MATRIX: routing.set_priority_matrix,
        routing.MAJOR: routing.set_major_criteria,
        routing.FLAPPING: routing.set_flapping,
    }
    for name, setter in setters.items():
        value = getattr(config, name)
        if value is None:
            continue
        with _at(name):
            wanted_setting = routing.canonical_setting(name, value)
            if _record(changes, "setting", name, settings[name], wanted_setting):
                setter(session, value, now=now)
    grouping = {g.service_id: g for g in routing.list_grouping(session)}
    for i, g in enumerate(config.grouping):
        with _at(f"grouping[{i}]"):
            service = services.get_service(session, g.service)
            wanted_g: dict[str, Any] = {
                "group_by": g.group_by,
                "window_seconds": g.window,
                "by_content": g.by_content,
                "threshold": g.threshold,
            }
            old_g = grouping.get(service.id)
            before_g = (
                None
                if old_g is None
                else {
                    "group_by": old_g.group_by,
                    "window_seconds": old_g.window_seconds,
                    "by_content": old_g.by_content,
                    "threshold": old_g.threshold,
                }
            )
            if _record(changes, "grouping", g.service, before_g, wanted_g):
                routing.set_grouping(session, service_id=service.id, spec=wanted_g, now=now)
    inhibit = {r.name: r for r in routing.list_inhibit_rules(session)}
    for i, r in enumerate(config.inhibit_rules):
        old_r = inhibit.get(r.name)
        before_r = None if old_r is None else (old_r.source_matchers, old_r.target_matchers, old_r.equal)
        if _record(changes, "inhibit_rule", r.name, before_r, (r.source, r.target, r.equal)):
            with _at(f"inhibit_rules[{i}]"):
                routing.put_inhibit_rule(session, name=r.name, source=r.source, target=r.target, equal=r.equal, now=now)
    existing = {s.name: s for s in silence_service.list_silences(session, now=now, include_expired=True) if s.name}
    for i, s in enumerate(config.silences):
        starts, ends = _instant(s.starts_at), _instant(s.ends_at)
        old_s = existing.get(s.name)
        wanted_s = (s.matchers, s.service, starts, ends, None, None, s.comment)
        if _record(changes, "silence", s.name, _silence_key(session, old_s), wanted_s):
            with _at(f"silences[{i}]"):
                silence_service.create_silence(
                    session,
                    name=s.name,
                    matchers=s.matchers,
                    service=s.service,
                    starts_at=starts,
                    ends_at=ends,
                    author=s.author,
                    comment=s.comment,
                    now=now,
                )
    for i, w in enumerate(config.maintenance_windows):
        start = _instant(w.start)
        until = _instant(w.until) if w.until is not None else None
        old_w = existing.get(w.name)
        wanted_w = (w.matchers, w.service, start, until, w.rrule, w.duration, w.comment)
        if _record(changes, "maintenance_window", w.name, _silence_key(session, old_w), wanted_w):
            with _at(f"maintenance_windows[{i}]"):
                silence_service.create_silence(
                    session,
                    name=w.name,
                    matchers=w.matchers,
                    service=w.service,
                    starts_at=start,
                    ends_at=until,
                    recurrence=w.rrule,
                    duration_seconds=w.duration,
                    author="configuration",
                    comment=w.comment,
                    now=now,
                )
    return changes


def _silence_key(session: Session, row: Any) -> tuple[Any, ...] | None:
    if row is None:
        return None
    service = services.get_service(session, row.service_id).name if row.service_id else None
    return (row.matchers, service, row.starts_at, row.ends_at, row.recurrence, row.duration_seconds, row.comment)


def export_noise(session: Session, config: ConfigFile, *, now: datetime) -> ConfigFile:
    integrations = {
        row.id: f"{svc}/{name}" for (svc, name), row in stored.read(session, now=now).integration_rows.items()
    }
    settings = routing.settings(session)
    names = {s.id: s.name for s in services.list_services(session)}
    silences: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    for row in reversed(silence_service.list_silences(session, now=now)):
        if not row.name:
            continue  # ad-hoc silences are operations, not configuration
        if row.recurrence:
            windows.append(
                {
                    "name": row.name,
                    "service": names.get(row.service_id or 0, ""),
                    "start": row.starts_at,
                    "rrule": row.recurrence,
                    "duration": row.duration_seconds or 0,
                    "until": row.ends_at,
                    "matchers": row.matchers,
                    "comment": row.comment,
                }
            )
        else:
            silences.append(
                {
                    "name": row.name,
                    "matchers": row.matchers,
                    "service": names.get(row.service_id) if row.service_id else None,
                    "starts_at": row.starts_at,
                    "ends_at": row.ends_at,
                    "comment": row.comment,
                    "author": row.author,
                }
            )
    data = config.model_dump(mode="json", exclude_none=True)
    data.update(
        {
            "event_rules": [
                {
                    "name": r.name,
                    "integration": integrations.get(r.integration_id) if r.integration_id else None,
                    "matchers": r.matchers,
                    "actions": r.actions,
                    "enabled": r.enabled,
                }
                for r in routing.list_event_rules(session)
            ],
            "priority_matrix": settings[routing.PRIORITY_MATRIX],
            "major_incident": settings[routing.MAJOR],
            "flapping": settings[routing.FLAPPING],
            "grouping": [
                {
                    "service": names.get(g.service_id, ""),
                    "group_by": g.group_by,
                    "window": g.window_seconds,
                    "by_content": g.by_content,
                    "threshold": g.threshold,
                }
                for g in routing.list_grouping(session)
            ],
            "inhibit_rules": [
                {"name": r.name, "source": r.source_matchers, "target": r.target_matchers, "equal": r.equal}
                for r in routing.list_inhibit_rules(session)
            ],
            "silences": silences,
            "maintenance_windows": windows,
        }
    )
    return ConfigFile.model_validate(data)
