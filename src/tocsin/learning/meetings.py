"""Postmortem review meetings (ADR 0029): scheduling one queues an iCalendar invitation (METHOD:REQUEST) to each
participant, mailed by the engine like stakeholder mail (one row per address, claimed once); afterwards the
attendance and the decisions are recorded on it."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, NotFound, PayloadTooLarge
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.learning import repository as repo
from tocsin.learning.models import MeetingInvite, Postmortem, ReviewMeeting
from tocsin.users import service as users

MAX_PARTICIPANTS: Final = 100
MAX_DECISIONS: Final = 50_000


def _people(session: Session, refs: Sequence[int | str], field: str) -> list[int]:
    found = []
    for ref in refs:
        try:
            found.append(users.get_user(session, ref).id)
        except NotFound:
            raise InvalidInput(f"{field}: unknown user {ref!r}") from None
    return list(dict.fromkeys(found))


def _emails(session: Session, user_ids: Sequence[int]) -> list[str]:
    found = []
    for user_id in user_ids:
        try:
            user = users.get_user(session, user_id)
        except NotFound:
            continue
        if user.deactivated_at is None:
            found.append(user.email)
    return list(dict.fromkeys(found))


def schedule(
    session: Session,
    postmortem: Postmortem,
    *,
    starts_at: datetime,
    minutes: int = 60,
    location: str = "",
    participants: Sequence[int | str] = (),
    actor: Actor,
    now: datetime,
) -> ReviewMeeting:
    """The owner and reviewers are always invited, with the participants named."""
    if not 5 <= minutes <= 600:
        raise InvalidInput("minutes: 5 to 600")
    if len(location) > 2000:
        raise InvalidInput("location: at most 2,000 characters")
    if len(participants) > MAX_PARTICIPANTS:
        raise InvalidInput(f"participants: at most {MAX_PARTICIPANTS}")
    named = _people(session, participants, "participants")
    everyone = list(
        dict.fromkeys(
            [*([postmortem.owner_user_id] if postmortem.owner_user_id else []), *postmortem.reviewer_ids, *named]
        )
    )
    meeting = ReviewMeeting(
        postmortem_id=postmortem.id,
        uid=f"{secrets.token_hex(16)}@tocsin",
        starts_at=starts_at,
        minutes=minutes,
        location=location,
        participant_ids=everyone,
        attended_ids=[],
        decisions="",
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    for address in _emails(session, everyone):
        session.add(MeetingInvite(meeting_id=meeting.id, address=address, status="pending", attempts=0, created_at=now))
    session.flush()
    incidents.record(
        session,
        postmortem.incident_id,
        TimelineKind.POSTMORTEM,
        f"Postmortem review scheduled for {starts_at:%Y-%m-%d %H:%M} UTC",
        actor=actor,
        now=now,
        postmortem_id=postmortem.id,
        meeting_id=meeting.id,
    )
    return meeting


def get(session: Session, postmortem: Postmortem, meeting_id: int) -> ReviewMeeting:
    found = repo.meeting(session, meeting_id)
    if found is None or found.postmortem_id != postmortem.id:
        raise NotFound(f"review meeting {meeting_id} not found")
    return found


def of(session: Session, postmortem: Postmortem) -> list[ReviewMeeting]:
    return repo.meetings(session, postmortem.id)


def record(session: Session, meeting: ReviewMeeting, *, attended: Sequence[int | str], decisions: str) -> ReviewMeeting:
    if len(decisions) > MAX_DECISIONS:
        raise PayloadTooLarge(f"decisions: at most {MAX_DECISIONS:,} characters")
    if len(attended) > MAX_PARTICIPANTS:
        raise InvalidInput(f"attended: at most {MAX_PARTICIPANTS}")
    meeting.attended_ids = _people(session, attended, "attended")
    meeting.decisions = decisions
    session.flush()
    return meeting


def invites(session: Session, meeting: ReviewMeeting) -> list[MeetingInvite]:
    return repo.invites_of(session, meeting.id)


def ics(
    meeting: ReviewMeeting, *, summary: str, description: str, organizer: str, attendees: Sequence[str], stamp: datetime
) -> bytes:
    """The invitation (RFC 5546 REQUEST): the same UID on every copy, so a calendar keeps one event."""
    cal = Calendar()
    cal.add("prodid", "-//Tocsin//Postmortem review//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + timedelta(minutes=meeting.minutes))
    event.add("summary", summary)
    event.add("description", description)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("sequence", 0)
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    for address in attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


# --- mailing (the engine) ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutgoingInvite:
    id: int
    address: str
    subject: str
    body: str
    ics: bytes


def claim_invites(
    session: Session, *, limit: int, organizer: str, base_url: str, now: datetime
) -> list[OutgoingInvite]:
    """Pending invitations, marked as sending (taken once: an interrupted send is not retried)."""
    rows = repo.claim_invites(session, limit)
    found = []
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        meeting = repo.meeting(session, row.meeting_id)
        if meeting is None:
            continue
        postmortem = session.get(Postmortem, meeting.postmortem_id)
        if postmortem is None:
            continue
        incident = incidents.get(session, postmortem.incident_id)
        attendees = _emails(session, meeting.participant_ids)
        summary = f"Postmortem review: incident #{incident.number} {incident.title}"[:500]
        link = f"{base_url}/incidents/{incident.number}/postmortem" if base_url else ""
        body = (
            f"You are invited to the review of the postmortem of incident #{incident.number} "
            f"({incident.title}), {meeting.starts_at:%Y-%m-%d %H:%M} UTC, {meeting.minutes} minutes."
            + (f"\nWhere: {meeting.location}" if meeting.location else "")
            + (f"\nThe postmortem: {link}" if link else "")
        )
        found.append(
            OutgoingInvite(
                id=row.id,
                address=row.address,
                subject=summary,
                body=body,
                ics=ics(
                    meeting, summary=summary, description=body, organizer=organizer, attendees=attendees, stamp=now
                ),
            )
        )
    session.flush()
    return found


def record_invite(session: Session, invite_id: int, *, error: str | None, now: datetime) -> None:
    row = repo.invite(session, invite_id)
    if row is None:
        return
    if error is None:
        row.status, row.sent_at, row.error = "sent", now, None
    else:
        row.status, row.error = "failed", error[:2000]
    session.flush()


def pending_invites(session: Session) -> int:
    return repo.pending_invites(session)
