"""Small builders for test data, going through the real services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.services import service as services
from tocsin.services.models import Integration, Service
from tocsin.users import service as users
from tocsin.users.models import User


def make_service(
    session: Session, now: datetime, *, name: str = "checkout-api", type: str = "pagerduty_v2", **kw: object
) -> tuple[Service, Integration]:
    service = services.create_service(session, name=name, now=now, **kw)  # type: ignore[arg-type]
    integration = services.add_integration(session, service, name=f"{name}-{type}", type=type, now=now)
    return service, integration


def make_user(session: Session, now: datetime, email: str = "alice@example.com", role: str = "admin") -> User:
    return users.create_user(session, email=email, name=email.split("@")[0].title(), role=role, now=now)
