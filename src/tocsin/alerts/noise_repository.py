"""Queries of the routing and noise-reduction rules, and the batched look-ups the ingest path needs."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertEvent, counted_alert
from tocsin.alerts.noise_models import EventRuleRow, GroupingRuleRow, InhibitRuleRow, NoiseSetting, SilenceRow
from tocsin.db.tables import table_of
from tocsin.incidents.models import Incident, TimelineEntry, counted
from tocsin.notify.models import Notification
from tocsin.services.models import Service

VERSION = "rules_version"
_CHUNK = 400


# --- settings and the version token ------------------------------------------------------------------------------


def setting(session: Session, name: str) -> dict[str, Any] | None:
    row = session.get(NoiseSetting, name)
    return dict(row.value) if row is not None else None


def put_setting(session: Session, name: str, value: dict[str, Any] | None, now: datetime) -> None:
    row = session.get(NoiseSetting, name)
    if value is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(NoiseSetting(name=name, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
    session.flush()


# Read by every ingest batch: built once, on the table (a plain row, no ORM machinery).
_SETTINGS = table_of(NoiseSetting)
_VERSION = select(_SETTINGS.c.value).where(_SETTINGS.c.name == VERSION)


def version(session: Session) -> str:
    value = session.execute(_VERSION).scalar_one_or_none()
    return str(value.get("token", "")) if value else ""


# --- rules ------------------------------------------------------------------------------------------------------


def event_rules(session: Session) -> list[EventRuleRow]:
    # Integration rules first (they are tried first), then the global ones; the same order on every backend.
    stmt = select(EventRuleRow).order_by(
        EventRuleRow.integration_id.is_(None), EventRuleRow.integration_id, EventRuleRow.position, EventRuleRow.id
    )
    return list(session.execute(stmt).scalars())


def event_rule_by_name(session: Session, name: str) -> EventRuleRow | None:
    return session.execute(select(EventRuleRow).where(EventRuleRow.name == name)).scalar_one_or_none()


def inhibit_rules(session: Session) -> list[InhibitRuleRow]:
    return list(session.execute(select(InhibitRuleRow).order_by(InhibitRuleRow.id)).scalars())


def inhibit_rule_by_name(session: Session, name: str) -> InhibitRuleRow | None:
    return session.execute(select(InhibitRuleRow).where(InhibitRuleRow.name == name)).scalar_one_or_none()


def grouping_rules(session: Session) -> list[GroupingRuleRow]:
    return list(session.execute(select(GroupingRuleRow)).scalars())


def grouping_rule(session: Session, service_id: int) -> GroupingRuleRow | None:
    return session.get(GroupingRuleRow, service_id)


def delete_row(session: Session, row: object) -> None:
    session.delete(row)
    session.flush()


def add_row(session: Session, row: object) -> None:
    session.add(row)
    session.flush()


# --- silences ---------------------------------------------------------------------------------------------------


def live_silences(session: Session, now: datetime) -> list[SilenceRow]:
    """Silences that are active now or will be: expired ones can never match again."""
    stmt = (
        select(SilenceRow)
        .where((SilenceRow.ends_at.is_(None)) | (SilenceRow.ends_at > now))
        .order_by(SilenceRow.starts_at, SilenceRow.id)
    )
    return list(session.execute(stmt).scalars())


def all_silences(session: Session, *, include_expired: bool, now: datetime) -> list[SilenceRow]:
    stmt = select(SilenceRow).order_by(SilenceRow.id.desc())
    if not include_expired:
        stmt = stmt.where((SilenceRow.ends_at.is_(None)) | (SilenceRow.ends_at > now))
    return list(session.execute(stmt).scalars())


def silence(session: Session, silence_id: int) -> SilenceRow | None:
    return session.get(SilenceRow, silence_id)


def silences_by_ids(session: Session, ids: Collection[int]) -> dict[int, SilenceRow]:
    rows = session.execute(select(SilenceRow).where(SilenceRow.id.in_(ids))).scalars() if ids else ()
    return {row.id: row for row in rows}


def silence_by_name(session: Session, name: str) -> SilenceRow | None:
    return session.execute(select(SilenceRow).where(SilenceRow.name == name)).scalar_one_or_none()


def silences_to_remind(session: Session, now: datetime, before: datetime, limit: int = 100) -> list[SilenceRow]:
    stmt = (
        select(SilenceRow)
        .where(
            SilenceRow.recurrence.is_(None),
            SilenceRow.reminded_at.is_(None),
            SilenceRow.ends_at.is_not(None),
            SilenceRow.ends_at > now,
            SilenceRow.ends_at <= before,
            SilenceRow.starts_at <= now,
        )
        .order_by(SilenceRow.ends_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(stmt).scalars())


def next_reminder_due(session: Session, now: datetime) -> datetime | None:
    stmt = select(func.min(SilenceRow.ends_at)).where(
        SilenceRow.recurrence.is_(None),
        SilenceRow.reminded_at.is_(None),
        SilenceRow.ends_at.is_not(None),
        SilenceRow.ends_at > now,
    )
    value: datetime | None = session.execute(stmt).scalar_one_or_none()
    return value


# --- batched look-ups of the ingest path ------------------------------------------------------------------------


def firing_inhibitors(session: Session) -> list[Alert]:
    stmt = select(Alert).where(Alert.inhibits.is_(True), Alert.status != "resolved")
    return list(session.execute(stmt).scalars())


def open_group_members(
    session: Session, service_ids: Iterable[int], since: datetime
) -> list[tuple[int, int, datetime, str | None, dict[str, Any], str]]:
    """(incident id, service id, incident created at, group key, labels, summary) of the alerts of open,
    recent incidents of these services."""
    wanted = list(set(service_ids))
    if not wanted:
        return []
    stmt = (
        select(Incident.id, Incident.service_id, Incident.created_at, Alert.group_key, Alert.labels, Alert.summary)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(
            Incident.service_id.in_(wanted),
            Incident.status != "resolved",
            Incident.created_at >= since,
            # A drill's incident never takes real alerts in (ADR 0025).
            counted(),
        )
        .order_by(Incident.id)
    )
    return [tuple(r) for r in session.execute(stmt).all()]


# Outcomes that mean the alert changed state (opened or closed), whatever happened to the page.
STATE_CHANGES = ("created", "resolved", "grouped", "silenced", "inhibited", "suppressed", "flapping")


def state_changes_since(
    session: Session, keys: Sequence[tuple[int, str]], since: datetime
) -> dict[tuple[int, str], int]:
    wanted = list(set(keys))
    counts: dict[tuple[int, str], int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = (
            select(AlertEvent.integration_id, AlertEvent.dedup_key, func.count())
            .where(
                tuple_(AlertEvent.integration_id, AlertEvent.dedup_key).in_(chunk),
                AlertEvent.received_at >= since,
                AlertEvent.outcome.in_(STATE_CHANGES),
            )
            .group_by(AlertEvent.integration_id, AlertEvent.dedup_key)
        )
        for integration_id, key, n in session.execute(stmt).all():
            counts[(integration_id, key)] = n
    return counts


def service_ids_by_name(session: Session) -> dict[str, int]:
    """Services rules may route to: an archived one is left out, so a rule naming it is skipped."""
    stmt = select(Service.id, Service.name).where(Service.archived_at.is_(None))
    return {name: sid for sid, name in session.execute(stmt).all()}


# The event's alert is a drill's: its events are left out of every report (ADR 0025).
_drill_alert = select(Alert.id).where(Alert.id == AlertEvent.alert_id, Alert.drill.is_(True)).correlate(AlertEvent)


def event_outcomes(session: Session, since: datetime, until: datetime) -> list[tuple[int, str, int]]:
    """(integration id, outcome, count) of the events received in [since, until)."""
    stmt = (
        select(AlertEvent.integration_id, AlertEvent.outcome, func.count())
        .where(AlertEvent.received_at >= since, AlertEvent.received_at < until, ~_drill_alert.exists())
        .group_by(AlertEvent.integration_id, AlertEvent.outcome)
    )
    return [(i, o, n) for i, o, n in session.execute(stmt).all()]


def alerts_per_integration(session: Session, since: datetime, until: datetime) -> list[tuple[int, int, int]]:
    """(integration id, service id, alerts created)."""
    stmt = (
        select(Alert.integration_id, Alert.service_id, func.count())
        .where(Alert.created_at >= since, Alert.created_at < until, counted_alert())
        .group_by(Alert.integration_id, Alert.service_id)
    )
    return [(i, s, n) for i, s, n in session.execute(stmt).all()]


def incidents_per_service(session: Session, since: datetime, until: datetime) -> list[tuple[int, int]]:
    stmt = (
        select(Incident.service_id, func.count())
        .where(Incident.created_at >= since, Incident.created_at < until, counted())
        .group_by(Incident.service_id)
    )
    return [(s, n) for s, n in session.execute(stmt).all()]


def pages_per_service(session: Session, since: datetime, until: datetime) -> list[tuple[int, int]]:
    stmt = (
        select(Incident.service_id, func.count())
        .select_from(Notification)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(
            Notification.kind == "page",
            Notification.created_at >= since,
            Notification.created_at < until,
            counted(),
        )
        .group_by(Incident.service_id)
    )
    return [(s, n) for s, n in session.execute(stmt).all()]


def noisiest(session: Session, since: datetime, until: datetime, limit: int) -> list[tuple[int, str, int, int]]:
    """(service id, summary, alerts, events) of the alerts received most often."""
    events = func.sum(Alert.event_count)
    stmt = (
        select(Alert.service_id, Alert.summary, func.count(), events)
        .where(Alert.created_at >= since, Alert.created_at < until, counted_alert())
        .group_by(Alert.service_id, Alert.summary)
        .order_by(events.desc(), Alert.summary)
        .limit(limit)
    )
    return [(s, t, n, int(e or 0)) for s, t, n, e in session.execute(stmt).all()]


def silent_closures(session: Session, since: datetime, until: datetime) -> tuple[int, int]:
    """(incidents acknowledged and resolved, of which without any note) among those opened in the window."""
    noted = select(TimelineEntry.id).where(TimelineEntry.incident_id == Incident.id, TimelineEntry.kind == "note")
    base = (
        select(func.count())
        .select_from(Incident)
        .where(
            Incident.created_at >= since,
            Incident.created_at < until,
            Incident.status == "resolved",
            Incident.acknowledged_at.is_not(None),
            counted(),
        )
    )
    closed = int(session.execute(base).scalar_one())
    without = int(session.execute(base.where(~noted.exists())).scalar_one())
    return closed, without


def paused_flapping(session: Session, limit: int = 100) -> list[tuple[Incident, Alert]]:
    """Open, unacknowledged incidents whose paging a flapping alert paused and that have not paged since."""
    flapped = select(TimelineEntry.incident_id).where(TimelineEntry.kind == "flapping")
    settled = select(TimelineEntry.incident_id).where(TimelineEntry.kind == "flapping_stable")
    stmt = (
        select(Incident, Alert)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(Incident.status == "triggered", Incident.id.in_(flapped), Incident.id.not_in(settled))
        .order_by(Incident.id, Alert.id)
        .limit(limit)
    )
    seen: dict[int, tuple[Incident, Alert]] = {}
    for incident, alert in session.execute(stmt).all():
        seen.setdefault(incident.id, (incident, alert))
    return list(seen.values())
