"""Regulatory reporting clocks (ADR 0032): regimes edited by admins, an incident classified under a regime (which
starts its clocks), the countdowns of every running clock, submissions to the regulator (late ones with their
reason), and reminders to the regime's compliance contacts at the regime's points before each deadline.

Reminders are rows written when their point comes due, unique per deadline, point and due time: a pass that runs
twice (or two engines at once) writes one, and the notice it sends is keyed by that row, so nobody hears twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.compliance import clocks, drafts, durations, regimes
from tocsin.compliance import repository as repo
from tocsin.compliance.clocks import Clock, Sent
from tocsin.compliance.models import Classification, Regime, Reminder, Submission
from tocsin.compliance.repository import IncidentRef
from tocsin.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents import visibility as incident_visibility
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import notices
from tocsin.teams import repository as team_repo
from tocsin.teams import service as teams
from tocsin.users import service as users

ATTACHMENT_LIMIT: Final = 384 * 1024
# A moment a little ahead of the server's clock is a clock skew; further ahead it is a mistake.
SKEW: Final = timedelta(minutes=5)
MAX_TEXT: Final = 20_000


# --- regimes ----------------------------------------------------------------------------------------------------


def seed_defaults(session: Session, *, now: datetime) -> bool:
    """The regimes shipped, once per database: edits and disabling them later stick."""
    if not incidents.first_time(session, "defaults:compliance_regimes"):
        return False
    for spec in regimes.DEFAULTS:
        if repo.regime(session, spec.key) is None:
            save_regime(session, spec, now=now)
    return True


def list_regimes(session: Session) -> list[Regime]:
    return repo.regimes(session)


def get_regime(session: Session, ref: int | str) -> Regime:
    found = repo.regime(session, int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref)
    if found is None and isinstance(ref, str):
        found = repo.regime(session, ref.strip().lower())
    if found is None:
        raise NotFound(f"regime {ref} not found")
    return found


def _check(session: Session, spec: regimes.RegimeSpec) -> dict[str, Any]:
    key = (spec.key or "").strip().lower()
    if not regimes.KEY.match(key):
        raise InvalidInput(f"key: {spec.key!r}: lower-case letters, digits, - and _ (at most 64)")
    name = (spec.name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("name: 1 to 200 characters")
    try:
        durations.zone(spec.timezone)
    except durations.DurationError as exc:
        raise InvalidInput(f"timezone: {exc}", errors=[f"timezone: {exc}"]) from None
    regimes.read_deadlines(spec.deadlines)
    regimes.read_points(spec.reminders)
    holidays = regimes.read_holidays(spec.holidays)
    headings = regimes.read_headings(spec.headings)
    user_ids = []
    for i, ref in enumerate(spec.contacts):
        try:
            user_ids.append(users.get_user(session, ref).id)
        except NotFound:
            raise InvalidInput(f"contacts[{i}]: unknown user {ref!r}") from None
    team_ids = []
    for i, ref in enumerate(spec.contact_teams):
        try:
            team_ids.append(teams.get_team(session, ref).id)
        except NotFound:
            raise InvalidInput(f"contact_teams[{i}]: unknown team {ref!r}") from None
    return {
        "key": key,
        "name": name,
        "description": (spec.description or "")[:MAX_TEXT],
        "timezone": spec.timezone,
        "holidays": [d.isoformat() for d in holidays],
        "deadlines": [
            {
                "key": str(d["key"]).strip(),
                "title": str(d.get("title") or d["key"]).strip()[:200],
                "rules": [
                    {"after": str(r["after"]).strip().upper(), "anchor": str(r["anchor"]).strip()} for r in d["rules"]
                ],
            }
            for d in spec.deadlines
        ],
        "reminders": [p.text for p in regimes.read_points(spec.reminders)],
        "contact_user_ids": list(dict.fromkeys(user_ids)),
        "contact_team_ids": list(dict.fromkeys(team_ids)),
        "headings": headings,
        "enabled": bool(spec.enabled),
    }


def save_regime(session: Session, spec: regimes.RegimeSpec, *, now: datetime) -> Regime:
    """Create the regime ``spec.key`` names, or replace it (running clocks follow the new rules at once)."""
    values = _check(session, spec)
    row = repo.regime(session, values["key"])
    if row is None:
        row = Regime(**values, created_at=now, updated_at=now)
        session.add(row)
    else:
        # Only what differs: applying an unchanged file writes nothing (and the audit trail records nothing).
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        for k, v in changed.items():
            setattr(row, k, v)
        if changed:
            row.updated_at = now
    session.flush()
    return row


def as_spec(session: Session, row: Regime) -> dict[str, Any]:
    """A regime by names (contacts by email, teams by name): what the API and ``tocsin export`` show."""
    emails = {u.id: u.email for u in users.list_users(session)} if row.contact_user_ids else {}
    team_names = {t.id: t.name for t in teams.list_teams(session)} if row.contact_team_ids else {}
    return {
        "key": row.key,
        "name": row.name,
        "description": row.description,
        "timezone": row.timezone,
        "holidays": list(row.holidays),
        "deadlines": [dict(d) for d in row.deadlines],
        "reminders": list(row.reminders),
        "contacts": [emails[i] for i in row.contact_user_ids if i in emails],
        "contact_teams": [team_names[i] for i in row.contact_team_ids if i in team_names],
        "headings": [dict(h) for h in row.headings],
        "enabled": row.enabled,
    }


@dataclass(frozen=True, slots=True)
class Rules:
    deadlines: list[regimes.Deadline]
    points: list[regimes.Point]
    zone: Any
    holidays: frozenset[Any]


def rules_of(row: Regime) -> Rules:
    return Rules(
        deadlines=regimes.read_deadlines(row.deadlines),
        points=regimes.read_points(row.reminders),
        zone=durations.zone(row.timezone),
        holidays=frozenset(regimes.read_holidays(row.holidays)),
    )


# --- classification ---------------------------------------------------------------------------------------------


def _moment(value: datetime | None, name: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(f"{name}: give a time zone (for example 2026-11-02T08:00:00Z)")
    if value > now + SKEW:
        raise InvalidInput(f"{name}: {value.isoformat()} is in the future")
    return value


def classify(
    session: Session,
    incident: Incident,
    regime_ref: str,
    *,
    awareness_at: datetime | None,
    classified_at: datetime | None,
    determined_at: datetime | None,
    detected_at: datetime | None,
    note: str,
    actor: Actor,
    now: datetime,
) -> Classification:
    """The regime applies to the incident, from these moments (each one omitted: now, the moment of this step;
    detection: when the incident says it was detected, else opened). A second classification under the same
    regime corrects the moments."""
    regime = get_regime(session, regime_ref)
    if not regime.enabled:
        raise Conflict(f"regime {regime.key} is disabled")
    if len(note or "") > MAX_TEXT:
        raise InvalidInput(f"note: at most {MAX_TEXT} characters")
    moments = {
        "awareness_at": _moment(awareness_at, "awareness_at", now) or now,
        "classified_at": _moment(classified_at, "classified_at", now) or now,
        "determined_at": _moment(determined_at, "determined_at", now) or now,
        "detected_at": _moment(detected_at, "detected_at", now) or incident.detected_at or incident.created_at,
    }
    row = repo.classification(session, incident.id, regime.id)
    if row is None:
        row = Classification(
            incident_id=incident.id, regime_id=regime.id, note=note or "", created_at=now, updated_at=now, **moments
        )
        session.add(row)
    else:
        for k, v in moments.items():
            setattr(row, k, v)
        row.note, row.updated_at = note or "", now
    row.classified_by_user_id, row.classified_by = actor.user_id, actor.label[:255]
    session.flush()
    _settle(session, row, regime, now=now)
    incidents.record(
        session,
        incident.id,
        TimelineKind.CLOCK_CLASSIFIED,
        f"Classified under {regime.name}: its reporting clocks run",
        actor=actor,
        now=now,
        regime=regime.key,
    )
    return row


# --- clocks -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ClockSet:
    incident: IncidentRef
    regime: Regime
    classification: Classification
    clocks: list[Clock]
    submissions: list[Submission]


def _sent(rows: Sequence[Submission]) -> list[Sent]:
    return [Sent(deadline_key=s.deadline_key, submitted_at=s.submitted_at, late=s.late) for s in rows]


def moments_of(row: Classification) -> dict[str, datetime | None]:
    return {
        "detection": row.detected_at,
        "awareness": row.awareness_at,
        "classification": row.classified_at,
        "determination": row.determined_at,
    }


def _compute(row: Classification, rules: Rules, sent: Sequence[Submission], now: datetime) -> list[Clock]:
    return clocks.compute(
        rules.deadlines, moments_of(row), _sent(sent), zone=rules.zone, holidays=rules.holidays, now=now
    )


def _settle(session: Session, row: Classification, regime: Regime, *, now: datetime) -> None:
    """The clock stops when every deadline is met, and runs again when a regime edit adds one."""
    sent = repo.submissions_of(session, [row.id]).get(row.id, [])
    done = all(c.status in ("met", "late") for c in _compute(row, rules_of(regime), sent, now))
    row.completed_at = (row.completed_at or now) if done else None
    session.flush()


def clocks_of(session: Session, incident: Incident, *, now: datetime) -> list[ClockSet]:
    rows = repo.classifications_of(session, incident.id)
    if not rows:
        return []
    by_id = {r.id: r for r in repo.regimes(session)}
    sent = repo.submissions_of(session, [r.id for r in rows])
    ref = IncidentRef.of(incident)
    out = []
    for row in rows:
        regime = by_id[row.regime_id]
        subs = sent.get(row.id, [])
        out.append(ClockSet(ref, regime, row, _compute(row, rules_of(regime), subs, now), subs))
    return out


def running_clocks(
    session: Session, viewer: Viewer | None, *, see_all: bool, now: datetime, regime: str | None = None
) -> list[ClockSet]:
    """Every running clock the viewer may see (private incidents: only theirs), soonest deadline first.
    ``viewer`` None: every one (the engine)."""
    visible = None if viewer is None else incident_repo.visible_clause(viewer, see_all=see_all)
    pairs = repo.running(session, visible=visible)
    by_id = {r.id: r for r in repo.regimes(session)}
    if regime is not None:
        wanted = get_regime(session, regime).id
        pairs = [(c, i) for c, i in pairs if c.regime_id == wanted]
    sent = repo.submissions_of(session, [c.id for c, _ in pairs])
    rules = {rid: rules_of(r) for rid, r in by_id.items()}
    out = []
    for row, incident in pairs:
        subs = sent.get(row.id, [])
        out.append(ClockSet(incident, by_id[row.regime_id], row, _compute(row, rules[row.regime_id], subs, now), subs))
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def soonest(s: ClockSet) -> datetime:
        return min((c.due_at for c in s.clocks if c.due_at and c.status in ("running", "overdue")), default=far)

    return sorted(out, key=soonest)


# --- submissions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


def submit(
    session: Session,
    incident: Incident,
    regime_ref: str,
    deadline_key: str,
    *,
    summary: str,
    reference: str = "",
    submitted_at: datetime | None = None,
    late_reason: str = "",
    attachment: Attachment | None = None,
    actor: Actor,
    now: datetime,
) -> Submission:
    """Record what was sent to the regulator for one deadline. Sent after its deadline: a reason is required (422
    without one). The submission may start the next deadline (an anchor ``submission:<key>``)."""
    regime = get_regime(session, regime_ref)
    row = repo.classification(session, incident.id, regime.id)
    if row is None:
        raise Conflict(f"incident #{incident.number} is not classified under {regime.key}: classify it first")
    rules = rules_of(regime)
    keys = [d.key for d in rules.deadlines]
    if deadline_key not in keys:
        raise InvalidInput(f"deadline: {deadline_key!r} is not a deadline of {regime.key} ({', '.join(keys)})")
    text = (summary or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(f"summary: what was sent, 1 to {MAX_TEXT} characters")
    if len(reference or "") > 200:
        raise InvalidInput("reference: at most 200 characters")
    at = _moment(submitted_at, "submitted_at", now) or now
    if attachment is not None:
        if len(attachment.data) > ATTACHMENT_LIMIT:
            raise PayloadTooLarge(f"attachment: at most {ATTACHMENT_LIMIT} bytes")
        if not attachment.data:
            raise InvalidInput("attachment: the file is empty")
    before = repo.submissions_of(session, [row.id]).get(row.id, [])
    clock = next(c for c in _compute(row, rules, before, at) if c.key == deadline_key)
    late = clock.due_at is not None and at > clock.due_at
    reason = (late_reason or "").strip()
    if late and not reason:
        raise InvalidInput(
            f"late_reason: the {clock.title} was due {clock.due_at:%Y-%m-%d %H:%M} UTC; say why it is late",
            errors=["late_reason: required for a late submission"],
        )
    if len(reason) > MAX_TEXT:
        raise InvalidInput(f"late_reason: at most {MAX_TEXT} characters")
    sub = Submission(
        classification_id=row.id,
        deadline_key=deadline_key,
        submitted_at=at,
        summary=text,
        reference=(reference or "").strip(),
        due_at=clock.due_at,
        late=late,
        late_reason=reason if late else "",
        submitted_by_user_id=actor.user_id,
        submitted_by=actor.label[:255],
        attachment_name=(attachment.name if attachment else "")[:255],
        attachment_type=(attachment.content_type if attachment else "")[:100],
        attachment_size=len(attachment.data) if attachment else 0,
        attachment=attachment.data if attachment else None,
        created_at=now,
    )
    session.add(sub)
    session.flush()
    _settle(session, row, regime, now=now)
    incidents.record(
        session,
        incident.id,
        TimelineKind.CLOCK_SUBMITTED,
        f"{regime.name}: {clock.title} submitted{' late' if late else ''}",
        actor=actor,
        now=now,
        regime=regime.key,
        deadline=deadline_key,
        submission_id=sub.id,
    )
    return sub


def get_submission(session: Session, incident: Incident, submission_id: int) -> Submission:
    row = repo.submission(session, submission_id)
    if row is not None:
        owner = session.get(Classification, row.classification_id)
        if owner is not None and owner.incident_id == incident.id:
            return row
    raise NotFound(f"submission {submission_id} not found")


# --- reminders (the engine) -------------------------------------------------------------------------------------


def contacts_of(session: Session, regime: Regime) -> list[int]:
    members = team_repo.active_member_ids(session, list(regime.contact_team_ids)) if regime.contact_team_ids else {}
    ids = [*regime.contact_user_ids, *(uid for tid in regime.contact_team_ids for uid in members.get(tid, []))]
    return list(dict.fromkeys(ids))


def _may_hear(session: Session, ref: IncidentRef, user_ids: Sequence[int]) -> list[int]:
    """A private incident's reminders reach only the contacts who see it (ADR 0022): the text names it."""
    if not ref.private:
        return list(user_ids)
    incident = incidents.get(session, ref.id)
    allowed = []
    for uid in user_ids:
        try:
            viewer = access.viewer_of(session, users.get_user(session, uid))
        except NotFound:
            continue
        if incident_visibility.may_see(session, viewer, incident, see_all=False):
            allowed.append(uid)
    return allowed


def _text(s: ClockSet, clock: Clock, point: str) -> str:
    due = f"{clock.due_at:%Y-%m-%d %H:%M} UTC" if clock.due_at else "?"
    head = f"{s.regime.name} — incident #{s.incident.number} ({s.incident.title})"
    if point == regimes.OVERDUE:
        return f"{head}: the {clock.title} is overdue (it was due {due})."
    return f"{head}: the {clock.title} is due {due}."


def remind_due(session: Session, *, now: datetime) -> tuple[int, datetime | None]:
    """Write and send the reminders whose point has come, once each; the number of people reminded and when the
    next point comes. Of several points of one deadline come due together (an incident classified late), only the
    latest is sent: the others are written skipped."""
    sets = running_clocks(session, None, see_all=True, now=now)
    known = repo.reminder_keys(session, [s.classification.id for s in sets])
    sent, ahead = 0, []
    points_of = {r.id: rules_of(r).points for r in {s.regime.id: s.regime for s in sets}.values()}
    for s in sets:
        if not s.regime.enabled or s.incident.drill:
            continue
        points = points_of[s.regime.id]
        for clock in s.clocks:
            if clock.status not in ("running", "overdue") or clock.due_at is None:
                continue
            fresh = []
            for point in points:
                at = clocks.point_time(clock, point)
                if at is None:
                    continue
                if at > now:
                    ahead.append(at)
                elif (s.classification.id, clock.key, point.text, clock.due_at) not in known:
                    fresh.append((at, point.text))
            for i, (at, point_text) in enumerate(sorted(fresh)):
                last = i == len(fresh) - 1
                sent += _remind(session, s, clock, point_text, at, send=last, now=now)
    return sent, min(ahead) if ahead else None


def _remind(session: Session, s: ClockSet, clock: Clock, point: str, at: datetime, *, send: bool, now: datetime) -> int:
    assert clock.due_at is not None
    row = Reminder(
        classification_id=s.classification.id,
        deadline_key=clock.key,
        point=point,
        deadline_at=clock.due_at,
        due_at=at,
        status="sent" if send else "skipped",
        recipients=[],
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another engine wrote it first: it sends it.
        return 0
    if not send:
        return 0
    text = _text(s, clock, point)
    reached = [
        uid
        for uid in _may_hear(session, s.incident, contacts_of(session, s.regime))
        if notices.notify_user(session, user_id=uid, key=f"clock:{row.id}:{uid}", text=text, now=now)
    ]
    row.recipients = reached
    incidents.record(
        session,
        s.incident.id,
        TimelineKind.CLOCK_REMINDER,
        f"{text} Reminded {len(reached)} compliance contact(s).",
        actor=Actor(label="engine", source="engine"),
        now=now,
        regime=s.regime.key,
        deadline=clock.key,
        point=point,
    )
    session.flush()
    return len(reached)


def reminders_of(session: Session, classification_id: int) -> list[Reminder]:
    return repo.reminders_of(session, classification_id)


def summary(sets: Sequence[ClockSet], now: datetime) -> Mapping[str, int]:
    counts = {"running": 0, "overdue": 0, "waiting": 0}
    for s in sets:
        for c in s.clocks:
            if c.status in counts:
                counts[c.status] += 1
    return counts


def draft_of(session: Session, incident: Incident, regime_ref: str, *, now: datetime) -> drafts.Draft:
    """The report draft of the incident under the regime it is classified under (404 when it is not)."""
    regime = get_regime(session, regime_ref)
    for s in clocks_of(session, incident, now=now):
        if s.regime.id == regime.id:
            return drafts.build(session, incident, regime, s.classification, s.clocks)
    raise NotFound(f"incident #{incident.number} is not classified under {regime.key}")
