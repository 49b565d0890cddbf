"""The ``regimes`` section of the configuration file (ADR 0032): regulatory regimes matched by key, created or
replaced, never deleted (``enabled: false`` stops them), through the same checks as the API; a refusal names its
place in the file (``regimes[0].deadlines[1].rules[0].after: …``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.compliance import regimes
from tocsin.compliance import service as compliance
from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import TocsinError

FIELDS = (
    "name",
    "description",
    "timezone",
    "holidays",
    "deadlines",
    "reminders",
    "contacts",
    "contact_teams",
    "headings",
    "enabled",
)


def _comparable(spec: dict[str, Any]) -> dict[str, Any]:
    return {f: spec[f] for f in FIELDS}


def apply_regimes(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    for i, spec in enumerate(config.regimes):
        wanted = regimes.RegimeSpec(**spec.model_dump())
        try:
            row = compliance.list_regimes(session)
            found = next((r for r in row if r.key == spec.key.strip().lower()), None)
            before = _comparable(compliance.as_spec(session, found)) if found is not None else None
            saved = compliance.save_regime(session, wanted, now=now)
        except TocsinError as exc:
            raise type(exc)(f"regimes[{i}].{exc.detail}", errors=exc.errors) from None
        if before is None:
            changes.append(Change("regime", saved.key, "create"))
            continue
        after = _comparable(compliance.as_spec(session, saved))
        differ = tuple(f for f in FIELDS if before[f] != after[f])
        changes.append(Change("regime", saved.key, "update" if differ else "unchanged", differ))
    return changes


def export_regimes(session: Session, config: ConfigFile) -> ConfigFile:
    data = config.model_dump(mode="json", exclude_none=True)
    data["regimes"] = [compliance.as_spec(session, r) for r in compliance.list_regimes(session)]
    return ConfigFile.model_validate(data)
