"""The ``analytics`` section of the configuration file (ADR 0031): interruption windows, load thresholds and the
weekly digest, checked as in the API; a refusal names its place in the file (``analytics: …``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.analytics import settings
from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import TocsinError


def apply_analytics(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    if config.analytics is None:
        return []
    wanted = config.analytics.model_dump(exclude_none=True)
    before = settings.current(session).as_dict()
    try:
        after = settings.update(session, wanted, now=now).as_dict()
    except TocsinError as exc:
        raise type(exc)(f"analytics: {exc.detail}", errors=exc.errors) from None
    differ = tuple(name for name in settings.NAMES if before[name] != after[name])
    return [Change("analytics", "settings", "update" if differ else "unchanged", differ)]


def export_analytics(session: Session, config: ConfigFile) -> ConfigFile:
    """The settings, once an administrator has set them; an installation on the defaults exports no section."""
    if not settings.stored(session):
        return config
    data = config.model_dump(mode="json", exclude_none=True)
    data["analytics"] = settings.current(session).as_dict()
    return ConfigFile.model_validate(data)
