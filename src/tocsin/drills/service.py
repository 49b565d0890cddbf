"""Drill use cases. Each takes a session, writes the incident's timeline, and never commits.

A drill sends its scenario's event through the real ingest path (``alerts.service.ingest_batch``, as an
integration's submission would go), marked as a drill: the alert and the incident it opens carry the flag, every
page about it says ``DRILL`` first, and nothing about it is counted (``incidents.models.counted``). It ends when
its incident resolves, or by hand (which resolves the incident), with a report built from the incident's timeline
and notification rows.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts import repository as alert_repo
from tocsin.alerts import service as alerts
from tocsin.alerts.schemas import IngestOutcome, NormalizedEvent, Submission
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import ascii_int
from tocsin.drills import repository as repo
from tocsin.drills.models import DrillRun, DrillScenario
from tocsin.drills.report import build_report
from tocsin.incidents import lifecycle
from tocsin.incidents import service as incidents
from tocsin.incidents.hooks import StatusChange
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.services import service as services

MAX_NAME = 200
MAX_TYPE = 100
MAX_PAYLOAD = 16_000
SEVERITIES = ("critical", "error", "warning", "info")
# The fields of a generic event a scenario may hold (what the generic integration takes).
PAYLOAD_FIELDS = ("summary", "severity", "source", "component", "group", "class", "labels", "details")
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    name: str
    service: int | str
    payload: dict[str, Any] | None = None
    incident_type: str | None = None
    description: str = ""


def _name(text: str) -> str:
    name = text.strip()
    if not name:
        raise InvalidInput("a scenario needs a name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a scenario name is limited to {MAX_NAME} characters")
    return name


def check_payload(payload: object) -> dict[str, Any]:
    """A saved generic event: an object of known fields, summary and strings as strings, labels and details as
    objects, small enough to store."""
    if not isinstance(payload, dict):
        raise InvalidInput("payload must be a JSON object (the fields of a generic event)")
    unknown = sorted(str(k) for k in payload if k not in PAYLOAD_FIELDS)
    if unknown:
        raise InvalidInput(f"payload: unknown field(s) {', '.join(unknown)} (known: {', '.join(PAYLOAD_FIELDS)})")
    for key in ("summary", "source", "component", "group", "class"):
        value = payload.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 1024):
            raise InvalidInput(f"payload: {key} must be a string of at most 1024 characters")
    severity = payload.get("severity")
    if severity is not None and (not isinstance(severity, str) or severity.lower() not in SEVERITIES):
        raise InvalidInput(f"payload: severity must be one of {', '.join(SEVERITIES)}")
    for key in ("labels", "details"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise InvalidInput(f"payload: {key} must be an object")
    if len(json.dumps(payload, default=str)) > MAX_PAYLOAD:
        raise InvalidInput(f"payload is limited to {MAX_PAYLOAD:,} characters of JSON")
    return dict(payload)


def _type_name(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text.strip()) > MAX_TYPE:
        raise InvalidInput(f"an incident type name is limited to {MAX_TYPE} characters")
    return text.strip()


def _service_id(session: Session, ref: int | str) -> int:
    try:
        service = services.get_service(session, ref)
    except NotFound:
        raise InvalidInput(f"no service {ref!r} for the scenario") from None
    return service.id


def scenarios(session: Session) -> list[DrillScenario]:
    return repo.scenarios(session)


def get_scenario(session: Session, ref: int | str) -> DrillScenario:
    found = repo.scenario(session, number) if (number := ascii_int(ref)) is not None else None
    if found is None and isinstance(ref, str):
        found = repo.scenario(session, ref)
    if found is None:
        raise NotFound(f"drill scenario {ref} not found")
    return found


def find_scenario(session: Session, name: str) -> DrillScenario | None:
    """The scenario of exactly this name, if any."""
    return repo.scenario(session, name.strip())


def create_scenario(session: Session, spec: ScenarioSpec, *, now: datetime) -> DrillScenario:
    name = _name(spec.name)
    if repo.scenario(session, name) is not None:
        raise Conflict(f"a drill scenario named {name!r} already exists")
    payload, type_name = _what(spec.payload, spec.incident_type)
    scenario = DrillScenario(
        name=name,
        service_id=_service_id(session, spec.service),
        payload=payload,
        incident_type=type_name,
        description=spec.description.strip(),
        created_at=now,
        updated_at=now,
    )
    repo.add(session, scenario)
    return scenario


def _what(payload: object, incident_type: str | None) -> tuple[dict[str, Any] | None, str | None]:
    type_name = _type_name(incident_type)
    if payload is not None and type_name is not None:
        raise InvalidInput("a scenario sends either an event (payload) or an incident type, not both")
    if type_name is not None:
        return None, type_name
    return check_payload({} if payload is None else payload), None


def update_scenario(
    session: Session,
    ref: int | str,
    *,
    now: datetime,
    name: str | None = None,
    service: int | str | None = None,
    payload: Any = _UNSET,
    incident_type: Any = _UNSET,
    description: str | None = None,
) -> DrillScenario:
    scenario = get_scenario(session, ref)
    if name is not None:
        new = _name(name)
        if new != scenario.name and repo.scenario(session, new) is not None:
            raise Conflict(f"a drill scenario named {new!r} already exists")
        scenario.name = new
    if service is not None:
        scenario.service_id = _service_id(session, service)
    if payload is not _UNSET or incident_type is not _UNSET:
        scenario.payload, scenario.incident_type = _what(
            None if payload is _UNSET else payload, None if incident_type is _UNSET else incident_type
        )
    if description is not None:
        scenario.description = description.strip()
    scenario.updated_at = now
    session.flush()
    return scenario


def delete_scenario(session: Session, ref: int | str) -> None:
    """Runs keep the scenario's name; the scenario itself goes."""
    repo.delete(session, get_scenario(session, ref))


def _event(scenario: DrillScenario) -> NormalizedEvent:
    payload = scenario.payload or {}
    default = f"Drill: {scenario.name}" if scenario.incident_type is None else f"Drill: {scenario.incident_type}"
    labels = dict(payload.get("labels") or {})
    if scenario.incident_type is not None:
        labels["incident_type"] = scenario.incident_type
    return NormalizedEvent(
        action="trigger",
        # Its own key: a drill never deduplicates into a real alert.
        dedup_key=f"drill-{uuid.uuid4().hex}",
        summary=payload.get("summary") or default,
        severity=(payload.get("severity") or "critical").lower(),
        source=payload.get("source") or "tocsin-drill",
        component=payload.get("component"),
        group=payload.get("group"),
        class_=payload.get("class"),
        labels=labels,
        details={**(payload.get("details") or {}), "drill": scenario.name},
        drill=True,
    )


def start(session: Session, scenario_ref: int | str, *, actor: Actor, now: datetime) -> DrillRun:
    """Send the scenario's event through the real ingest path and record the run; refused (nothing changed) when
    the scenario is unknown, its service cannot take events, or the service's rules keep it from opening an
    incident (silenced, dropped …)."""
    try:
        scenario = get_scenario(session, scenario_ref)
    except NotFound:
        raise InvalidInput(f"no drill scenario {scenario_ref!r}") from None
    service = services.get_service(session, scenario.service_id)
    if service.archived_at is not None:
        raise InvalidInput(f"service {service.name!r} is archived; a drill cannot run on it")
    integration = repo.entry_integration(session, service.id)
    if integration is None:
        raise InvalidInput(f"service {service.name!r} has no integration a drill's event could come in through")
    event = _event(scenario)
    (result,) = alerts.ingest_batch(session, [Submission(integration_key=integration.key, events=[event])], now=now)
    outcome = result.outcomes[0] if result.outcomes else IngestOutcome.IGNORED
    alert = alert_repo.open_alerts_by_key(session, [(integration.id, event.dedup_key or "")]).get(
        (integration.id, event.dedup_key or "")
    )
    if outcome != IngestOutcome.CREATED or alert is None or alert.incident_id is None:
        raise Conflict(
            f"the drill's event was {outcome} on service {service.name!r} and opened no incident "
            "(a silence, an event rule or flapping kept it from paging); nothing was started"
        )
    run = DrillRun(
        scenario_id=scenario.id,
        scenario_name=scenario.name,
        incident_id=alert.incident_id,
        started_at=now,
        started_by_user_id=actor.user_id,
    )
    repo.add(session, run)
    incidents.record(
        session,
        alert.incident_id,
        TimelineKind.DRILL_STARTED,
        f"Drill {scenario.name!r} started",
        actor=actor,
        now=now,
        drill=run.id,
        scenario=scenario.name,
    )
    return run


def runs(session: Session, *, limit: int = 100) -> list[DrillRun]:
    return repo.runs(session, limit)


def get_run(session: Session, ref: int | str) -> DrillRun:
    run_id = ascii_int(ref)
    found = repo.run(session, run_id) if run_id is not None else None
    if found is None:
        raise NotFound(f"drill {ref} not found")
    return found


def run_of_incident(session: Session, incident_id: int) -> DrillRun | None:
    return repo.run_of_incident(session, incident_id)


def end(session: Session, ref: int | str, *, actor: Actor, now: datetime) -> DrillRun:
    """End a drill by hand: its incident is resolved (paging stops) and the report is written. Ending one that
    has ended changes nothing."""
    run = get_run(session, ref)
    if run.ended_at is not None:
        return run
    if run.incident_id is not None:
        incident = incidents.get(session, run.incident_id)
        if incident.status != lifecycle.RESOLVED:
            # The status hook below ends the run with the resolution.
            incidents.resolve(session, incident.id, actor=actor, now=now, message="Drill ended")
    session.refresh(run)
    if run.ended_at is None:
        _finish(session, run, actor=actor, now=now)
    return run


def _finish(session: Session, run: DrillRun, *, actor: Actor, now: datetime) -> None:
    run.ended_at = now
    if run.incident_id is None:
        run.report = build_report(session, run, None, now=now)
        session.flush()
        return
    incident = incidents.get(session, run.incident_id)
    run.report = build_report(session, run, incident, now=now)
    session.flush()
    answered = run.report.get("first_answer_seconds")
    summary = f"answered in {answered:.0f} s" if isinstance(answered, int | float) else "nobody answered"
    incidents.record(
        session,
        run.incident_id,
        TimelineKind.DRILL_ENDED,
        f"Drill {run.scenario_name!r} ended: {summary}",
        actor=actor,
        now=now,
        drill=run.id,
    )


def on_status_change(session: Session, change: StatusChange) -> None:
    """A drill ends when its incident resolves, however it was resolved (a page answered, a person, the API)."""
    incident: Incident = change.incident
    if not incident.drill or change.target != lifecycle.RESOLVED:
        return
    run = repo.open_run_of_incident(session, incident.id)
    if run is not None:
        _finish(session, run, actor=change.actor, now=change.now)
