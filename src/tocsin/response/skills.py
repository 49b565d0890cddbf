"""Skills people carry, and "find an expert": who has a skill, whether they are on call now, how loaded they are.

A skill is a lowercase slug (``postgres``, ``networking``, ``forensics``). On call now means on call in any
active schedule at this instant (``oncall.service``); the load is the open incidents a person carries: assigned,
joined as a responder, or holding a role on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput
from tocsin.oncall import service as oncall
from tocsin.response import repository as repo
from tocsin.users import repository as user_repo
from tocsin.users.models import User

SKILL = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")
MAX_SKILLS = 50


def clean_skill(value: str) -> str:
    """The slug, or InvalidInput naming what is wrong with it."""
    name = value.strip()
    if not SKILL.fullmatch(name):
        raise InvalidInput(
            f"skill {value[:60]!r} is not a lowercase slug (a-z, 0-9, '.', '_', '-', at most 50 characters, "
            "starting with a letter or digit)"
        )
    return name


def clean_skills(values: Iterable[str]) -> list[str]:
    found = sorted({clean_skill(v) for v in values})
    if len(found) > MAX_SKILLS:
        raise InvalidInput(f"a person carries at most {MAX_SKILLS} skills")
    return found


def skills_of(session: Session, user_id: int) -> list[str]:
    return repo.skills_of(session, [user_id])[user_id]


def skills_by_user(session: Session, user_ids: Sequence[int]) -> dict[int, list[str]]:
    return repo.skills_of(session, user_ids)


def set_skills(session: Session, user: User, skills: Iterable[str]) -> list[str]:
    """Replace the person's skills; returns them, sorted."""
    cleaned = clean_skills(skills)
    repo.replace_skills(session, user.id, cleaned)
    return cleaned


def everyone_on_call(session: Session, at: datetime) -> set[int]:
    """Who is on call in any active schedule at ``at``."""
    on_call = oncall.users_on_call_many(session, [s.id for s in oncall.list_schedules(session)], at)
    return {int(u) for who in on_call.values() for u in who}


@dataclass(frozen=True, slots=True)
class Expert:
    user_id: int
    name: str
    email: str
    on_call: bool
    load: int


def experts(session: Session, skill: str, *, now: datetime, on_call_first: bool = True) -> list[Expert]:
    """Active people with the skill: on call now first (unless ``on_call_first`` is off), then the least loaded,
    then by name."""
    name = clean_skill(skill)
    ids = repo.holders_of_skill(session, name)
    people = [u for u in (user_repo.get(session, i) for i in ids) if u is not None and u.deactivated_at is None]
    if not people:
        return []
    on_call = everyone_on_call(session, now)
    load = repo.open_load(session, [u.id for u in people])
    found = [Expert(u.id, u.name, u.email, u.id in on_call, load.get(u.id, 0)) for u in people]
    found.sort(key=lambda e: (on_call_first and not e.on_call, e.load, e.name.lower(), e.user_id))
    return found


def known_skills(session: Session) -> list[str]:
    return sorted({r.skill for r in repo.all_skills(session)})
