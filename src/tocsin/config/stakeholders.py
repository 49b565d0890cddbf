"""The ``stakeholder_groups`` section of the configuration file (ADR 0028).

As elsewhere in apply, groups are matched by name, created or updated, never deleted, and go through the same
checks as the API (unknown users, services, types or severities are refused with their place in the file)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import TocsinError
from tocsin.stakeholders import service as stakeholders

FIELDS = ("description", "users", "emails", "services", "min_severity", "types", "private_ok")


def _comparable(spec: dict[str, Any]) -> dict[str, Any]:
    return {f: sorted(str(v).lower() for v in spec[f]) if isinstance(spec[f], list) else spec[f] for f in FIELDS}


def apply_stakeholders(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    for i, spec in enumerate(config.stakeholder_groups):
        wanted = stakeholders.GroupSpec(**spec.model_dump())
        try:
            row = stakeholders.find_group(session, spec.name)
            if row is None:
                stakeholders.create_group(session, wanted, now=now)
                changes.append(Change("stakeholder group", spec.name, "create"))
                continue
            before = _comparable(stakeholders.as_spec(session, row))
            differ = tuple(f for f, v in _comparable(spec.model_dump()).items() if before[f] != v)
            if differ:
                stakeholders.update_group(session, row, wanted, now=now)
        except TocsinError as exc:
            raise type(exc)(f"stakeholder_groups[{i}]: {exc.detail}", errors=exc.errors) from None
        changes.append(Change("stakeholder group", spec.name, "update" if differ else "unchanged", differ))
    return changes


def export_stakeholders(session: Session, config: ConfigFile) -> ConfigFile:
    groups = [stakeholders.as_spec(session, g) for g in stakeholders.list_groups(session)]
    data = config.model_dump(mode="json", exclude_none=True)
    data["stakeholder_groups"] = [{k: v for k, v in g.items() if v is not None} for g in groups]
    return ConfigFile.model_validate(data)
