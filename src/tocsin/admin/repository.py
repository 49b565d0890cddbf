"""Who names whom: the references that archiving, deactivating and deleting must look at.

Layers and steps keep their users and targets in JSON lists, read here whole and filtered in Python: these are
configuration-sized tables, and one portable query beats a JSON operator per dialect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from tocsin.auth.models import WebSession
from tocsin.escalation.models import EscalationPolicy, EscalationStep
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify.models import Notification, NotificationRule
from tocsin.oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.services.models import Service


def live_layers(session: Session) -> list[tuple[Schedule, ScheduleLayer]]:
    stmt = (
        select(Schedule, ScheduleLayer)
        .join(ScheduleLayer, ScheduleLayer.schedule_id == Schedule.id)
        .where(Schedule.archived_at.is_(None))
        .order_by(Schedule.name, ScheduleLayer.position)
    )
    return [(s, layer) for s, layer in session.execute(stmt).all()]


def live_overrides_of_user(session: Session, user_id: int, now: datetime) -> list[tuple[Schedule, ScheduleOverride]]:
    stmt = (
        select(Schedule, ScheduleOverride)
        .join(ScheduleOverride, ScheduleOverride.schedule_id == Schedule.id)
        .where(Schedule.archived_at.is_(None), ScheduleOverride.user_id == user_id, ScheduleOverride.end > now)
        .order_by(Schedule.name, ScheduleOverride.start)
    )
    return [(s, o) for s, o in session.execute(stmt).all()]


def steps(session: Session, *, include_archived: bool = False) -> list[tuple[EscalationPolicy, EscalationStep]]:
    stmt = select(EscalationPolicy, EscalationStep).join(
        EscalationStep, EscalationStep.policy_id == EscalationPolicy.id
    )
    if not include_archived:
        stmt = stmt.where(EscalationPolicy.archived_at.is_(None))
    return [(p, s) for p, s in session.execute(stmt.order_by(EscalationPolicy.name, EscalationStep.position)).all()]


def services_of_policy(session: Session, policy_id: int, *, include_archived: bool) -> list[Service]:
    stmt = select(Service).where(Service.escalation_policy_id == policy_id).order_by(Service.name)
    if not include_archived:
        stmt = stmt.where(Service.archived_at.is_(None))
    return list(session.execute(stmt).scalars())


def user_history_count(session: Session, user_id: int) -> int:
    """Incidents, timeline entries and pages that name the user: history that forbids deleting them."""
    counts = (
        select(func.count())
        .select_from(Incident)
        .where(or_(Incident.assigned_user_id == user_id, Incident.created_by_user_id == user_id)),
        select(func.count()).select_from(TimelineEntry).where(TimelineEntry.actor_user_id == user_id),
        select(func.count()).select_from(Notification).where(Notification.user_id == user_id),
    )
    return sum(session.execute(stmt).scalar_one() for stmt in counts)


def end_web_sessions(session: Session, user_id: int) -> int:
    return session.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount or 0  # type: ignore[attr-defined]


def notification_rule(session: Session, rule_id: int) -> NotificationRule | None:
    return session.get(NotificationRule, rule_id)


def rules_of_contact_method(session: Session, cm_id: int) -> list[NotificationRule]:
    stmt = select(NotificationRule).where(NotificationRule.contact_method_id == cm_id)
    return list(session.execute(stmt).scalars())


def notification_count_of_contact_method(session: Session, cm_id: int) -> int:
    stmt = select(func.count()).select_from(Notification).where(Notification.contact_method_id == cm_id)
    return session.execute(stmt).scalar_one()
