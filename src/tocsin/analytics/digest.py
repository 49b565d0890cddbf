"""The weekly digest: each responder's week on call, and each team manager's team, in numbers and one chart (a
bar per day, drawn with characters so that it reads in any mail client), queued as notices through the
person's contact method like every other message (notify.notices).

It goes out once per week at the organisation's weekday and hour (UTC); the unique week of ``DigestRun`` keeps
two engines from sending it twice. An engine that was down catches up within a day (CATCH_UP); a week older than
that is skipped rather than reported days late, and a new installation waits for its first digest moment.
A person or team with nothing to report (no hour on call, no page, no incident) gets no digest.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.analytics import health
from tocsin.analytics import repository as repo
from tocsin.analytics.models import DigestRun
from tocsin.analytics.periods import Period
from tocsin.analytics.settings import Settings, current
from tocsin.analytics.windows import zone
from tocsin.notify import notices
from tocsin.teams import repository as team_repo
from tocsin.users import repository as user_repo

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WIDTH = 20
CATCH_UP = timedelta(days=1)


def due_at(s: Settings, now: datetime) -> datetime:
    """The latest digest moment at or before ``now``."""
    today = now.astimezone(UTC).replace(hour=s.digest_hour, minute=0, second=0, microsecond=0)
    moment = today - timedelta(days=(today.weekday() - s.digest_weekday) % 7)
    return moment if moment <= now else moment - timedelta(days=7)


def next_due(session: Session, now: datetime) -> datetime | None:
    s = current(session)
    if not s.digest_enabled:
        return None
    latest = due_at(s, now)
    if now - latest >= CATCH_UP or repo.digest_run(session, latest.date().isoformat()) is not None:
        return latest + timedelta(days=7)
    return latest


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bars(counts: list[tuple[str, int]]) -> str:
    """A bar per label, scaled to the largest, with the number at the end."""
    top = max((n for _, n in counts), default=0) or 1
    return "\n".join(f"{label:>4} {'█' * round(_WIDTH * n / top):<{_WIDTH}} {n}" for label, n in counts)


def person_text(h: health.PersonHealth, days: list[tuple[str, int]], p: Period) -> str:
    i = h.interruptions
    lines = [
        f"Your week on call, {p.since:%Y-%m-%d} to {p.until:%Y-%m-%d}",
        "",
        f"Hours on call: {h.hours_on_call:.1f}",
        f"Pages received: {h.pages}",
        f"Incidents that paged you: {h.total_interruptions} "
        f"(business hours {i['business']}, off hours {i['off']}, sleep hours {i['sleep']})",
        f"Incidents you handled: {h.incidents_handled}",
        f"Nights with a sleep interruption: {len(h.sleep_nights)} (longest streak {h.longest_streak})",
    ]
    lines += [f"Warning: {w}" for w in h.warnings]
    lines += ["", "Interruptions per day (your time zone):", bars(days)]
    return "\n".join(lines)


def team_text(team: str, found: list[health.PersonHealth], p: Period) -> str:
    rows = [(h.name[:24], h.total_interruptions) for h in found]
    fair = health.fairness(found)
    lines = [f"Team {team}: the week on call, {p.since:%Y-%m-%d} to {p.until:%Y-%m-%d}", ""]
    for h in found:
        lines.append(
            f"- {h.name}: {h.hours_on_call:.0f} h on call, {h.pages} pages, {h.total_interruptions} interruptions "
            f"({h.interruptions['sleep']} in sleep hours)" + (f" — {'; '.join(h.warnings)}" if h.warnings else "")
        )
    if fair.get("people"):
        lines += ["", f"Most loaded: {fair['most_loaded']['name']}; least loaded: {fair['least_loaded']['name']}"]
    lines += ["", "Interruptions per person:", "\n".join(f"{n:>4} {name}" for name, n in rows)]
    return "\n".join(lines)


def _per_day(session: Session, user_id: int, tz_name: str, p: Period) -> list[tuple[str, int]]:
    tz = zone(tz_name)
    days: Counter[int] = Counter()
    for page in repo.first_pages(session, [user_id], p.since, p.until):
        days[datetime.fromtimestamp(float(page.at), UTC).astimezone(tz).weekday()] += 1
    return [(_DAYS[d], days[d]) for d in range(7)]


def send(session: Session, *, now: datetime) -> int:
    """Send this week's digest if it is due and not sent yet; the number of messages queued."""
    s = current(session)
    if not s.digest_enabled:
        return 0
    moment = due_at(s, now)
    week = moment.date().isoformat()
    if now - moment >= CATCH_UP or repo.digest_run(session, week) is not None:
        return 0
    p = Period(moment - timedelta(days=7), moment)
    users = user_repo.all_users(session, include_deactivated=False)
    sent = 0
    installed = min((u.created_at for u in user_repo.all_users(session)), default=moment)
    if _aware(installed) > p.since:
        # The installation is younger than the week: its first digest is the first whole week's.
        users = []
    found = {h.user_id: h for h in health.people(session, [u.id for u in users], p, s=s)}
    for u in users:
        h = found.get(u.id)
        if h is None or (h.hours_on_call == 0 and h.pages == 0 and h.incidents_handled == 0):
            continue
        text = person_text(h, _per_day(session, u.id, u.timezone, p), p)
        sent += notices.notify_user(session, user_id=u.id, key=f"digest:{week}:{u.id}", text=text, now=now)
    for team in team_repo.all_teams(session) if users else ():
        members = team_repo.members(session, team.id)
        managers = [user.id for user, role in members if role == "manager"]
        people = [found[user.id] for user, _ in members if user.id in found]
        if not managers or not any(h.hours_on_call or h.pages or h.incidents_handled for h in people):
            continue
        text = team_text(team.name, sorted(people, key=lambda h: -h.total_interruptions), p)
        for manager in managers:
            key = f"digest:{week}:team:{team.id}:{manager}"
            sent += notices.notify_user(session, user_id=manager, key=key, text=text, now=now)
    try:
        with session.begin_nested():
            session.add(DigestRun(week=week, sent_at=now, recipients=sent))
    except IntegrityError:
        # Another engine recorded this week first; the notices' idempotency keys already refused the copies.
        return 0
    return sent
