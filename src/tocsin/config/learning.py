"""The ``postmortem_templates`` and ``postmortem_rules`` sections of the configuration file (ADR 0029).

Templates are matched by name, created or updated, never deleted; the rules, when the file has the section, replace
the stored ones whole (they are an ordered list: the first that matches an incident wins). Both go through the
checks of the API, refused with their place in the file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import TocsinError
from tocsin.learning import service as postmortems
from tocsin.learning import templates


def apply_learning(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    stored = {t["name"]: t for t in templates.list_templates(session) if not t["builtin"]}
    for i, spec in enumerate(config.postmortem_templates):
        sections = [s.model_dump() for s in spec.sections]
        before = stored.get(spec.name)
        if before is not None and before["sections"] == sections and before["description"] == spec.description:
            changes.append(Change("postmortem template", spec.name, "unchanged"))
            continue
        try:
            templates.save_template(session, spec.name, description=spec.description, sections=sections, now=now)
        except TocsinError as exc:
            raise type(exc)(f"postmortem_templates[{i}]: {exc.detail}", errors=exc.errors) from None
        changes.append(Change("postmortem template", spec.name, "create" if before is None else "update"))
    if config.postmortem_rules is not None:
        wanted = [r.model_dump() for r in config.postmortem_rules]
        current = [
            {k: v for k, v in postmortems.rule_as_spec(session, r).items() if k != "id"}
            for r in postmortems.rules(session)
        ]
        if wanted == current:
            changes.append(Change("postmortem rules", "rules", "unchanged"))
        else:
            try:
                postmortems.replace_rules(session, [postmortems.RuleSpec(**r) for r in wanted], now=now)
            except TocsinError as exc:
                raise type(exc)(f"postmortem_rules: {exc.detail}", errors=exc.errors) from None
            changes.append(Change("postmortem rules", "rules", "update"))
    return changes


def export_learning(session: Session, config: ConfigFile) -> ConfigFile:
    data = config.model_dump(mode="json", exclude_none=True)
    data["postmortem_templates"] = [
        {"name": t["name"], "description": t["description"], "sections": t["sections"]}
        for t in templates.list_templates(session)
        if not t["builtin"]
    ]
    rules = postmortems.rules(session)
    if rules:
        data["postmortem_rules"] = [
            {k: v for k, v in postmortems.rule_as_spec(session, r).items() if k != "id" and v is not None}
            for r in rules
        ]
    return ConfigFile.model_validate(data)
