"""The demo organisation: loaded through the same apply as any configuration file, so it is idempotent and
never removes anything already there."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from sqlalchemy.orm import Session

from tocsin.config import document
from tocsin.config.apply import apply_config
from tocsin.config.plan import Plan
from tocsin.services import service as services
from tocsin.services.models import Integration
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

ADMIN_EMAIL = "admin@tocsin.local"


@dataclass(frozen=True, slots=True)
class DemoIntegration:
    service: str
    integration: Integration


@dataclass(frozen=True, slots=True)
class DemoResult:
    plan: Plan
    admin_email: str
    # Only when this run created the admin: it is shown once and stored only as a hash.
    admin_password: str | None
    # PagerDuty Events v2 integrations first, so that the first key is one any PagerDuty sender can use.
    integrations: list[DemoIntegration]


def demo_text() -> str:
    return files("tocsin.config").joinpath("demo.yaml").read_text(encoding="utf-8")


def load_demo(session: Session, *, now: datetime) -> DemoResult:
    config = document.parse(demo_text(), source="demo.yaml")
    plan = apply_config(session, config, now=now)
    password = None
    created = plan.find("user", ADMIN_EMAIL)
    if created is not None and created.action == "create":
        password = secrets.token_urlsafe(12)
        users.get_user(session, ADMIN_EMAIL).password_hash = hash_password(password)
    found = []
    for spec in config.services:
        service = services.get_service(session, spec.name)
        wanted = {i.name for i in spec.integrations or []}
        found += [
            DemoIntegration(service.name, i)
            for i in services.list_integrations(session, service.id)
            if i.name in wanted
        ]
    found.sort(key=lambda d: (d.integration.type != "pagerduty_v2", d.integration.type))
    return DemoResult(plan=plan, admin_email=ADMIN_EMAIL, admin_password=password, integrations=found)
